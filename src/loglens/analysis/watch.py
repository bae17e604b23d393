"""The watcher: per-service detectors and the correlator behind one object, live or over stored data.

Live, records go in (`Watcher.add`) and closed minutes come out as anomalies and incidents. Over a
store, `replay` folds the stored records per minute in SQL and feeds the very same `Watcher` minute
by minute, so `loglens anomalies` and `loglens incidents` show what a live loglens would have said,
including when it would have said it (`detected_at`).

Anomalies reach the correlator in the order a live loglens knows them: a minute's own anomalies are
held until every anomaly that could be known earlier (a new template of the next minute is known
as its line arrives, before this minute closes) has gone first.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from loglens.analysis.baseline import MAX_QUIET_MINUTES, MINUTE_NS
from loglens.analysis.buckets import BucketBuilder, MinuteBucket, buckets_from_rows, by_minute
from loglens.analysis.detectors import Anomaly, DetectorSettings, ServiceWatch
from loglens.analysis.incidents import CorrelationSettings, Correlator, Incident
from loglens.errors import LoglensError
from loglens.record import Record


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """Detector and correlation settings together (`[analysis]` in loglens.toml)."""

    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    correlation: CorrelationSettings = field(default_factory=CorrelationSettings)
    watched_fields: tuple[str, ...] | None = None


ANALYSIS_KEYS = ("lateness", "warmup_minutes", "history_minutes", "watched_fields")


def parse_analysis(table: dict[str, object], where: str) -> WatchSettings:
    """`[analysis]` of loglens.toml → settings: `lateness` (a duration, default 30s),
    `warmup_minutes` (default 10), `history_minutes` (default 120) and `watched_fields` (numeric fields
    whose p95 drift is watched; default: names that say they are times, see `WATCHED_FIELD`)."""
    from loglens.errors import ConfigError
    from loglens.query.timerange import parse_duration

    unknown = sorted(set(table) - set(ANALYSIS_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: [analysis] has unknown keys {unknown}; known: {', '.join(ANALYSIS_KEYS)}"
        )
    defaults = DetectorSettings()
    try:
        lateness_ns = parse_duration(str(table["lateness"])) if "lateness" in table else defaults.lateness_ns
    except LoglensError as exc:
        raise ConfigError(f"{where}: [analysis] lateness: {exc}") from None
    numbers = {}
    for key in ("warmup_minutes", "history_minutes"):
        value = table.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}: [analysis] {key} must be a whole number of minutes ≥ 1")
        numbers[key] = value
    fields = table.get("watched_fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise ConfigError(f"{where}: [analysis] watched_fields must be a list of field names")
    return WatchSettings(
        detectors=DetectorSettings(lateness_ns=lateness_ns, **numbers),
        watched_fields=tuple(fields) if fields is not None else None,
    )


class Watcher:
    """Every service's `ServiceWatch` and one `Correlator`, fed closed minutes in time order."""

    def __init__(self, settings: WatchSettings | None = None) -> None:
        self.settings = settings or WatchSettings()
        self.services: dict[str, ServiceWatch] = {}
        self.correlator = Correlator(self.settings.correlation)
        self.anomalies: list[Anomaly] = []
        self._held: list[tuple[int, int, Anomaly]] = []
        self._seq = 0
        self._builder = BucketBuilder(self.settings.detectors.lateness_ns, self.settings.watched_fields)
        self._last_minute: int | None = None

    def observe_minute(self, minute_ns: int, buckets: Sequence[MinuteBucket]) -> list[Anomaly]:
        """Scores one closed minute of every service (empty buckets for silent ones)."""
        closed_ns = minute_ns + MINUTE_NS + self.settings.detectors.lateness_ns
        found: list[Anomaly] = []
        for bucket in buckets:
            watch = self.services.get(bucket.service)
            if watch is None:
                watch = self.services[bucket.service] = ServiceWatch(bucket.service, self.settings.detectors)
            found.extend(watch.observe(bucket, closed_ns))
        for anomaly in found:
            self._seq += 1
            heapq.heappush(self._held, (anomaly.detected_ns, self._seq, anomaly))
        self._release(minute_ns + MINUTE_NS)
        self._last_minute = minute_ns
        return found

    def _release(self, before_ns: int | None) -> None:
        """Passes held anomalies known before `before_ns` (all with None) to the correlator."""
        while self._held and (before_ns is None or self._held[0][0] < before_ns):
            _, _, anomaly = heapq.heappop(self._held)
            self.anomalies.append(anomaly)
            self.correlator.add(anomaly)
        if before_ns is not None:
            self.correlator.advance(before_ns)

    def add(self, records: Iterable[Record]) -> list[Anomaly]:
        """Live: folds records in and scores the minutes the watermark has closed."""
        self._builder.add(records)
        return self.feed(self._builder.close())

    def feed(self, buckets: Iterable[MinuteBucket]) -> list[Anomaly]:
        """Scores buckets (oldest minute first), each minute with an empty bucket for every known
        service that logged nothing in it, and the quiet minutes between (up to an hour) too."""
        found: list[Anomaly] = []
        for minute, group in by_minute(buckets):
            last = self._last_minute
            if last is not None and minute - last <= MAX_QUIET_MINUTES * MINUTE_NS:
                for quiet in range(last + MINUTE_NS, minute, MINUTE_NS):
                    found.extend(self.observe_minute(quiet, self._with_silent(quiet, [])))
            found.extend(self.observe_minute(minute, self._with_silent(minute, group)))
        return found

    def _with_silent(self, minute: int, group: list[MinuteBucket]) -> list[MinuteBucket]:
        present = {b.service for b in group}
        return group + [MinuteBucket(s, minute) for s in sorted(self.services) if s not in present]

    def finish(self) -> list[Incident]:
        """Flushes open minutes and held anomalies; every incident, oldest first."""
        self.feed(self._builder.close(flush=True))
        self._release(None)
        return self.correlator.finish()


class MinuteStatsStore(Protocol):
    """What `replay` needs of a store."""

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]: ...


def replay(
    store: MinuteStatsStore,
    where: str = "TRUE",
    params: Sequence[object] = (),
    settings: WatchSettings | None = None,
) -> Watcher:
    """Runs the detectors over the stored records matching `where`, oldest minute first; returns the
    finished `Watcher` (its `anomalies` and `correlator.finish()` incidents)."""
    watcher = Watcher(settings)
    template_rows, field_rows = store.minute_stats(where, params, watcher.settings.watched_fields)
    watcher.feed(buckets_from_rows(template_rows, field_rows))  # type: ignore[arg-type]
    watcher.finish()
    return watcher


LOOKBACK_NS = 2 * 60 * MINUTE_NS
"""History replayed before `--since`, so the detectors are warmed up when the asked range begins."""


def replay_range(
    store: MinuteStatsStore, since_ns: int | None, until_ns: int | None, settings: WatchSettings | None = None
) -> tuple[list[Anomaly], list[Incident]]:
    """Anomalies and incidents that begin in [since, until): the detectors run from `LOOKBACK_NS`
    before `since`, so a range starting mid-stream is judged against its own past."""
    parts, params = [], []
    if since_ns is not None:
        parts.append("ts >= make_timestamp_ns(?)")
        params.append(since_ns - LOOKBACK_NS)
    if until_ns is not None:
        parts.append("ts < make_timestamp_ns(?)")
        params.append(until_ns)
    watcher = replay(store, " AND ".join(parts) or "TRUE", params, settings)
    lo = since_ns if since_ns is not None else -(2**63)
    hi = until_ns if until_ns is not None else 2**63
    anomalies = [a for a in watcher.anomalies if lo <= a.start_ns < hi]
    incidents = [i for i in watcher.correlator.finish() if lo <= i.start_ns < hi]
    return anomalies, incidents
