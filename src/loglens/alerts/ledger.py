"""Where alerts are remembered: each alert, each step of its history (opened, notified, failed,
throttled, silenced, escalated, acknowledged, resolved), silences and the rules made through the
API, as documents in the store — so a restart keeps open alerts open and `loglens alerts list`
reads the same history as the dashboard."""

from __future__ import annotations

import itertools
import time
from typing import Any

from loglens.alerts.model import ACTIVE_STATES, Alert, Silence, alert_from_json
from loglens.alerts.rules import AlertRule, parse_rule
from loglens.formats.timestamp import from_iso_ms, to_iso_ms
from loglens.store.base import Document, Store

MAX_ACTIVE_LOADED = 10_000
"""Open alerts read back at start, at most (the newest)."""


class AlertLedger:
    """The alert documents of one store. Without a store (`loglens alerts test`) ids are counted in
    memory and nothing is kept."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._ids = itertools.count(1)

    def new_id(self, alert: Alert) -> str:
        """Stores a new alert and returns its id (the store's sequence)."""
        if self.store is None:
            return str(next(self._ids))
        doc = self.store.put_document(
            Document("alert", "", alert.to_json(), alert.state, alert.opened_wall, alert.opened_wall)
        )
        return doc.id

    def save(self, alert: Alert) -> None:
        """Stores the alert as it stands now."""
        if self.store is not None:
            self.store.put_document(
                Document("alert", alert.id, alert.to_json(), alert.state, created=alert.opened_wall)
            )

    def record(self, alert_id: str, kind: str, channel: str | None = None, detail: str | None = None) -> None:
        """One step of an alert's history."""
        if self.store is not None:
            body = {"alert_id": alert_id, "kind": kind, "channel": channel, "detail": detail,
                    "ts": to_iso_ms(time.time_ns())}  # fmt: skip
            self.store.put_document(Document("alert_event", "", body, state=alert_id))

    def history(self, alert_id: str) -> list[dict[str, Any]]:
        """The steps of one alert, oldest first."""
        if self.store is None:
            return []
        return [d.body for d in reversed(self.store.documents("alert_event", state=alert_id))]

    def active(self) -> list[Alert]:
        """Open and acknowledged alerts, as the last run left them."""
        if self.store is None:
            return []
        found: list[Alert] = []
        for state in ACTIVE_STATES:
            docs = self.store.documents("alert", state=state, limit=MAX_ACTIVE_LOADED)
            found += [alert_from_json(d.body, from_iso_ms) for d in docs]
        return sorted(found, key=lambda a: a.opened_wall)

    def alerts(self, state: str | None = None, limit: int | None = 100) -> list[dict[str, Any]]:
        """Stored alerts (every state, or one), most recently changed first."""
        if self.store is None:
            return []
        return [d.body for d in self.store.documents("alert", state=state, limit=limit)]

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """One stored alert."""
        if self.store is None:
            return None
        doc = self.store.document("alert", alert_id)
        return None if doc is None else doc.body

    def save_silence(self, silence: Silence) -> Silence:
        """Stores a silence (a new one takes the next id)."""
        if self.store is None:
            return silence
        doc = self.store.put_document(
            Document("silence", silence.id, silence.to_json(), "active", silence.created_ns)
        )
        body = doc.body | {"id": doc.id}
        self.store.put_document(Document("silence", doc.id, body, "active", silence.created_ns))
        return Silence(doc.id, silence.matchers, silence.until_ns, silence.created_ns, silence.author,
                       silence.comment)  # fmt: skip

    def silences(self) -> list[Silence]:
        """Every stored silence, expired or not."""
        if self.store is None:
            return []
        return [
            Silence(
                id=d.id,
                matchers=dict(d.body["matchers"]),
                until_ns=from_iso_ms(d.body["until"]),
                created_ns=from_iso_ms(d.body["created"]),
                author=d.body.get("author"),
                comment=d.body.get("comment", ""),
            )
            for d in self.store.documents("silence")
        ]

    def delete_silence(self, silence_id: str) -> bool:
        """Removes a silence; False when there was none."""
        return self.store is not None and self.store.delete_document("silence", silence_id)

    def rules(self) -> list[AlertRule]:
        """The rules made through the API (those of loglens.toml are not stored)."""
        if self.store is None:
            return []
        return [parse_rule(d.body, f"stored rule {d.id!r}") for d in self.store.documents("alert_rule")]

    def save_rule(self, rule: AlertRule) -> None:
        """Stores a rule made through the API, replacing one of the same name."""
        if self.store is not None:
            self.store.put_document(Document("alert_rule", rule.name, rule.to_json(), "enabled"))

    def delete_rule(self, name: str) -> bool:
        """Removes a rule made through the API."""
        return self.store is not None and self.store.delete_document("alert_rule", name)
