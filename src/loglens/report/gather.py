"""What a report shows, read from a store in one place: the same reads whether `loglens export
--format html` opened the store itself or the daemon answers `/api/export?format=html`.

The only I/O of the report; everything it reads is bounded (aggregates, the top patterns, at most
`MAX_EXPLAINED` incidents explained, `MAX_ALERTS` alerts, the first `lines` records), so a report of
millions of lines costs the store's aggregations, not memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from loglens.ai.explain import explain_offline
from loglens.ai.kb import all_signatures
from loglens.alerts.ledger import AlertLedger
from loglens.analysis.explain import explain_incident
from loglens.analysis.findings import named_templates, replay_range, replay_texts
from loglens.analysis.patterns import RECENT_SHARE, pattern_json
from loglens.analysis.patterns import patterns as find_patterns
from loglens.analysis.report import incident_json
from loglens.analysis.summary import ServiceSummary, summarise
from loglens.analysis.watch import Replay
from loglens.config import Config
from loglens.errors import QueryError
from loglens.formats.timestamp import from_iso_ms
from loglens.query.filters import record_filter
from loglens.query.timerange import parse_time_bound
from loglens.record import Level
from loglens.store.base import WINDOW_ORIGIN_NS, RecordCounts, Store, StoredRecord

REPORT_LINES = 200
"""Matching lines listed at the end of a report unless asked otherwise."""
MAX_REPORT_LINES = 10_000
TOP_PATTERNS = 15
MAX_EXPLAINED = 20
"""Incidents given their offline explanation (signature, fix); later ones are listed without it."""
MAX_ALERTS = 200
MAX_BARS = 120
"""Bars of the volume chart at most: the bucket is the shortest round length that fits the range."""
BUCKET_STEPS_S = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
    604800, 2592000,
)  # fmt: skip
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report covers: the records matching `query`, `level` and `services` between `since` and
    `until` (as `loglens logs` takes them), and how many of them it lists (`lines`).

    The header, volume chart, patterns and listed lines follow the whole query; the services'
    health, the incidents and the alerts are the range's (and `services`'), as `loglens summary`
    and `loglens incidents` see them.
    """

    query: str = ""
    level: str | None = None
    services: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    lines: int = REPORT_LINES

    def __post_init__(self) -> None:
        if not 0 <= self.lines <= MAX_REPORT_LINES:
            raise QueryError(
                f"a report lists 0 to {MAX_REPORT_LINES:,} lines, not {self.lines:,}: its charts and "
                "tables cover every matching line anyway; export them all with --format json or csv"
            )


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service in a report: its matching lines, errors (error or worse) and warnings, its
    figures over the range from `loglens summary` (None when it logged nothing in the range), and
    its matching lines per chart bucket."""

    service: str
    lines: int
    errors: int
    warnings: int
    summary: ServiceSummary | None
    volume: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PatternRow:
    """One top pattern (as `loglens patterns --json` gives it) and its lines per chart bucket."""

    pattern: dict[str, Any]
    volume: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one report shows, read (see `gather_report`) before any of it is rendered.

    `incidents` are `loglens incidents --json` objects; the first `MAX_EXPLAINED` also hold
    `evidence` and `explanation` (the offline explainer's reading, as `loglens explain --json`).
    `alerts` are the stored alerts overlapping the range, as `/api/alerts` gives them.
    """

    ask: ReportQuery
    generated_ns: int
    total: int
    levels: dict[str, int]
    first_ns: int | None
    last_ns: int | None
    bucket_ns: int
    bucket_starts: tuple[int, ...]
    volume: tuple[dict[str, int], ...]
    services: tuple[ServiceRow, ...]
    patterns: tuple[PatternRow, ...]
    pattern_count: int
    incidents: tuple[dict[str, Any], ...]
    alerts: tuple[dict[str, Any], ...]
    lines: tuple[StoredRecord, ...]


# -- pure parts -------------------------------------------------------------------------------------


def bucket_for(first_ns: int, last_ns: int, max_bars: int = MAX_BARS) -> int:
    """The shortest of `BUCKET_STEPS_S` giving at most `max_bars` bars from `first_ns` to `last_ns`
    (whole days past the longest step)."""
    span = last_ns - first_ns
    for seconds in BUCKET_STEPS_S:
        step = seconds * 10**9
        if span // step + 2 <= max_bars:  # +2: both ends may fall inside partial buckets
            return step
    return -(-span // (max_bars - 2) // _DAY_NS) * _DAY_NS


def bucket_starts(first_ns: int, last_ns: int, bucket_ns: int) -> tuple[int, ...]:
    """Every bucket from the one holding `first_ns` to the one holding `last_ns`, counted from
    `WINDOW_ORIGIN_NS` as `Store.hits` counts them (so empty buckets show as gaps)."""
    first = (first_ns - WINDOW_ORIGIN_NS) // bucket_ns * bucket_ns + WINDOW_ORIGIN_NS
    return tuple(range(first, last_ns + 1, bucket_ns))


def series(hits: Iterable[tuple[int, str, int]], starts: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """`Store.hits` rows (bucket, key, count) as one count per bucket of `starts` for each key."""
    at = {start: i for i, start in enumerate(starts)}
    found: dict[str, list[int]] = {}
    for start, key, count in hits:
        if start in at:
            found.setdefault(key, [0] * len(starts))[at[start]] += count
    return {key: tuple(values) for key, values in found.items()}


def level_volume(hits: Iterable[tuple[int, str, int]], starts: Sequence[int]) -> tuple[dict[str, int], ...]:
    """`Store.hits` rows by level as, per bucket of `starts`, level → lines."""
    at = {start: i for i, start in enumerate(starts)}
    found: list[dict[str, int]] = [{} for _ in starts]
    for start, level, count in hits:
        if start in at:
            found[at[start]][level] = found[at[start]].get(level, 0) + count
    return tuple(found)


def service_rows(
    counts: RecordCounts,
    summaries: Sequence[ServiceSummary],
    volumes: dict[str, tuple[int, ...]],
    buckets: int,
) -> tuple[ServiceRow, ...]:
    """Per service with a matching line, busiest first: its lines, errors and warnings among the
    matching records, its range summary and its volume."""
    lines: dict[str, list[int]] = {}
    for level in counts.levels:
        figures = lines.setdefault(level.service, [0, 0, 0])
        figures[0] += level.count
        if level.severity >= Level.ERROR:
            figures[1] += level.count
        elif level.severity >= Level.WARNING:
            figures[2] += level.count
    by_service = {s.service: s for s in summaries}
    ranked = sorted(lines.items(), key=lambda item: (-item[1][0], item[0]))
    return tuple(
        ServiceRow(name, total, errors, warnings, by_service.get(name), volumes.get(name, (0,) * buckets))
        for name, (total, errors, warnings) in ranked
    )


def alerts_in_range(
    alerts: Iterable[dict[str, Any]], since_ns: int | None, until_ns: int | None, services: Sequence[str]
) -> tuple[dict[str, Any], ...]:
    """The alerts whose first and last matching times overlap [since, until), and, when `services`
    are given, whose `service` label is one of them (an alert without one is kept)."""
    kept = []
    for alert in alerts:
        first, last = from_iso_ms(alert["first_ts"]), from_iso_ms(alert["last_ts"])
        if since_ns is not None and last < since_ns:
            continue
        if until_ns is not None and first >= until_ns:
            continue
        service = (alert.get("labels") or {}).get("service")
        if services and service is not None and service not in services:
            continue
        kept.append(alert)
    return tuple(kept)


# -- reading ---------------------------------------------------------------------------------------


def gather_report(
    store: Store, config: Config, ask: ReportQuery, now_ns: int, replayed: Replay | None = None
) -> Report:
    """Reads what the report of `ask` shows from `store`. `replayed` is the detectors' replay of the
    range when the caller has one (the daemon keeps them), else it is run here.

    Raises:
        QueryError: the query, level or a time cannot be read (the sentence says what to fix).
    """
    tz = config.timezone
    where = record_filter(tz, ask.query, None, ask.level, ask.services, ask.since, ask.until)
    counts = store.counts(where.where, where.params)
    first = next(store.search(where.where, where.params, 1, oldest=True), None)
    last = next(store.search(where.where, where.params, 1), None)
    bucket_ns = bucket_for(first.ts, last.ts) if first and last else 60 * 10**9
    starts = bucket_starts(first.ts, last.ts, bucket_ns) if first and last else ()
    volume = level_volume(store.hits(where.where, where.params, bucket_ns, "level"), starts)
    by_service = series(store.hits(where.where, where.params, bucket_ns, "service"), starts)

    found = find_patterns(store.pattern_stats(where.where, where.params, RECENT_SHARE))
    top = found[:TOP_PATTERNS]
    pattern_volume = _template_series(
        store, where.where, where.params, [p.template_id for p in top], bucket_ns, starts
    )

    replay = replayed if replayed is not None else replay_range(store, config, ask.since, ask.until)
    plain = not ask.query.strip() and not ask.level
    range_where = record_filter(tz, services=ask.services, since=ask.since, until=ask.until)
    range_counts = counts if plain else store.counts(range_where.where, range_where.params)
    summaries = summarise(
        range_counts, replay.anomalies, store.last_errors(range_where.where, range_where.params)
    )

    since_ns = parse_time_bound(ask.since, tz=tz) if ask.since else None
    until_ns = parse_time_bound(ask.until, tz=tz) if ask.until else None
    alerts = alerts_in_range(AlertLedger(store).alerts(None, MAX_ALERTS), since_ns, until_ns, ask.services)
    lines = tuple(store.search(where.where, where.params, ask.lines, oldest=True)) if ask.lines else ()
    return Report(
        ask=ask,
        generated_ns=now_ns,
        total=counts.total,
        levels=_level_totals(counts),
        first_ns=first.ts if first else None,
        last_ns=last.ts if last else None,
        bucket_ns=bucket_ns,
        bucket_starts=starts,
        volume=volume,
        services=service_rows(counts, summaries, by_service, len(starts)),
        patterns=tuple(
            PatternRow(pattern_json(p), pattern_volume.get(p.template_id, (0,) * len(starts))) for p in top
        ),
        pattern_count=len(found),
        incidents=_incidents(store, replay, ask.services),
        alerts=alerts,
        lines=lines,
    )


def _level_totals(counts: RecordCounts) -> dict[str, int]:
    totals: dict[str, int] = {}
    for level in sorted(counts.levels, key=lambda c: -c.severity):
        totals[level.level] = totals.get(level.level, 0) + level.count
    return totals


def _template_series(
    store: Store,
    where: str,
    params: Sequence[object],
    ids: Sequence[str],
    bucket_ns: int,
    starts: Sequence[int],
) -> dict[str, tuple[int, ...]]:
    if not ids or not starts:
        return {}
    marks = ", ".join("?" for _ in ids)
    hits = store.hits(f"({where}) AND template_id IN ({marks})", [*params, *ids], bucket_ns, "template")
    return series(hits, starts)


def _incidents(store: Store, replay: Replay, services: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """The range's incidents touching `services` (all without), oldest first; the first
    `MAX_EXPLAINED` explained as `loglens explain` explains them (same evidence, same signature),
    from this replay rather than one of the whole store."""
    chosen = [i for i in replay.incidents if not services or set(services) & set(i.services)]
    templates = replay_texts(store, replay)
    signatures = all_signatures(store) if chosen else ()
    out: list[dict[str, Any]] = []
    for n, incident in enumerate(chosen):
        if n >= MAX_EXPLAINED:
            out.append(incident_json(incident, templates))
            continue
        found = explain_incident(store, incident, named_templates(store, incident.anomalies), 0)
        found["explanation"] = explain_offline(store, found, signatures)
        out.append(found)
    return tuple(out)
