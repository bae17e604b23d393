"""The daemon's detectors: warmed on the stored past, fed every stored batch, telling as they find.

`loglens anomalies` and `/api/anomalies` replay the store; a running daemon also watches as records
arrive, so that an anomaly or an incident reaches the live channel (dashboard, agents, alerts) when
its minute closes, not when someone asks. Both run the same `Watcher`, so what is pushed live is
what a replay of the same records finds later.

At start the watcher is fed the last `history_minutes` of stored records, so its baselines are warm
and an incident still open in them is known (not announced again). The clock closes minutes too:
a source that went quiet must not hold its last minute open until its next record.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from loglens.analysis.baseline import MINUTE_NS
from loglens.analysis.detectors import Anomaly
from loglens.analysis.incidents import Incident
from loglens.analysis.report import anomaly_json, incident_json
from loglens.analysis.watch import MinuteStatsStore, Watcher, WatchSettings, watch_stored
from loglens.record import Record

RECENT_INCIDENTS = 100
"""Incidents the watch keeps after announcing them (alerts explain them from their objects)."""

Event = dict[str, Any]
"""One message of the live channel: `{"type": "anomaly", …}` or `{"type": "incident", …}`."""

TemplateTexts = Callable[[Iterable[str]], dict[str, str]]
"""Template ids → their text (for the evidence of what is announced)."""


def anomaly_event(anomaly: Anomaly, templates: dict[str, str]) -> Event:
    """The live message for one anomaly (its JSON as `/api/anomalies` gives it)."""
    text = templates.get(anomaly.template_id) if anomaly.template_id else None
    return {"type": "anomaly", "anomaly": anomaly_json(anomaly) | {"template": text}}


def incident_event(incident: Incident, state: str, templates: dict[str, str]) -> Event:
    """The live message for an incident that `state` ("opened", "updated" or "closed")."""
    return {"type": "incident", "state": state, "incident": incident_json(incident, templates)}


def event_services(event: Event) -> list[str]:
    """The services an event concerns (a live subscriber's service filter applies to them)."""
    if event["type"] == "anomaly":
        return [event["anomaly"]["service"]]
    if event["type"] == "incident":
        return list(event["incident"]["services"])
    if event["type"] == "alert":
        alerts = [event["alert"]] if "alert" in event else event["notification"]["alerts"]
        return [alert["labels"]["service"] for alert in alerts if "service" in alert["labels"]]
    return []


class LiveWatch:
    """A `Watcher` fed live, calling `on_event` with each anomaly and each incident opened or closed.

    Used by one thread (the daemon's pipeline thread); `on_event` must not block.
    """

    def __init__(
        self, settings: WatchSettings, on_event: Callable[[Event], None], templates: TemplateTexts
    ) -> None:
        self.settings = settings
        self._on_event = on_event
        self._templates = templates
        self.watcher = Watcher(settings)
        self._open: set[str] = set()
        self._recent: OrderedDict[str, Incident] = OrderedDict()
        self.anomalies = 0
        self.incidents_opened = 0
        self.incidents_closed = 0

    def incident(self, incident_id: str) -> Incident | None:
        """An incident announced lately (open or among the last `RECENT_INCIDENTS`), for explaining it."""
        return self._recent.get(incident_id)

    def warm(self, store: MinuteStatsStore, now_ns: int) -> None:
        """Feeds the stored last `history_minutes` (announcing nothing: it is the past)."""
        since = (now_ns // MINUTE_NS - self.settings.detectors.history_minutes) * MINUTE_NS
        self.watcher, _ = watch_stored(store, since, None, self.settings)
        self.watcher.take_incidents()  # closed in the past: not news
        self._open = {incident.id for incident in self.watcher.correlator.open}

    def add(self, records: list[Record]) -> None:
        """Folds a stored batch in and announces what the minutes it closed hold."""
        if records:
            self._announce(self.watcher.add(records))

    def tick(self, now_ns: int | None = None) -> None:
        """Closes minutes on the clock — only for a live stream (its newest stamp within the history
        window of now), never for an old file being read, whose stamps are far in the past."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        newest = self.watcher.newest_ns
        if newest is None or now_ns - newest > self.settings.detectors.history_minutes * MINUTE_NS:
            return
        self._announce(self.watcher.advance(now_ns))

    def _announce(self, anomalies: list[Anomaly]) -> None:
        closed = self.watcher.take_incidents()
        # opened since the last call, including those that closed within the same batch
        opened = [i for i in [*closed, *self.watcher.correlator.open] if i.id not in self._open]
        if not anomalies and not opened and not closed:
            return
        ids = {a.template_id for a in anomalies if a.template_id}
        for incident in opened + closed:
            ids.update(a.template_id for a in incident.anomalies if a.template_id)
        texts = self._templates(ids) if ids else {}
        for anomaly in anomalies:
            self.anomalies += 1
            self._on_event(anomaly_event(anomaly, texts))
        for incident in opened + closed:
            self._recent[incident.id] = incident
            self._recent.move_to_end(incident.id)
            while len(self._recent) > RECENT_INCIDENTS:
                self._recent.popitem(last=False)
        for incident in opened:
            self._open.add(incident.id)
            self.incidents_opened += 1
            self._on_event(incident_event(incident, "opened", texts))
        for incident in closed:
            self._open.discard(incident.id)
            self.incidents_closed += 1
            self._on_event(incident_event(incident, "closed", texts))
