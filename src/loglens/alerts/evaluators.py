"""Each rule kind's evaluator: fed stored batches, detector events and the clock, it says when its
condition holds (a `Signal`) and when it has stopped holding (a fingerprint to resolve).

One small class per kind, registered in `EVALUATORS` (the engine builds rules through it only).
Windows are in stream time (the logs' own stamps), so an old file read in an hour alerts as it
would have live; state is bounded per rule (`MAX_KEYS` services or templates at most).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loglens.alerts.model import Signal, fingerprint, line_json
from loglens.alerts.rules import AlertRule, severity_at_least
from loglens.formats.level import level_from_name
from loglens.formats.timestamp import from_iso_ms, to_iso_ms
from loglens.query.matcher import live_matcher
from loglens.record import Record

MAX_KEYS = 10_000
"""Distinct services (or templates) one rule keeps state for; the least recent beyond are forgotten."""
TEMPLATE_ID = re.compile(r"^[\w.-]+-\d+$")
SECOND_NS = 10**9

Matcher = Callable[[Sequence[Record]], list[Record]]


@dataclass(slots=True)
class Outcome:
    """What one evaluation found: conditions that hold now, and fingerprints that no longer do."""

    signals: list[Signal] = field(default_factory=list)
    clears: list[str] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.signals += other.signals
        self.clears += other.clears


def _matcher(query: str) -> Matcher | None:
    return live_matcher(query) if query.strip() else None


def template_pattern(text: str) -> re.Pattern[str]:
    """A template's text as a regex over messages: literal runs escaped, each `<*>` any text."""
    parts = [re.escape(part) for part in text.split("<*>")]
    return re.compile(r"\s*" + "(.*?)".join(parts) + r"\s*", re.DOTALL)


class Evaluator:
    """The base: nothing holds. Kinds override what they react to."""

    def __init__(self, rule: AlertRule) -> None:
        self.rule = rule

    def observe(self, records: Sequence[Record]) -> Outcome:
        """A stored batch, in order."""
        return Outcome()

    def on_event(self, event: dict[str, Any]) -> Outcome:
        """A detector's live event (`{"type": "anomaly"|"incident", …}`)."""
        return Outcome()

    def tick(self, now_ns: int) -> Outcome:
        """Stream time has moved on to `now_ns` (conditions about silence are decided here)."""
        return Outcome()

    def labels(self, service: str | None) -> dict[str, str]:
        """The alert's labels: the rule's own, its name and severity, and the service."""
        out = dict(self.rule.labels) | {"rule": self.rule.name, "severity": self.rule.severity}
        if service is not None:
            out["service"] = service
        return out


class ThresholdEvaluator(Evaluator):
    """`threshold`: the count of records matching `query` in the last `window`, per service when the
    rule groups by service, compared with `threshold`. Counted per second of stream time, so a
    window holds at most `window` seconds of counters per service, whatever the rate."""

    def __init__(self, rule: AlertRule) -> None:
        super().__init__(rule)
        self._match = _matcher(rule.query)
        self._per_service = "service" in rule.group_by
        self._seconds: dict[str, deque[list[int]]] = {}
        self._totals: dict[str, int] = {}
        self._holding: set[str] = set()
        self._newest = 0

    def observe(self, records: Sequence[Record]) -> Outcome:
        matched = self._match(records) if self._match is not None else list(records)
        if records:
            self._newest = max(self._newest, max(r.ts for r in records))
        upward = self.rule.op in (">", ">=")
        out = Outcome()
        touched: dict[str, Record] = {}
        for record in matched:
            key = record.service if self._per_service else ""
            second = record.ts // SECOND_NS
            slots = self._seconds.get(key)
            if slots is None:
                if len(self._seconds) >= MAX_KEYS:
                    oldest = next(iter(self._seconds))
                    self._seconds.pop(oldest)
                    self._totals.pop(oldest, None)
                    self._holding.discard(oldest)
                slots = self._seconds[key] = deque()
            if slots and slots[-1][0] == second:
                slots[-1][1] += 1
            else:
                slots.append([second, 1])
            self._totals[key] = self._totals.get(key, 0) + 1
            touched.setdefault(key, record)
            if upward and key not in self._holding:
                # A batch may span minutes (a file read at once): the window slides record by
                # record, so a peak inside the batch is seen where it happened.
                out.extend(self._decide(key, record, record.ts))
        keys = set(self._seconds) if not upward else set(touched)
        for key in keys:
            out.extend(self._decide(key, touched.get(key), self._newest))
        return out

    def tick(self, now_ns: int) -> Outcome:
        self._newest = max(self._newest, now_ns)
        out = Outcome()
        for key in list(self._seconds):
            out.extend(self._decide(key, None, self._newest))
        return out

    def _decide(self, key: str, anchor: Record | None, now_ns: int) -> Outcome:
        slots = self._seconds[key]
        start = (now_ns - self.rule.window_ns) // SECOND_NS
        while slots and slots[0][0] <= start:
            self._totals[key] -= slots.popleft()[1]
        count = self._totals.get(key, 0)
        service = key if self._per_service else None
        fp = fingerprint(self.rule.name, service)
        if not self.rule.compares(count):
            if key in self._holding:
                self._holding.discard(key)
                return Outcome(clears=[fp])
            return Outcome()
        new = key not in self._holding
        self._holding.add(key)
        where = f" from {service}" if service else ""
        title = (
            f"{count} records{where} matching {self.rule.query or 'anything'!r} in "
            f"{self.rule.window_ns // SECOND_NS}s ({self.rule.op} {self.rule.threshold:g})"
        )
        signal = Signal(
            self.rule,
            key=(service,),
            labels=self.labels(service),
            title=title,
            ts_ns=now_ns,
            count=1 if new else 0,
            anchor=anchor,
            evidence=[line_json(anchor)] if anchor is not None else [],
            detail={"count": count, "window_s": self.rule.window_ns // SECOND_NS},
        )
        return Outcome(signals=[signal])


class MatchEvaluator(Evaluator):
    """`match`: each record of a template (by id, or by its text with `<*>` wildcards) or matching
    a regex, within `query`. Repeats in one service are one alert with a count (a regex spans
    shapes: the OOM killer's report is several templates, one problem)."""

    def __init__(self, rule: AlertRule) -> None:
        super().__init__(rule)
        self._match = _matcher(rule.query)
        template = rule.template or ""
        self._template_id = template if TEMPLATE_ID.match(template) else None
        self._template_text = template_pattern(template) if template and not self._template_id else None
        self._regex = re.compile(rule.regex) if rule.regex else None

    def _hit(self, record: Record) -> bool:
        if self._template_id is not None and record.template_id != self._template_id:
            return False
        if self._template_text is not None and not self._template_text.fullmatch(record.message):
            return False
        return self._regex is None or self._regex.search(record.message) is not None

    def observe(self, records: Sequence[Record]) -> Outcome:
        candidates = self._match(records) if self._match is not None else records
        grouped: dict[str, list[Record]] = {}
        for record in candidates:
            if self._hit(record):
                grouped.setdefault(record.service, []).append(record)
        out = Outcome()
        for service, hits in grouped.items():
            first = hits[0]
            title = first.message.splitlines()[0][:160] if first.message else self.rule.name
            out.signals.append(
                Signal(
                    self.rule,
                    key=(service,),
                    labels=self.labels(service),
                    title=title,
                    ts_ns=hits[-1].ts,
                    count=len(hits),
                    anchor=first,
                    evidence=[line_json(r) for r in hits[:3]],
                    detail={"template_id": first.template_id},
                )
            )
        return out


class NewTemplateEvaluator(Evaluator):
    """`new_template`: the first record of a template never seen before (within `query`, at or above
    `level`). Templates known at start (the store's) are not new."""

    def __init__(self, rule: AlertRule, known: Iterable[str] = ()) -> None:
        super().__init__(rule)
        self._match = _matcher(rule.query)
        self._level = level_from_name(rule.level) if rule.level else None
        self.known: set[str] = set(known)

    def observe(self, records: Sequence[Record]) -> Outcome:
        candidates = self._match(records) if self._match is not None else records
        out = Outcome()
        for record in candidates:
            template_id = record.template_id
            if template_id is None or template_id in self.known:
                continue
            if self._level is not None and record.level < self._level:
                continue
            self.known.add(template_id)
            first_line = record.message.splitlines()[0][:160] if record.message else ""
            out.signals.append(
                Signal(
                    self.rule,
                    key=(record.service, template_id),
                    labels=self.labels(record.service),
                    title=f"new {record.level.label} shape in {record.service}: {first_line}",
                    ts_ns=record.ts,
                    anchor=record,
                    evidence=[line_json(record)],
                    detail={"template_id": template_id},
                )
            )
        return out


class AnomalyEvaluator(Evaluator):
    """`anomaly`: each anomaly the detectors announce at or above `min_severity` (optionally only of
    some services or kinds)."""

    def on_event(self, event: dict[str, Any]) -> Outcome:
        if event.get("type") != "anomaly":
            return Outcome()
        anomaly = event["anomaly"]
        rule = self.rule
        if not severity_at_least(anomaly["severity"], rule.min_severity):
            return Outcome()
        if rule.services and anomaly["service"] not in rule.services:
            return Outcome()
        if rule.kinds and anomaly["kind"] not in rule.kinds:
            return Outcome()
        ts = from_iso_ms(anomaly["start"])
        title = f"{anomaly['service']}: {anomaly['kind']} — {anomaly['detail']}"
        return Outcome(
            signals=[
                Signal(
                    rule,
                    key=(anomaly["service"], anomaly["kind"], anomaly.get("template_id")),
                    labels=self.labels(anomaly["service"]) | {"kind": anomaly["kind"]},
                    title=title,
                    ts_ns=ts,
                    detail={"anomaly": anomaly},
                )
            ]
        )


class IncidentEvaluator(Evaluator):
    """`incident`: an incident opened at or above `min_severity` (or reaching it by its close), one
    alert per incident; its close resolves the alert."""

    def __init__(self, rule: AlertRule) -> None:
        super().__init__(rule)
        self._raised: deque[str] = deque(maxlen=MAX_KEYS)

    def on_event(self, event: dict[str, Any]) -> Outcome:
        if event.get("type") != "incident":
            return Outcome()
        incident = event["incident"]
        rule = self.rule
        fp = fingerprint(rule.name, incident["id"])
        out = Outcome()
        wanted = not rule.services or set(rule.services) & set(incident["services"])
        if (
            wanted
            and incident["id"] not in self._raised
            and severity_at_least(incident["severity"], rule.min_severity)
        ):
            self._raised.append(incident["id"])
            root = incident["root_cause"]["service"]
            first_sign = incident["root_cause"].get("template")
            title = f"incident in {', '.join(incident['services'])}; likely root cause {root}"
            out.signals.append(
                Signal(
                    rule,
                    key=(incident["id"],),
                    labels=self.labels(root) | {"incident": incident["id"]},
                    title=title + (f": {first_sign}" if first_sign else ""),
                    ts_ns=from_iso_ms(incident["start"]),
                    detail={"incident": incident},
                )
            )
        if event.get("state") == "closed":
            out.clears.append(fp)
        return out


class AbsenceEvaluator(Evaluator):
    """`absence`: no record from `service` for `window` of stream time, once it has been heard from
    (a service never seen is not missing: it may not exist here). Its next record resolves it."""

    def __init__(self, rule: AlertRule, last_seen: int | None = None) -> None:
        super().__init__(rule)
        self.last_seen = last_seen
        self._absent = False

    def observe(self, records: Sequence[Record]) -> Outcome:
        newest = max((r.ts for r in records if r.service == self.rule.service), default=None)
        if newest is None:
            return Outcome()
        self.last_seen = max(self.last_seen or newest, newest)
        if self._absent:
            self._absent = False
            return Outcome(clears=[fingerprint(self.rule.name, self.rule.service)])
        return Outcome()

    def tick(self, now_ns: int) -> Outcome:
        if self.last_seen is None or self._absent or now_ns - self.last_seen < self.rule.window_ns:
            return Outcome()
        self._absent = True
        service = self.rule.service
        minutes = (now_ns - self.last_seen) / 60e9
        title = f"no records from {service} for {minutes:.0f} min (last at {to_iso_ms(self.last_seen)})"
        return Outcome(
            signals=[
                Signal(
                    self.rule,
                    key=(service,),
                    labels=self.labels(service),
                    title=title,
                    ts_ns=now_ns,
                    detail={"last_seen": to_iso_ms(self.last_seen)},
                )
            ]
        )


EVALUATORS: dict[str, Callable[[AlertRule], Evaluator]] = {
    "threshold": ThresholdEvaluator,
    "match": MatchEvaluator,
    "new_template": NewTemplateEvaluator,
    "anomaly": AnomalyEvaluator,
    "incident": IncidentEvaluator,
    "absence": AbsenceEvaluator,
}
"""Rule kind → its evaluator (every kind in RULE_KINDS has one; a test checks)."""
