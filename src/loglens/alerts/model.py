"""What the alert engine holds: a signal (a rule's condition seen to hold once), the alert it opens
or adds to, and a silence; each with the JSON the API, the store and the channels share."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from loglens.alerts.rules import AlertRule
from loglens.formats.timestamp import to_iso_ms
from loglens.record import LABEL_OF, Record

ALERT_STATES = ("open", "acknowledged", "resolved")
ACTIVE_STATES = ("open", "acknowledged")
MAX_EVIDENCE = 10
"""Evidence lines an alert keeps: the first ones (how it began), never a growing list."""


def fingerprint(rule: str, *parts: str | None) -> str:
    """A stable id for "the same problem again": the rule and what the signal is about (service,
    template, incident…). Repeats with one fingerprint are one alert with a count."""
    text = "\x1f".join([rule, *(part or "" for part in parts)])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def line_json(record: Record) -> dict[str, Any]:
    """One log line as alerts show it (the record id is there once the record is stored)."""
    return {
        "id": record.id,
        "ts": to_iso_ms(record.ts),
        "service": record.service,
        "level": LABEL_OF[record.level],
        "message": record.message.split("\n", 1)[0][:2000],
    }


@dataclass(slots=True)
class Signal:
    """One time a rule's condition held: what it is about (`key` parts of the fingerprint, labels),
    when (stream time), how many matches it stands for, and the line to show context around."""

    rule: AlertRule
    key: tuple[str | None, ...]
    labels: dict[str, str]
    title: str
    ts_ns: int
    count: int = 1
    anchor: Record | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the alert this signal opens or adds to."""
        return fingerprint(self.rule.name, *self.key)


@dataclass(slots=True)
class Alert:
    """An alert: one fingerprint, open until resolved, counting the signals folded into it.

    `first_ns`/`last_ns` are stream times (the log's), `opened_wall`/`acked_wall` the daemon's clock
    (escalation and repeats are about people, who live on the wall clock)."""

    id: str
    fingerprint: str
    rule: str
    kind: str
    severity: str
    title: str
    labels: dict[str, str]
    group: str
    first_ns: int
    last_ns: int
    opened_wall: int
    count: int = 1
    state: str = "open"
    evidence: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"before": [], "after": []})
    detail: dict[str, Any] = field(default_factory=dict)
    explanation: dict[str, Any] | None = None
    notifications: int = 0
    escalations: int = 0
    last_notified_wall: int = 0
    silenced_by: str | None = None
    acked_by: str | None = None
    acked_wall: int | None = None
    resolved_wall: int | None = None
    resolved_by: str | None = None
    clear_since_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The alert as the API, the store and every channel see it."""
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "type": self.kind,
            "severity": self.severity,
            "state": self.state,
            "title": self.title,
            "labels": self.labels,
            "group": self.group,
            "count": self.count,
            "first_ts": to_iso_ms(self.first_ns),
            "last_ts": to_iso_ms(self.last_ns),
            "opened_at": to_iso_ms(self.opened_wall),
            "evidence": self.evidence,
            "context": self.context,
            "detail": self.detail,
            "explanation": self.explanation,
            "notifications": self.notifications,
            "escalations": self.escalations,
            "silenced_by": self.silenced_by,
            "acked_by": self.acked_by,
            "acked_at": to_iso_ms(self.acked_wall) if self.acked_wall else None,
            "resolved_at": to_iso_ms(self.resolved_wall) if self.resolved_wall else None,
            "resolved_by": self.resolved_by,
        }


def alert_from_json(body: dict[str, Any], iso_to_ns: Any) -> Alert:
    """An alert read back from the store (the daemon restarts with its open alerts)."""
    return Alert(
        id=str(body["id"]),
        fingerprint=body["fingerprint"],
        rule=body["rule"],
        kind=body.get("type", ""),
        severity=body["severity"],
        title=body["title"],
        labels=dict(body.get("labels") or {}),
        group=body.get("group", ""),
        first_ns=iso_to_ns(body["first_ts"]),
        last_ns=iso_to_ns(body["last_ts"]),
        opened_wall=iso_to_ns(body["opened_at"]),
        count=int(body.get("count", 1)),
        state=body["state"],
        evidence=list(body.get("evidence") or []),
        context=dict(body.get("context") or {"before": [], "after": []}),
        detail=dict(body.get("detail") or {}),
        explanation=body.get("explanation"),
        notifications=int(body.get("notifications", 0)),
        escalations=int(body.get("escalations", 0)),
        silenced_by=body.get("silenced_by"),
        acked_by=body.get("acked_by"),
        acked_wall=iso_to_ns(body["acked_at"]) if body.get("acked_at") else None,
    )


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes the notifications of every alert whose labels match all `matchers` until `until_ns`
    (wall clock). A matcher's value is exact, or a regex when written `~regex`; `rule` and
    `severity` match like labels. Silenced alerts are still opened, counted and stored."""

    id: str
    matchers: dict[str, str]
    until_ns: int
    created_ns: int
    author: str | None = None
    comment: str = ""

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an alert with these labels is silenced by this silence (time aside)."""
        for name, wanted in self.matchers.items():
            value = labels.get(name)
            if value is None:
                return False
            if wanted.startswith("~"):
                if re.fullmatch(wanted[1:], value) is None:
                    return False
            elif value != wanted:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The silence as the API shows it."""
        return {
            "id": self.id,
            "matchers": self.matchers,
            "until": to_iso_ms(self.until_ns),
            "created": to_iso_ms(self.created_ns),
            "author": self.author,
            "comment": self.comment,
        }
