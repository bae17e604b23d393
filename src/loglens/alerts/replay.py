"""`loglens alerts test RULE`: what a rule would have raised over stored logs, found by the same
engine the daemon runs, fed the stored records in order and the detectors' findings at the moment
they were found — nothing is stored or sent."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from loglens.alerts.engine import AlertEngine
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.rules import AlertRule
from loglens.analysis.findings import named_templates
from loglens.analysis.live_watch import Event, anomaly_event, incident_event
from loglens.analysis.watch import replay
from loglens.config import Config
from loglens.formats.level import level_from_name
from loglens.record import Level, Record
from loglens.store.base import Store, StoredRecord

BATCH = 2_000
"""Stored records handed to the engine at a time (the daemon's batches are of this order)."""


@dataclass
class RuleReplay:
    """What the rules raised: every alert in its final state, and the notifications they made."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    events: int = 0


def stored_to_record(stored: StoredRecord) -> Record:
    """A stored record in the shape the live path hands the engine (with its id)."""
    return Record(
        ts=stored.ts,
        observed_ts=stored.ts,
        service=stored.service,
        source=stored.source,
        message=stored.message,
        raw=stored.raw,
        level=level_from_name(stored.level) or Level.INFO,
        host=stored.host,
        pid=stored.pid,
        fields=stored.fields,
        template_id=stored.template_id,
        params=stored.params,
        id=stored.id,
    )


def _timed_events(
    store: Store, config: Config, since: int | None, until: int | None
) -> list[tuple[int, Event]]:
    """The detectors' events over the range, each at the stream time it would have been announced."""
    found = replay(store, since, until, config.analysis)
    texts = named_templates(store, [*found.anomalies, *(a for i in found.incidents for a in i.anomalies)])
    events: list[tuple[int, Event]] = [(a.detected_ns, anomaly_event(a, texts)) for a in found.anomalies]
    for incident in found.incidents:
        events.append((incident.detected_ns, incident_event(incident, "opened", texts)))
        events.append((incident.end_ns, incident_event(incident, "closed", texts)))
    events.sort(key=lambda pair: pair[0])
    return events


def stored_batches(store: Store, since: int | None, until: int | None) -> Iterator[list[Record]]:
    """The stored records of [since, until) in order, as the live path's batches."""
    parts, params = ["TRUE"], []
    if since is not None:
        parts.append("ts >= make_timestamp_ns(?)")
        params.append(since)
    if until is not None:
        parts.append("ts < make_timestamp_ns(?)")
        params.append(until)
    batch: list[Record] = []
    for stored in store.search(" AND ".join(parts), params, None):
        batch.append(stored_to_record(stored))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def replay_rules(
    store: Store,
    config: Config,
    rules: Sequence[AlertRule],
    since: int | None = None,
    until: int | None = None,
) -> RuleReplay:
    """Runs `rules` over the stored records in [since, until) and the detectors' findings there."""
    out = RuleReplay()
    final: dict[str, dict[str, Any]] = {}

    def changed(what: str, alert: dict[str, Any]) -> None:
        final[alert["id"]] = alert

    def notify(channels: Sequence[str], notification: dict[str, Any]) -> None:
        out.notifications.append(notification)
        for alert in notification["alerts"]:
            final[alert["id"]] = alert

    settings = replace(config.alerts, rules=tuple(rules), group_wait_ns=0)
    known = [t for t, _ in store.templates_before(since)] if since is not None else []
    engine = AlertEngine(settings, AlertLedger(None), notify, channels=("test",), on_change=changed,
                         known_templates=known)  # fmt: skip
    events = _timed_events(store, config, since, until)
    out.events = len(events)
    position = 0
    for batch in stored_batches(store, since, until):
        while position < len(events) and events[position][0] <= batch[0].ts:
            engine.on_event(events[position][1])
            position += 1
        engine.observe(batch)
        engine.tick(batch[-1].ts)
        out.records += len(batch)
    for _, event in events[position:]:
        engine.on_event(event)
    engine.flush()
    for alert in engine.active.values():
        final[alert.id] = alert.to_json()
    out.alerts = sorted(final.values(), key=lambda a: (a["first_ts"], int(a["id"])))
    return out
