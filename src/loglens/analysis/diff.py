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

`diff_view` is the one way from a store to the JSON object (`loglens diff --json`, `GET /api/diff`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from loglens.errors import LoglensError, QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.filters import record_filter
from loglens.query.language import CompiledQuery, FieldMatch, and_all, compile_node
from loglens.query.timerange import parse_time_bound, time_clause
from loglens.store.base import LevelCount, RecordCounts, Store, TemplateCount

MIN_RATIO = 2.0
"""A changed template's share moved by at least this factor, up or down."""
MIN_Z = 3.0
"""…and the two-proportion z-test puts the move at least this many standard errors away."""
MIN_RECORDS = 5
"""…and it has at least this many records on its larger side."""
RANGE_SEPARATOR = ".."


class EmptySideError(LoglensError):
    """One side of a diff matched no records, so there is nothing to compare it with."""


class SidesError(QueryError):
    """The options do not name exactly one pair of sides (the CLI's usage error, the API's 400)."""


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


def check_sides(a_range: str | None, b_range: str | None, a_source: str | None, b_source: str | None) -> None:
    """Refuse anything but two ranges or two sources: a range against a source compares builds
    chosen by different rules, and a third option would be silently ignored.

    Raises:
        SidesError: saying which pairs are allowed.
    """
    by_range = a_range is not None and b_range is not None
    by_source = a_source is not None and b_source is not None
    given = sum(v is not None for v in (a_range, b_range, a_source, b_source))
    if by_range == by_source or given != 2:
        raise SidesError(
            "give two time ranges (--a START..END --b START..END) or two sources "
            "(--a-source PATH --b-source PATH), not a mix"
        )


def side(
    name: str, time_range: str | None, source: str | None, now_ns: int, tz: tzinfo | None
) -> tuple[CompiledQuery, dict[str, object], str]:
    """One side (`name` A or B): its filter, how the JSON describes it, and how an error names it
    (by the option that chose it)."""
    option = f"--{name.lower()}"
    if source is not None:
        described: dict[str, object] = {"range": None, "source": source, "since": None, "until": None}
        return source_clause(source), described, f"{name} ({option}-source {source!r})"
    assert time_range is not None  # check_sides: a range or a source per side
    start, end = range_bounds(time_range, now_ns, tz)
    described = {
        "range": time_range,
        "source": None,
        "since": to_iso_ms(start) if start is not None else None,
        "until": to_iso_ms(end) if end is not None else None,
    }
    return range_clause(time_range, now_ns, tz), described, f"{name} ({option} {time_range!r})"


def empty_side_hint(by_source: bool, services: Sequence[str]) -> str:
    """What to check when a side matched nothing, for the way the sides were chosen."""
    if by_source:
        hint = (
            "a source is matched as given to `loglens ingest` (the exact path, or a glob with *); "
            'list them with `loglens sql "SELECT source, count(*) FROM records GROUP BY 1"`'
        )
    else:
        hint = "times without a zone are local; see what a range holds with `loglens logs --since/--until`"
    if services:
        hint = f"check --service {', '.join(services)}; {hint}"
    return hint


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


# -- the view --------------------------------------------------------------------------------------


def delta_json(d: TemplateDelta) -> dict[str, Any]:
    """One template of the new, gone or changed list, as `diff --json` prints it."""
    return {
        "template_id": d.template_id,
        "template": d.template,
        "service": d.service,
        "level": d.level,
        "a": d.a,
        "b": d.b,
        "share_a": round(d.share_a, 6),
        "share_b": round(d.share_b, 6),
        "ratio": None if d.ratio is None else round(d.ratio, 3),
        "z": round(d.z, 2),
    }


def level_json(s: LevelShift) -> dict[str, Any]:
    """One level of the mix, as `diff --json` prints it."""
    return {
        "level": s.level,
        "a": s.a,
        "b": s.b,
        "share_a": round(s.share_a, 6),
        "share_b": round(s.share_b, 6),
        "change_pp": round(s.change_pp, 2),
    }


def diff_view(
    store: Store,
    tz: tzinfo | None,
    *,
    a_range: str | None = None,
    b_range: str | None = None,
    a_source: str | None = None,
    b_source: str | None = None,
    services: Sequence[str] = (),
    top: int = 20,
    now_ns: int,
) -> dict[str, Any]:
    """`GET /api/diff`: the object `loglens diff --json` prints (keys in docs/cli.md), plus `totals`,
    each list's length before `top` cut it (the text output says "top N of M").

    `now_ns` anchors relative ranges (`1h..`): taken once per diff so both sides agree.

    Raises:
        SidesError: unless exactly two ranges or two sources are given.
        EmptySideError: when a side matches no records.
        QueryError: when a range cannot be read.
    """
    check_sides(a_range, b_range, a_source, b_source)
    sides = [side("A", a_range, a_source, now_ns, tz), side("B", b_range, b_source, now_ns, tz)]
    only = record_filter(tz, services=services)
    counts = []
    for clause, _, _ in sides:
        where = and_all([clause, only])
        counts.append(store.counts(where.where, where.params))
    hint = empty_side_hint(a_source is not None, services)
    found = diff(counts[0], counts[1], [label for _, _, label in sides], hint)
    lists = {"new": found.new, "gone": found.gone, "changed": found.changed}
    return {
        "a": {**sides[0][1], "records": found.records_a},
        "b": {**sides[1][1], "records": found.records_b},
        **{key: [delta_json(d) for d in deltas[:top]] for key, deltas in lists.items()},
        "levels": [level_json(s) for s in found.levels],
        "totals": {key: len(deltas) for key, deltas in lists.items()},
    }


def render_diff(found: dict[str, Any]) -> str:
    """`loglens diff` text, from the object `diff_view` makes (so the daemon's answer prints the
    same): the two sides, the three template lists and the level mix."""
    out = [_side_line(name, found[name.lower()]) for name in "AB"]
    titles = {"new": "New in B", "gone": "Gone from A", "changed": "Changed"}
    for key, title in titles.items():
        deltas, total = found[key], found["totals"][key]
        shown = f", top {len(deltas)}" if len(deltas) < total else ""
        out += ["", f"{title} ({total}{shown})"]
        if not deltas:
            continue
        change = f"{'B/A':>7} {'z':>6}  " if key == "changed" else ""
        out.append(f"{'A':>9} {'B':>9}  {change}{'level':<8} {'service':<12} template")
        out += [_delta_line(d, key == "changed") for d in deltas]
    out += ["", "Level mix", f"{'A':>9} {'B':>9}  {'level':<8} {'share A':>8} {'share B':>8} {'change':>9}"]
    out += [
        f"{s['a']:>9,} {s['b']:>9,}  {s['level']:<8} {s['share_a'] * 100:7.1f}% {s['share_b'] * 100:7.1f}% "
        f"{s['change_pp']:+6.1f} pp"
        for s in found["levels"]
    ]
    return "\n".join(out) + "\n"


def _side_line(name: str, side: dict[str, Any]) -> str:
    if side["source"] is not None:
        what = f"source {side['source']}"
    else:
        what = f"{side['since'] or '(open)'} .. {side['until'] or '(open)'}"
    return f"{name}: {what}  ({side['records']:,} records)"


def _delta_line(d: dict[str, Any], changed: bool) -> str:
    ratio = f"x{d['ratio']:.2f}" if changed and d["ratio"] is not None else ""
    change = f"{ratio:>7} {d['z']:>+6.1f}  " if ratio else ""
    return f"{d['a']:>9,} {d['b']:>9,}  {change}{d['level']:<8} {d['service'][:12]:<12} {d['template']}"
