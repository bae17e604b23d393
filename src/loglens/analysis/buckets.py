"""Per-service minute buckets: what the detectors read, built the same way live or from the store.

A bucket holds one service's records of one minute, folded to counts: in all, at warning, at error
and worse, per template (with the first occurrence of each, for evidence and for detection times),
and the 95th percentile of each watched numeric field (latencies, durations). Live, `BucketBuilder`
folds records as they arrive and closes a minute once the watermark (newest stamp seen minus the
allowed lateness) has passed it; replaying stored data, the store folds the same figures in SQL
(`Store.minute_stats`) and `buckets_from_rows` assembles them. The detectors cannot tell the two apart.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from loglens.analysis.baseline import DEFAULT_LATENESS_NS, MINUTE_NS
from loglens.record import Level, Record

MAX_FIELD_NAMES = 10_000
"""Field names whose watched-or-not decision is remembered (bounded: names can be data)."""
WATCHED_FIELD = re.compile(
    r"(?i)(latency|duration|elapsed|response_?time|request_?time|took|_ms$|_seconds$|_secs$)"
)
"""Numeric fields whose drift is watched when no list is configured: names that say they are times."""

MAX_FIELD_SAMPLES = 4096
"""Values kept per field, service and minute live: beyond that a uniform reservoir sample, so a flood
cannot grow memory (the p95 of 4,096 uniform samples is within about ±0.7 percentile points)."""

MIN_FIELD_VALUES = 30
"""A minute's p95 of a field is only reported from this many values (below that the p95 is one of the
top two values: a noisy figure)."""


@dataclass(slots=True)
class TemplateMinute:
    """One template's records in a bucket: how many, the most severe level, and the first of them."""

    count: int
    severity: int
    first_ts: int
    first_id: int | None = None


@dataclass(slots=True)
class MinuteBucket:
    """One service's records in the minute starting at `start_ns`, folded to what detectors read."""

    service: str
    start_ns: int
    total: int = 0
    errors: int = 0
    templates: dict[str, TemplateMinute] = field(default_factory=dict)
    fields: dict[str, float] = field(default_factory=dict)
    """95th percentile per watched numeric field (only fields seen in at least `MIN_FIELD_VALUES`)."""

    def add_template(
        self, template_id: str, count: int, severity: int, first_ts: int, first_id: int | None
    ) -> None:
        """Folds `count` records of one template (and level) into the bucket."""
        self.total += count
        if severity >= Level.ERROR:
            self.errors += count
        seen = self.templates.get(template_id)
        if seen is None:
            self.templates[template_id] = TemplateMinute(count, severity, first_ts, first_id)
            return
        seen.count += count
        seen.severity = max(seen.severity, severity)
        if first_ts < seen.first_ts:
            seen.first_ts, seen.first_id = first_ts, first_id


def minute_of(ts_ns: int) -> int:
    """The start of the minute holding `ts_ns`."""
    return ts_ns - ts_ns % MINUTE_NS


def p95(values: list[float]) -> float:
    """The 95th percentile with linear interpolation (as DuckDB's quantile_cont computes it)."""
    ordered = sorted(values)
    pos = 0.95 * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def numeric(value: object) -> float | None:
    """A field value as a number when it is one (numbers, and strings holding one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def buckets_from_rows(
    template_rows: Iterable[tuple[str, int, str, int, int, int, int | None]],
    field_rows: Iterable[tuple[str, int, str, float, int]] = (),
) -> list[MinuteBucket]:
    """Buckets from the store's folded rows, oldest minute first (see `Store.minute_stats`).

    Args:
        template_rows: (service, minute_ns, template_id, severity, count, first_ts_ns, first_id).
        field_rows: (service, minute_ns, field, p95, values).
    """
    buckets: dict[tuple[int, str], MinuteBucket] = {}
    for service, minute, template_id, severity, count, first_ts, first_id in template_rows:
        key = (minute, service)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = MinuteBucket(service, minute)
        bucket.add_template(template_id, count, severity, first_ts, first_id)
    for service, minute, name, value, _ in field_rows:
        bucket = buckets.get((minute, service))
        if bucket is not None:
            bucket.fields[name] = value
    return [buckets[key] for key in sorted(buckets)]


class FieldSample:
    """A field's values in one minute: all of them up to `MAX_FIELD_SAMPLES`, then a uniform
    reservoir sample of that size (Vitter's algorithm R, seeded, so a replay is repeatable)."""

    __slots__ = ("_random", "seen", "values")

    def __init__(self) -> None:
        self.values: list[float] = []
        self.seen = 0
        self._random: random.Random | None = None

    def add(self, value: float) -> None:
        """Offers one value to the sample."""
        self.seen += 1
        if len(self.values) < MAX_FIELD_SAMPLES:
            self.values.append(value)
            return
        if self._random is None:
            self._random = random.Random(MAX_FIELD_SAMPLES)
        slot = self._random.randrange(self.seen)
        if slot < MAX_FIELD_SAMPLES:
            self.values[slot] = value


class BucketBuilder:
    """Folds records into per-service minute buckets as they arrive, closing minutes on a watermark.

    The watermark is the newest stamp seen over all services minus `lateness_ns`: a record up to that
    late still lands in its own minute; a later one is counted in `late` and dropped from the
    figures (its minute was already reported). Open minutes are bounded by lateness / 1 minute + 2
    per service.

    Args:
        watched_fields: numeric fields whose p95 is kept; None watches names `WATCHED_FIELD` matches.
    """

    def __init__(
        self, lateness_ns: int = DEFAULT_LATENESS_NS, watched_fields: tuple[str, ...] | None = None
    ) -> None:
        self._lateness = lateness_ns
        self._watched = watched_fields
        self._open: dict[tuple[int, str], MinuteBucket] = {}
        self._values: dict[tuple[int, str, str], FieldSample] = {}
        self._newest: int | None = None
        self._watched_names: dict[str, bool] = {}
        self._closed_before: int | None = None
        self.late = 0

    def add(self, records: Iterable[Record]) -> None:
        """Folds records (any order within the lateness) into their minutes."""
        for record in records:
            minute = minute_of(record.ts)
            if self._closed_before is not None and minute < self._closed_before:
                self.late += 1
                continue
            key = (minute, record.service)
            bucket = self._open.get(key)
            if bucket is None:
                bucket = self._open[key] = MinuteBucket(record.service, minute)
            bucket.add_template(record.template_id or "", 1, int(record.level), record.ts, record.id)
            if record.fields:
                self._keep_fields(minute, record)
            if self._newest is None or record.ts > self._newest:
                self._newest = record.ts

    def _is_watched(self, name: str) -> bool:
        """Whether a field's values are sampled: named in `watched_fields`, else a name that says it
        is a time. Decided once per name (the regex cost more than the rest of a record's fold)."""
        known = self._watched_names.get(name)
        if known is None:
            known = name in self._watched if self._watched is not None else bool(WATCHED_FIELD.search(name))
            if len(self._watched_names) < MAX_FIELD_NAMES:
                self._watched_names[name] = known
        return known

    def _keep_fields(self, minute: int, record: Record) -> None:
        assert record.fields is not None
        for name, value in record.fields.items():
            if not self._is_watched(name):
                continue
            number = numeric(value)
            if number is not None:
                key = (minute, record.service, name)
                sample = self._values.get(key)
                if sample is None:
                    sample = self._values[key] = FieldSample()
                sample.add(number)

    @property
    def newest_ns(self) -> int | None:
        """The watermark's base: the newest stamp seen (or the clock time it was advanced to)."""
        return self._newest

    def advance(self, now_ns: int) -> None:
        """Moves the watermark on to `now_ns` when no newer record has (a live source gone quiet:
        its minutes close on the clock instead of waiting for its next record)."""
        if self._newest is not None and now_ns > self._newest:
            self._newest = now_ns

    def close(self, flush: bool = False) -> list[MinuteBucket]:
        """The buckets of the minutes the watermark has passed (all of them with `flush`), oldest
        first, each once; only minutes a service logged in (`Watcher.feed` fills the silences)."""
        if self._newest is None:
            return []
        until = minute_of(self._newest) + MINUTE_NS if flush else minute_of(self._newest - self._lateness)
        closed = [self._finish(key) for key in sorted(k for k in self._open if k[0] < until)]
        self._closed_before = max(until, self._closed_before or until)
        return closed

    def _finish(self, key: tuple[int, str]) -> MinuteBucket:
        minute, service = key
        bucket = self._open.pop(key)
        for field_key in [k for k in self._values if k[0] == minute and k[1] == service]:
            sample = self._values.pop(field_key)
            if sample.seen >= MIN_FIELD_VALUES:
                bucket.fields[field_key[2]] = p95(sample.values)
        return bucket


def by_minute(buckets: Iterable[MinuteBucket]) -> Iterator[tuple[int, list[MinuteBucket]]]:
    """Buckets (oldest minute first) regrouped per minute, each group sorted by service."""
    minute: int | None = None
    group: list[MinuteBucket] = []
    for bucket in buckets:
        if minute is not None and bucket.start_ns != minute:
            yield minute, sorted(group, key=lambda b: b.service)
            group = []
        minute = bucket.start_ns
        group.append(bucket)
    if minute is not None:
        yield minute, sorted(group, key=lambda b: b.service)
