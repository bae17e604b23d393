"""Diff: what changed between two sets of records ("build A" and "build B"), by template and by level.

A side is a time range (`START..END`) or an ingested source; the store counts each side's records per
template and per level (`Store.counts`) and the pure functions here compare the two counts.

Templates are compared by their **share** of their side's records that have a template (not by rate
per second: a side chosen by source, or a range open at one end, has no span to divide by, and a
share also cancels a difference in total traffic between the builds). A template is

- **new in B** when it has records in B and none in A, and **gone from A** when the reverse holds
  (both listed most records first);
- **changed** when it has records on both sides and all three of these hold: its share moved by a
  factor of at least 2 (B/A ≥ 2 or ≤ 0.5); a two-proportion z-test (pooled) gives |z| ≥ 3; and it
  has at least 5 records on its larger side (listed by |z|, largest first).

The level mix is each level's share of all the side's records in A and in B, and the change in
percentage points (B − A), most severe level first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from loglens.errors import LoglensError, QueryError
from loglens.query.language import CompiledQuery, FieldMatch, compile_node
from loglens.query.timerange import parse_time_bound, time_clause
from loglens.store.base import LevelCount, RecordCounts, TemplateCount

MIN_RATIO = 2.0
"""A changed template's share moved by at least this factor, up or down."""
MIN_Z = 3.0
"""…and the two-proportion z-test puts the move at least this many standard errors away."""
MIN_RECORDS = 5
"""…and it has at least this many records on its larger side."""
RANGE_SEPARATOR = ".."


class EmptySideError(LoglensError):
    """One side of a diff matched no records, so there is nothing to compare it with."""


# -- sides -----------------------------------------------------------------------------------------


def split_range(text: str) -> tuple[str | None, str | None]:
    """`START..END` as its two bounds, None where a side is left open (`1h..`, `..30m`).

    Raises:
        QueryError: when `..` is missing.
    """
    start, separator, end = text.partition(RANGE_SEPARATOR)
    if not separator:
        raise QueryError(
            f"cannot read the range {text!r}: write START..END, such as "
            "'2026-11-21T00:00:00Z..2026-11-21T01:00:00Z', '1h..' (the last hour) or '..30m' "
            "(until 30 minutes ago)"
        )
    return start.strip() or None, end.strip() or None


def range_bounds(text: str, now_ns: int, tz: tzinfo | None = None) -> tuple[int | None, int | None]:
    """A `START..END` range as ns since the epoch (None where open); the end is exclusive.

    Raises:
        QueryError: when a bound is unreadable or the range ends before it starts.
    """
    since, until = split_range(text)
    start = parse_time_bound(since, now_ns, tz) if since else None
    end = parse_time_bound(until, now_ns, tz) if until else None
    if start is not None and end is not None and start >= end:
        raise QueryError(f"the range {text!r} is empty: it must start before it ends")
    return start, end


def range_clause(text: str, now_ns: int, tz: tzinfo | None = None) -> CompiledQuery:
    """SQL bounding `ts` by a `START..END` range, with the same bounds as `--since`/`--until`."""
    range_bounds(text, now_ns, tz)  # refuse an inverted range before it silently matches nothing
    since, until = split_range(text)
    return time_clause(since, until, now_ns, tz)


def source_clause(pattern: str) -> CompiledQuery:
    """SQL matching the records' `source` (the path as given to `ingest`): the exact text, or, when it
    holds `*`, a glob over the whole path in which `*` stands for any run of characters."""
    if not pattern:
        raise QueryError("expected a source: the path as given to `loglens ingest`, or a glob with *")
    return compile_node(FieldMatch("source", pattern, wildcard="*" in pattern))


# -- comparison ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateDelta:
    """One template on both sides: counts, shares of the side's templated records, B/A share ratio
    (None when a side has none) and the two-proportion z score (positive when B's share is larger)."""

    template_id: str
    service: str
    template: str
    level: str
    a: int
    b: int
    share_a: float
    share_b: float
    ratio: float | None
    z: float


@dataclass(frozen=True, slots=True)
class LevelShift:
    """One level's count and share of all records in A and B."""

    level: str
    severity: int
    a: int
    b: int
    share_a: float
    share_b: float

    @property
    def change_pp(self) -> float:
        """The change of share from A to B in percentage points."""
        return (self.share_b - self.share_a) * 100


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed from A to B, each list in the order the module docstring states."""

    records_a: int
    records_b: int
    new: list[TemplateDelta]
    gone: list[TemplateDelta]
    changed: list[TemplateDelta]
    levels: list[LevelShift]


def share(count: int, total: int) -> float:
    """`count` as a fraction of `total` (0 for an empty total)."""
    return count / total if total else 0.0


def two_proportion_z(a: int, total_a: int, b: int, total_b: int) -> float:
    """The pooled two-proportion z score of b/total_b against a/total_a (0 when undefined)."""
    if not total_a or not total_b:
        return 0.0
    pooled = (a + b) / (total_a + total_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / total_a + 1 / total_b))
    return (b / total_b - a / total_a) / error if error else 0.0


def is_changed(a: int, total_a: int, b: int, total_b: int) -> bool:
    """Whether a template seen on both sides changed in frequency, by the module's rule."""
    if not a or not b or max(a, b) < MIN_RECORDS:
        return False
    ratio = share(b, total_b) / share(a, total_a)
    if 1 / MIN_RATIO < ratio < MIN_RATIO:
        return False
    return abs(two_proportion_z(a, total_a, b, total_b)) >= MIN_Z


def compare_templates(
    a: Iterable[TemplateCount], b: Iterable[TemplateCount]
) -> tuple[list[TemplateDelta], list[TemplateDelta], list[TemplateDelta]]:
    """New in B, gone from A and changed templates, keyed by (service, template id)."""
    in_a = {(t.service, t.template_id): t for t in a}
    in_b = {(t.service, t.template_id): t for t in b}
    total_a = sum(t.count for t in in_a.values())
    total_b = sum(t.count for t in in_b.values())
    new: list[TemplateDelta] = []
    gone: list[TemplateDelta] = []
    changed: list[TemplateDelta] = []
    for key in in_a.keys() | in_b.keys():
        ta, tb = in_a.get(key), in_b.get(key)
        count_a, count_b = (ta.count if ta else 0), (tb.count if tb else 0)
        shown = tb or ta
        assert shown is not None  # the key came from one of the two sides
        share_a, share_b = share(count_a, total_a), share(count_b, total_b)
        delta = TemplateDelta(
            template_id=shown.template_id,
            service=shown.service,
            template=shown.template,
            level=shown.level,
            a=count_a,
            b=count_b,
            share_a=share_a,
            share_b=share_b,
            ratio=share_b / share_a if share_a and share_b else None,
            z=two_proportion_z(count_a, total_a, count_b, total_b),
        )
        if not count_a:
            new.append(delta)
        elif not count_b:
            gone.append(delta)
        elif is_changed(count_a, total_a, count_b, total_b):
            changed.append(delta)
    new.sort(key=lambda d: (-d.b, d.service, d.template_id))
    gone.sort(key=lambda d: (-d.a, d.service, d.template_id))
    changed.sort(key=lambda d: (-abs(d.z), d.service, d.template_id))
    return new, gone, changed


def _per_level(counts: Iterable[LevelCount]) -> dict[str, tuple[int, int]]:
    """Level → (severity, count), all services added up."""
    levels: dict[str, tuple[int, int]] = {}
    for c in counts:
        severity, count = levels.get(c.level, (c.severity, 0))
        levels[c.level] = (max(severity, c.severity), count + c.count)
    return levels


def level_mix(a: Iterable[LevelCount], b: Iterable[LevelCount]) -> list[LevelShift]:
    """Each level's share of all records (every service) in A and in B, most severe first."""
    in_a, in_b = _per_level(a), _per_level(b)
    total_a = sum(count for _, count in in_a.values())
    total_b = sum(count for _, count in in_b.values())
    shifts = []
    for level in in_a.keys() | in_b.keys():
        severity_a, count_a = in_a.get(level, (0, 0))
        severity_b, count_b = in_b.get(level, (0, 0))
        shifts.append(
            LevelShift(
                level,
                max(severity_a, severity_b),
                count_a,
                count_b,
                share(count_a, total_a),
                share(count_b, total_b),
            )
        )
    return sorted(shifts, key=lambda s: (-s.severity, s.level))


def diff(a: RecordCounts, b: RecordCounts, labels: Sequence[str] = ("A", "B"), hint: str = "") -> Diff:
    """Compare the records of A with those of B.

    Args:
        a, b: the two sides' counts, from `Store.counts`.
        labels: how the error names each side (say which option chose it).
        hint: what the user can do when a side is empty, added to the error.

    Raises:
        EmptySideError: when a side has no records: every template of the other would be new or gone.
    """
    for counts, label in zip((a, b), labels, strict=True):
        if not counts.total:
            raise EmptySideError(f"{label} matched no records{': ' + hint if hint else ''}")
    new, gone, changed = compare_templates(a.templates, b.templates)
    return Diff(a.total, b.total, new, gone, changed, level_mix(a.levels, b.levels))
