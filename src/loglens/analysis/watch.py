"""The watcher: per-service detectors and the correlator behind one object, live or over stored data.

Live, records go in (`Watcher.add`) and closed minutes come out as anomalies and incidents. Over a
store, `replay` folds the stored records per minute in SQL and feeds the very same `Watcher` minute
by minute, so `loglens anomalies` and `loglens incidents` show what a live loglens would have said,
including when it would have said it (`detected_at`: the minute's close).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from loglens.analysis.baseline import MAX_QUIET_MINUTES, MINUTE_NS
from loglens.analysis.buckets import BucketBuilder, MinuteBucket, buckets_from_rows, by_minute
from loglens.analysis.detectors import Anomaly, DetectorSettings, ServiceWatch
from loglens.analysis.incidents import CorrelationSettings, Correlator, Incident
from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import parse_duration
from loglens.record import Record


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """Detector and correlation settings together (`[analysis]` in loglens.toml)."""

    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    correlation: CorrelationSettings = field(default_factory=CorrelationSettings)
    watched_fields: tuple[str, ...] | None = None
    max_services: int = 2_000


ANALYSIS_KEYS = ("lateness", "warmup_minutes", "history_minutes", "watched_fields", "multivariate")


def parse_analysis(table: dict[str, object], where: str) -> WatchSettings:
    """`[analysis]` of loglens.toml → settings: `lateness` (a duration, default 30s),
    `warmup_minutes` (default 10), `history_minutes` (default 120) and `watched_fields` (numeric fields
    whose p95 drift is watched; default: names that say they are times, see `WATCHED_FIELD`) and
    `multivariate` (the optional template-mix detector, `analysis.multivariate`; default false)."""
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
    multivariate = table.get("multivariate", False)
    if not isinstance(multivariate, bool):
        raise ConfigError(f"{where}: [analysis] multivariate must be true or false")
    return WatchSettings(
        detectors=DetectorSettings(lateness_ns=lateness_ns, multivariate=multivariate, **numbers),
        watched_fields=tuple(fields) if fields is not None else None,
    )


class Watcher:
    """Every service's `ServiceWatch` and one `Correlator`, fed closed minutes in time order.

    It keeps no history of its own output: each call returns the anomalies it found, and
    `take_incidents` hands over the incidents closed since the last call, so a long-running daemon
    stays bounded (`max_services` services are watched; records of further ones are not scored).
    """

    def __init__(self, settings: WatchSettings | None = None) -> None:
        self.settings = settings or WatchSettings()
        self.services: dict[str, ServiceWatch] = {}
        self.correlator = Correlator(self.settings.correlation)
        self._closed: list[Incident] = []
        self._builder = BucketBuilder(self.settings.detectors.lateness_ns, self.settings.watched_fields)
        self._last_minute: int | None = None

    def know(self, templates: Iterable[tuple[str, str]]) -> None:
        """Marks (service, template id) pairs as seen before the watch began: they are not new."""
        for service, template_id in templates:
            watch = self._watch_of(service)
            if watch is not None:
                watch.know(template_id)

    def _watch_of(self, service: str) -> ServiceWatch | None:
        """The service's watch, made on first sight; None past `max_services`."""
        watch = self.services.get(service)
        if watch is None and len(self.services) < self.settings.max_services:
            watch = self.services[service] = ServiceWatch(service, self.settings.detectors)
        return watch

    def add(self, records: Iterable[Record]) -> list[Anomaly]:
        """Live: folds records in and scores the minutes the watermark has closed."""
        self._builder.add(records)
        return self.feed(self._builder.close())

    def advance(self, now_ns: int) -> list[Anomaly]:
        """Live: closes the minutes the clock has passed though no record came to close them."""
        self._builder.advance(now_ns)
        return self.feed(self._builder.close())

    @property
    def newest_ns(self) -> int | None:
        """The newest record stamp (or clock time) the watcher has seen."""
        return self._builder.newest_ns

    def flush(self) -> list[Anomaly]:
        """Scores the minutes still open (at the end of an input)."""
        return self.feed(self._builder.close(flush=True))

    def feed(self, buckets: Iterable[MinuteBucket]) -> list[Anomaly]:
        """Scores buckets (oldest minute first), each minute with an empty bucket for every known
        service that logged nothing in it, and the quiet minutes between (a gap of more than
        `MAX_QUIET_MINUTES` with no records at all — a stopped source, a clock jump — is skipped; after
        one longer than the history, every service starts over: see `ServiceWatch.restart`)."""
        found: list[Anomaly] = []
        history_ns = self.settings.detectors.history_minutes * MINUTE_NS
        for minute, group in by_minute(buckets):
            last = self._last_minute
            if last is not None and minute - last <= MAX_QUIET_MINUTES * MINUTE_NS:
                for quiet in range(last + MINUTE_NS, minute, MINUTE_NS):
                    found.extend(self._observe(quiet, []))
            elif last is not None and minute - last > history_ns:
                for watch in self.services.values():
                    watch.restart()
            found.extend(self._observe(minute, group))
        return found

    def _observe(self, minute_ns: int, group: list[MinuteBucket]) -> list[Anomaly]:
        """Scores one closed minute of every known service and passes what it found, in order, to
        the correlator; the watermark then closes the incidents that have gone quiet."""
        closed_ns = minute_ns + MINUTE_NS + self.settings.detectors.lateness_ns
        present = {bucket.service for bucket in group}
        silent = [MinuteBucket(service, minute_ns) for service in self.services if service not in present]
        found: list[Anomaly] = []
        for bucket in group + silent:
            watch = self._watch_of(bucket.service)
            if watch is not None:
                found.extend(watch.observe(bucket, closed_ns))
        found.sort(key=lambda a: (a.start_ns, a.service, a.kind))
        self._closed.extend(self.correlator.advance(closed_ns))
        for anomaly in found:
            self.correlator.add(anomaly)
        self._last_minute = minute_ns
        return found

    def take_incidents(self, everything: bool = False) -> list[Incident]:
        """The incidents closed since the last call (with `everything`, the open ones too), oldest
        first."""
        taken = self._closed + (self.correlator.open if everything else [])
        self._closed = []
        if everything:
            self.correlator.open = []
        return sorted(taken, key=lambda i: i.start_ns)


class MinuteStatsStore(Protocol):
    """What `replay` needs of a store."""

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]: ...

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class Replay:
    """What the detectors found over stored records: every anomaly and every incident, in order."""

    anomalies: list[Anomaly]
    incidents: list[Incident]


LOOKBACK_NS = 2 * 60 * MINUTE_NS
"""History replayed before `--since`, so the detectors are warmed up when the asked range begins."""


def watch_stored(
    store: MinuteStatsStore,
    since_ns: int | None = None,
    until_ns: int | None = None,
    settings: WatchSettings | None = None,
) -> tuple[Watcher, list[Anomaly]]:
    """A `Watcher` fed the stored records in [since, until) minute by minute, and what it found;
    templates stored before `since` are known to it (not new)."""
    parts, params = [], []
    if since_ns is not None:
        parts.append("ts >= make_timestamp_ns(?)")
        params.append(since_ns)
    if until_ns is not None:
        parts.append("ts < make_timestamp_ns(?)")
        params.append(until_ns)
    watcher = Watcher(settings)
    if since_ns is not None:
        watcher.know(store.templates_before(since_ns))
    template_rows, field_rows = store.minute_stats(
        " AND ".join(parts) or "TRUE", params, watcher.settings.watched_fields
    )
    return watcher, watcher.feed(buckets_from_rows(template_rows, field_rows))


def replay(
    store: MinuteStatsStore,
    since_ns: int | None = None,
    until_ns: int | None = None,
    settings: WatchSettings | None = None,
) -> Replay:
    """Anomalies and incidents that begin in [since, until), found by the same `Watcher` a live
    loglens runs, fed the store's per-minute folds. The detectors start `LOOKBACK_NS` before
    `since`, so a range starting mid-stream is judged against its own past, and templates stored
    before that are known to them (not new)."""
    start = since_ns - LOOKBACK_NS if since_ns is not None else None
    watcher, anomalies = watch_stored(store, start, until_ns, settings)
    incidents = watcher.take_incidents(everything=True)
    lo = since_ns if since_ns is not None else -(2**63)
    hi = until_ns if until_ns is not None else 2**63
    return Replay(
        [a for a in anomalies if lo <= a.start_ns < hi],
        [i for i in incidents if lo <= i.start_ns < hi],
    )
