"""The alert engine: rules' signals become alerts, told once, to the right channels.

A signal's fingerprint (rule + what it is about) finds the alert it belongs to: repeats fold into
one open alert with a count (dedup). New alerts wait `group_wait` so that those of one group (the
rule's `group_by` labels) go out as one notification; each group may send `throttle`
notifications per window. Silences mute, acknowledging stops escalation (the next channel of
`escalate_to` after each `escalate_after` unacknowledged), and an alert resolves when its rule
says the condition has stopped or nothing new came for `resolve_after`. Every step is stored.

The engine does no I/O of its own beyond the ledger: notifications are handed to `notify`, which
queues them (see `loglens.alerts.delivery`), so a slow channel never holds the caller — the
daemon's pipeline thread. A lock makes the API's acknowledgements safe against that thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from loglens.alerts.evaluators import (
    EVALUATORS,
    AbsenceEvaluator,
    Evaluator,
    NewTemplateEvaluator,
    Outcome,
)
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.model import ACTIVE_STATES, Alert, Signal, Silence, line_json
from loglens.alerts.rules import AlertRule
from loglens.alerts.settings import AlertSettings
from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.record import Record

Notify = Callable[[Sequence[str], dict[str, Any]], None]
"""(channel names, notification): queue a notification for those channels (must not block)."""
Change = Callable[[str, dict[str, Any]], None]
"""(what happened, the alert's JSON): every change, for live subscribers (never throttled)."""
Enrich = Callable[[Alert], dict[str, Any] | None]
"""An alert → its explanation (what happened, signature, fix), or None; called once, before the
alert's first notification."""

MAX_SERVICES_WITH_CONTEXT = 1_000
"""Services whose last lines are kept for alert context (the least recently heard are dropped)."""
SAVE_EVERY_NS = 5 * 10**9
"""An alert whose count grows is stored again at most this often (wall clock)."""
AUTO_RESOLVED = ("threshold", "match", "new_template", "anomaly")
"""Kinds that resolve on their own after `resolve_after` of stream time without a new signal."""


class UnknownAlertError(LoglensError):
    """No alert (or silence) has this id (the API answers 404)."""


@dataclass(slots=True)
class _Waiting:
    """An alert still collecting the lines that follow its first evidence line."""

    alert: Alert
    service: str
    wanted: int
    opened_in_this_batch: bool = True


@dataclass(slots=True)
class _Pending:
    """Alerts of one group and event waiting for their group's notification."""

    since_wall: int
    event: str
    group: str
    channels: tuple[str, ...]
    alerts: list[Alert] = field(default_factory=list)


class AlertEngine:
    """Rules in, alerts out (see the module docstring). Feed it `observe` (stored batches),
    `on_event` (the detectors' live events) and `tick` (about once a second)."""

    def __init__(
        self,
        settings: AlertSettings,
        ledger: AlertLedger,
        notify: Notify,
        *,
        channels: Sequence[str] = (),
        on_change: Change | None = None,
        enrich: Enrich | None = None,
        wall: Callable[[], int] = time.time_ns,
        known_templates: Iterable[str] = (),
        last_seen: dict[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self._notify = notify
        self._on_change = on_change
        self._enrich = enrich
        self._wall = wall
        self._channels = tuple(channels)
        self._known_templates = set(known_templates)
        self._last_seen = dict(last_seen or {})
        self._lock = threading.RLock()
        self.rules: dict[str, AlertRule] = {}
        self._evaluators: dict[str, Evaluator] = {}
        self.active: dict[str, Alert] = {}
        self.by_id: dict[str, Alert] = {}
        self._pending: dict[tuple[str, str, tuple[str, ...]], _Pending] = {}
        self._sent: dict[str, deque[int]] = {}
        self._waiting: list[_Waiting] = []
        self._recent: dict[str, deque[Record]] = {}
        self._context = 0
        self._dirty: dict[str, int] = {}
        self.silences: dict[str, Silence] = {s.id: s for s in ledger.silences()}
        self.stream_ns = 0
        self.counts = {"signals": 0, "opened": 0, "deduplicated": 0, "notifications": 0, "throttled": 0,
                       "silenced": 0, "escalated": 0, "resolved": 0}  # fmt: skip
        for alert in ledger.active():
            self._remember(alert)
        for rule in (*settings.rules, *ledger.rules()):
            self._add_rule(rule)

    # -- rules ---------------------------------------------------------------------------------

    def _add_rule(self, rule: AlertRule) -> None:
        self.rules[rule.name] = rule
        if not rule.enabled:
            self._evaluators.pop(rule.name, None)
            return
        if rule.kind == "new_template":
            evaluator: Evaluator = NewTemplateEvaluator(rule, self._known_templates)
        elif rule.kind == "absence":
            evaluator = AbsenceEvaluator(rule, self._last_seen.get(rule.service or ""))
        else:
            evaluator = EVALUATORS[rule.kind](rule)
        self._evaluators[rule.name] = evaluator
        self._context = max((r.context for r in self.rules.values() if r.enabled), default=0)

    def put_rule(self, rule: AlertRule) -> None:
        """Adds or replaces a rule (the API's; it is stored and survives a restart)."""
        with self._lock:
            self.ledger.save_rule(rule)
            self._add_rule(rule)

    def delete_rule(self, name: str) -> bool:
        """Removes an API rule (those of loglens.toml stay until the file changes)."""
        with self._lock:
            if any(rule.name == name for rule in self.settings.rules) or not self.ledger.delete_rule(name):
                return False
            self.rules.pop(name, None)
            self._evaluators.pop(name, None)
            return True

    # -- input ---------------------------------------------------------------------------------

    def observe(self, records: Sequence[Record]) -> None:
        """A stored batch (in order): evaluated by every rule, then kept as context."""
        if not records or not self._evaluators:
            return
        with self._lock:
            self.stream_ns = max(self.stream_ns, records[-1].ts)
            outcome = Outcome()
            for evaluator in self._evaluators.values():
                outcome.extend(evaluator.observe(records))
            self._take(outcome, records)
            if self._context:
                self._follow_context(records)

    def on_event(self, event: dict[str, Any]) -> None:
        """A detector's live event (anomaly, incident opened or closed)."""
        if not self._evaluators or event.get("type") not in ("anomaly", "incident"):
            return
        with self._lock:
            outcome = Outcome()
            for evaluator in self._evaluators.values():
                outcome.extend(evaluator.on_event(event))
            self._take(outcome, ())

    def tick(self, stream_now_ns: int | None = None) -> None:
        """Clock work: stream-time conditions (absence, thresholds below a bound, auto-resolve) when
        `stream_now_ns` is given, then wall-clock work: group notifications due, escalations, and
        storing alerts whose counts grew."""
        with self._lock:
            if stream_now_ns is not None and stream_now_ns > self.stream_ns:
                self.stream_ns = stream_now_ns
                outcome = Outcome()
                for evaluator in self._evaluators.values():
                    outcome.extend(evaluator.tick(stream_now_ns))
                self._take(outcome, ())
            self._auto_resolve()
            wall = self._wall()
            self._flush(wall, force=False)
            self._escalate(wall)
            self._save_dirty(wall, force=False)

    def flush(self) -> None:
        """Sends every waiting group now and stores every change (at stop, and at the end of a test)."""
        with self._lock:
            wall = self._wall()
            self._flush(wall, force=True)
            self._save_dirty(wall, force=True)

    # -- people --------------------------------------------------------------------------------

    def acknowledge(self, alert_id: str, by: str | None = None) -> dict[str, Any]:
        """Someone is on it: no more escalation or repeats."""
        with self._lock:
            alert = self._get(alert_id)
            if alert.state == "open":
                alert.state, alert.acked_by, alert.acked_wall = "acknowledged", by, self._wall()
                self.ledger.save(alert)
                self.ledger.record(alert.id, "acknowledged", detail=by)
                self._changed("acknowledged", alert)
            return alert.to_json()

    def resolve(self, alert_id: str, by: str | None = None) -> dict[str, Any]:
        """Closes an alert by hand (it would resolve on its own once its condition stops)."""
        with self._lock:
            alert = self._get(alert_id)
            if alert.state in ACTIVE_STATES:
                self._resolve(alert, by or "by hand")
            return alert.to_json()

    def silence(
        self, matchers: dict[str, str], duration_ns: int, author: str | None, comment: str
    ) -> Silence:
        """Mutes matching alerts' notifications for `duration_ns` (they are still raised and stored)."""
        if not matchers:
            raise LoglensError("a silence needs at least one matcher, such as rule=NAME or service=api")
        with self._lock:
            now = self._wall()
            asked = Silence("", dict(matchers), now + duration_ns, now, author, comment)
            silence = self.ledger.save_silence(asked)
            if not silence.id:
                silence = replace(silence, id=str(len(self.silences) + 1))
            self.silences[silence.id] = silence
            return silence

    def unsilence(self, silence_id: str) -> bool:
        """Ends a silence now."""
        with self._lock:
            found = self.silences.pop(silence_id, None) is not None
            return self.ledger.delete_silence(silence_id) or found

    def active_silences(self) -> list[Silence]:
        """Silences not yet expired."""
        now = self._wall()
        return [s for s in self.silences.values() if s.until_ns > now]

    def alert_json(self, alert_id: str) -> dict[str, Any]:
        """One alert (open in memory, or as stored) with its history."""
        with self._lock:
            alert = self.by_id.get(alert_id)
            found = alert.to_json() if alert is not None else self.ledger.alert(alert_id)
        if found is None:
            raise UnknownAlertError(f"no alert {alert_id!r} (see `loglens alerts list`)")
        return found | {"history": self.ledger.history(alert_id)}

    # -- inside --------------------------------------------------------------------------------

    def _get(self, alert_id: str) -> Alert:
        alert = self.by_id.get(alert_id)
        if alert is None:
            raise UnknownAlertError(f"no open alert {alert_id!r} (see `loglens alerts list`)")
        return alert

    def _remember(self, alert: Alert) -> None:
        self.active[alert.fingerprint] = alert
        self.by_id[alert.id] = alert

    def _changed(self, what: str, alert: Alert) -> None:
        if self._on_change is not None:
            self._on_change(what, alert.to_json())

    def _take(self, outcome: Outcome, records: Sequence[Record]) -> None:
        for signal in outcome.signals:
            self._signal(signal, records)
        for fp in outcome.clears:
            alert = self.active.get(fp)
            if alert is not None:
                self._resolve(alert, "condition cleared")

    def _signal(self, signal: Signal, records: Sequence[Record]) -> None:
        self.counts["signals"] += 1
        fp = signal.fingerprint
        alert = self.active.get(fp)
        if alert is not None:
            self.counts["deduplicated"] += 1
            alert.count += signal.count
            alert.last_ns = max(alert.last_ns, signal.ts_ns)
            alert.detail.update(signal.detail)
            self._dirty.setdefault(alert.id, self._wall())
            wall = self._wall()
            if (
                signal.count
                and alert.state == "open"
                and alert.notifications
                and wall - alert.last_notified_wall >= self.settings.repeat_interval_ns
            ):
                self._queue("repeated", alert, wall)
            return
        rule = signal.rule
        wall = self._wall()
        labels = signal.labels
        group = ",".join(f"{name}={labels.get(name, '')}" for name in rule.group_by)
        alert = Alert(
            id="", fingerprint=fp, rule=rule.name, kind=rule.kind, severity=rule.severity, title=signal.title,
            labels=labels, group=group, first_ns=signal.ts_ns, last_ns=signal.ts_ns, opened_wall=wall,
            count=max(signal.count, 1), evidence=signal.evidence[:10], detail=dict(signal.detail),
        )  # fmt: skip
        if signal.anchor is not None and rule.context:
            alert.context["before"] = self._before(signal.anchor, records, rule.context)
            after = self._after(signal.anchor, records, rule.context)
            alert.context["after"] = after
            if len(after) < rule.context:
                self._waiting.append(_Waiting(alert, signal.anchor.service, rule.context))
        alert.id = self.ledger.new_id(alert)
        self.ledger.record(alert.id, "opened", detail=signal.title)
        self._remember(alert)
        self.counts["opened"] += 1
        self._changed("opened", alert)
        self._queue("opened", alert, wall)

    def _resolve(self, alert: Alert, why: str) -> None:
        alert.state, alert.resolved_wall, alert.resolved_by = "resolved", self._wall(), why
        self.active.pop(alert.fingerprint, None)
        self.by_id.pop(alert.id, None)
        self._dirty.pop(alert.id, None)
        self._waiting = [w for w in self._waiting if w.alert is not alert]
        self.counts["resolved"] += 1
        self.ledger.save(alert)
        self.ledger.record(alert.id, "resolved", detail=why)
        self._changed("resolved", alert)
        if alert.notifications:
            self._queue("resolved", alert, self._wall())
        else:
            for pending in self._pending.values():
                if alert in pending.alerts:
                    pending.alerts.remove(alert)

    def _auto_resolve(self) -> None:
        for alert in list(self.active.values()):
            rule = self.rules.get(alert.rule)
            if rule is None:
                continue
            if rule.kind in AUTO_RESOLVED and self.stream_ns - alert.last_ns >= rule.resolve_after_ns:
                self._resolve(alert, f"nothing new for {rule.resolve_after_ns // 10**9}s")

    def _routes(self, rule: AlertRule | None) -> tuple[str, ...]:
        if rule is not None and rule.channels:
            return rule.channels
        return self.settings.route or self._channels

    def _queue(self, event: str, alert: Alert, wall: int) -> None:
        channels = self._routes(self.rules.get(alert.rule))
        key = (event, alert.group, channels)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(wall, event, alert.group, channels)
        if alert not in pending.alerts:
            pending.alerts.append(alert)

    def _flush(self, wall: int, force: bool) -> None:
        for key, pending in list(self._pending.items()):
            if not force and wall - pending.since_wall < self.settings.group_wait_ns:
                continue
            del self._pending[key]
            alerts = [a for a in pending.alerts if pending.event == "resolved" or a.state in ACTIVE_STATES]
            if pending.event == "repeated":
                alerts = [a for a in alerts if a.state == "open"]
            self._send(pending.event, pending.group, pending.channels, alerts, wall, throttled=True)

    def _silenced(self, alert: Alert, wall: int) -> Silence | None:
        labels = alert.labels | {"rule": alert.rule, "severity": alert.severity}
        return next((s for s in self.silences.values() if s.until_ns > wall and s.matches(labels)), None)

    def _send(
        self,
        event: str,
        group: str,
        channels: tuple[str, ...],
        alerts: list[Alert],
        wall: int,
        throttled: bool,
    ) -> None:
        told: list[Alert] = []
        for alert in alerts:
            silence = self._silenced(alert, wall)
            if silence is not None:
                if alert.silenced_by != silence.id:
                    alert.silenced_by = silence.id
                    self.counts["silenced"] += 1
                    self.ledger.record(alert.id, "silenced", detail=f"silence {silence.id}")
                continue
            told.append(alert)
        if not told or not channels:
            return
        if throttled:
            sent = self._sent.setdefault(group, deque())
            while sent and wall - sent[0] >= self.settings.throttle_window_ns:
                sent.popleft()
            if len(sent) >= self.settings.throttle:
                self.counts["throttled"] += 1
                for alert in told:
                    self.ledger.record(alert.id, "throttled", detail=f"{event}: {len(sent)} sent to {group}")
                return
            sent.append(wall)
        for alert in told:
            if alert.explanation is None and self._enrich is not None and event != "resolved":
                try:
                    alert.explanation = self._enrich(alert)
                except Exception as exc:  # an explanation is a bonus: the alert goes out without it
                    alert.detail["explanation_error"] = str(exc)[:200]
            alert.notifications += 1
            alert.last_notified_wall = wall
            self._dirty.setdefault(alert.id, 0)
        notification = {
            "event": event,
            "group": group,
            "sent_at": to_iso_ms(wall),
            "url": self.settings.dashboard_url,
            "alerts": [alert.to_json() for alert in told],
        }
        self.counts["notifications"] += 1
        self._notify(channels, notification)

    def _escalate(self, wall: int) -> None:
        for alert in list(self.active.values()):
            rule = self.rules.get(alert.rule)
            if rule is None or alert.state != "open" or alert.escalations >= len(rule.escalate_to):
                continue
            if wall - alert.opened_wall < rule.escalate_after_ns * (alert.escalations + 1):
                continue
            channel = rule.escalate_to[alert.escalations]
            alert.escalations += 1
            self.counts["escalated"] += 1
            self.ledger.record(alert.id, "escalated", channel=channel, detail=f"step {alert.escalations}")
            self._changed("escalated", alert)
            self._send("escalated", alert.group, (channel,), [alert], wall, throttled=False)

    def _save_dirty(self, wall: int, force: bool) -> None:
        for alert_id, since in list(self._dirty.items()):
            if force or wall - since >= SAVE_EVERY_NS:
                alert = self.by_id.get(alert_id)
                del self._dirty[alert_id]
                if alert is not None:
                    self.ledger.save(alert)

    # -- context lines -------------------------------------------------------------------------

    def _before(self, anchor: Record, records: Sequence[Record], n: int) -> list[dict[str, Any]]:
        lines = list(self._recent.get(anchor.service, ()))
        for record in records:
            if record is anchor:
                break
            if record.service == anchor.service:
                lines.append(record)
        return [line_json(r) for r in lines[-n:]]

    def _after(self, anchor: Record, records: Sequence[Record], n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen = False
        for record in records:
            if record is anchor:
                seen = True
            elif seen and record.service == anchor.service:
                out.append(line_json(record))
                if len(out) >= n:
                    break
        return out

    def _follow_context(self, records: Sequence[Record]) -> None:
        """Keeps each service's last lines and hands waiting alerts the lines after their anchor
        (the anchor's own batch was done in `_after`; this batch's lines count from the next one)."""
        if self._waiting:
            still: list[_Waiting] = []
            for waiting in self._waiting:
                after = waiting.alert.context["after"]
                if waiting.opened_in_this_batch:
                    waiting.opened_in_this_batch = False
                else:
                    for record in records:
                        if len(after) >= waiting.wanted:
                            break
                        if record.service == waiting.service:
                            after.append(line_json(record))
                if len(after) < waiting.wanted:
                    still.append(waiting)
                else:
                    self._dirty.setdefault(waiting.alert.id, 0)
            self._waiting = still
        recent = self._recent
        size = self._context
        for record in records:
            lines = recent.get(record.service)
            if lines is None:
                if len(recent) >= MAX_SERVICES_WITH_CONTEXT:
                    recent.pop(next(iter(recent)))
                lines = recent[record.service] = deque(maxlen=size)
            lines.append(record)
