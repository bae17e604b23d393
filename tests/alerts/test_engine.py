"""The alert engine: every rule kind, dedup into one alert with a count, grouping, throttling,
silences, escalation, acknowledge and resolve, context lines, and alerts that survive a restart
(a real DuckDB store; the wall clock is a test clock so that minutes pass at once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loglens.alerts.engine import AlertEngine, UnknownAlertError
from loglens.alerts.evaluators import EVALUATORS
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.rules import RULE_KINDS, AlertRule, RuleError, parse_rule, parse_rules
from loglens.alerts.settings import AlertSettings, parse_alerts
from loglens.errors import ConfigError
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore

T0 = 1_795_000_000 * 10**9
SECOND = 10**9
MINUTE = 60 * SECOND


def rec(second: float, service: str = "api", message: str = "ok", level: Level = Level.INFO,
        template: str | None = None) -> Record:  # fmt: skip
    ts = T0 + int(second * SECOND)
    return Record(ts=ts, observed_ts=ts, service=service, source="t", message=message, raw=message,
                  level=level, template_id=template)  # fmt: skip


class Clock:
    """The engine's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class Harness:
    """An engine with its notifications captured."""

    def __init__(
        self, rules: list[dict[str, Any]], store: DuckDBStore | None = None, **settings: Any
    ) -> None:
        self.sent: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.changes: list[tuple[str, dict[str, Any]]] = []
        self.clock = Clock()
        self.settings = AlertSettings(
            rules=tuple(parse_rule(r) for r in rules), **({"group_wait_ns": 0} | settings)
        )
        self.engine = AlertEngine(
            self.settings,
            AlertLedger(store),
            lambda ch, n: self.sent.append((tuple(ch), n)),
            channels=("ops", "pager"),
            on_change=lambda what, a: self.changes.append((what, a)),
            wall=self.clock,
        )

    def events(self) -> list[str]:
        return [n["event"] for _, n in self.sent]


class TestRules:
    def test_every_kind_has_an_evaluator(self) -> None:
        """Each rule kind the parser accepts is evaluated by one registered evaluator."""
        assert set(EVALUATORS) == set(RULE_KINDS)

    def test_every_kind_is_documented(self) -> None:
        """docs/alerts.md has a row for each rule kind (the reference users read)."""
        doc = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text()
        assert all(f"| `{kind}` |" in doc for kind in RULE_KINDS)

    def test_unknown_key_names_the_known_ones(self) -> None:
        """A typo in a rule is refused with the keys that kind does take."""
        with pytest.raises(RuleError, match=r"has no windw; known: .*window"):
            parse_rule({"name": "x", "type": "threshold", "threshold": 3, "windw": "5m"})

    def test_bad_query_and_regex_are_refused(self) -> None:
        """A query or regex that does not parse is an error at load time, not a silent non-match."""
        with pytest.raises(RuleError, match="query"):
            parse_rule({"name": "x", "type": "threshold", "threshold": 3, "query": "level:>=nonsense"})
        with pytest.raises(RuleError, match="does not compile"):
            parse_rule({"name": "x", "type": "match", "regex": "("})

    def test_duplicate_names_and_unknown_channels_in_config(self) -> None:
        """Two rules with one name, or a rule naming a channel nobody defined, fail the config."""
        with pytest.raises(ConfigError, match="already named"):
            parse_rules([{"name": "a", "type": "new_template"}, {"name": "a", "type": "new_template"}], "f")
        with pytest.raises(ConfigError, match="names channel 'pager'"):
            parse_alerts({"rules": [{"name": "a", "type": "new_template", "channels": ["pager"]}]}, "f")

    def test_default_rule_until_rules_are_given(self) -> None:
        """With no rules at all, every incident is an alert; `rules = []` means none."""
        assert [r.name for r in parse_alerts({}, "f").rules] == ["incidents"]
        assert parse_alerts({"rules": []}, "f").rules == ()
        assert [
            r.name for r in parse_alerts({"rules": [{"name": "x", "type": "new_template"}]}, "f").rules
        ] == ["x"]

    def test_round_trip_through_json(self) -> None:
        """A rule's JSON (as the API shows it) parses back to the same rule."""
        rule = parse_rule({"name": "t", "type": "threshold", "query": "level:>=error", "window": "2m",
                           "threshold": 5, "labels": {"team": "db"}, "context": 2})  # fmt: skip
        assert parse_rule(rule.to_json()) == rule


class TestKinds:
    def test_match_dedups_repeats_into_one_alert(self) -> None:
        """Forty matching lines in one service make one alert counting 40, told once."""
        h = Harness([{"name": "oom", "type": "match", "regex": "oom-killer"}])
        for i in range(4):
            h.engine.observe([rec(i * 10 + j, "kernel", "python3 invoked oom-killer: x") for j in range(10)])
            h.engine.tick()
        assert len(h.engine.active) == 1
        alert = next(iter(h.engine.active.values()))
        assert alert.count == 40
        assert h.events() == ["opened"]

    def test_template_by_text_with_wildcards(self) -> None:
        """A match rule given a template's text matches its lines, whatever fills the `<*>`."""
        h = Harness([{"name": "slow", "type": "match", "template": "query took <*> ms"}])
        h.engine.observe([rec(1, message="query took 12 ms"), rec(2, message="query was fine")])
        assert [a.count for a in h.engine.active.values()] == [1]

    def test_threshold_opens_once_and_clears(self) -> None:
        """A count over its bound in the window opens one alert; once the window empties, it resolves."""
        h = Harness([{"name": "errs", "type": "threshold", "query": "level:>=error", "window": "1m",
                      "threshold": 5, "op": ">="}])  # fmt: skip
        h.engine.observe([rec(i, level=Level.ERROR, message="boom") for i in range(4)])
        assert not h.engine.active
        h.engine.observe(
            [rec(5, level=Level.ERROR, message="boom"), rec(6, level=Level.ERROR, message="boom")]
        )
        assert len(h.engine.active) == 1
        h.engine.observe([rec(90, message="fine")])
        h.engine.tick(T0 + 200 * SECOND)
        assert not h.engine.active
        assert [w for w, _ in h.changes] == ["opened", "resolved"]

    def test_new_template_once_per_template(self) -> None:
        """A template not seen before opens an alert once; known ones (from the store) do not."""
        h = Harness([{"name": "new", "type": "new_template", "level": "error"}])
        h.engine._evaluators["new"].known.add("api-1")  # type: ignore[attr-defined]
        h.engine.observe(
            [
                rec(1, level=Level.ERROR, template="api-1"),
                rec(2, level=Level.ERROR, template="api-2"),
                rec(3, level=Level.ERROR, template="api-2"),
                rec(4, level=Level.INFO, template="api-3"),
            ]
        )
        assert sorted(a.detail["template_id"] for a in h.engine.active.values()) == ["api-2"]

    def test_absence_after_being_heard(self) -> None:
        """A service quiet for the window is absent; its next line resolves the alert."""
        h = Harness([{"name": "quiet", "type": "absence", "service": "db", "window": "5m"}])
        h.engine.observe([rec(0, "db")])
        h.engine.tick(T0 + 4 * MINUTE)
        assert not h.engine.active
        h.engine.tick(T0 + 6 * MINUTE)
        assert [a.rule for a in h.engine.active.values()] == ["quiet"]
        h.engine.observe([rec(7 * 60, "db")])
        assert not h.engine.active

    def test_incident_at_severity_and_its_close(self) -> None:
        """An incident at or above the rule's severity opens one alert; its close resolves it."""
        h = Harness([{"name": "inc", "type": "incident", "min_severity": "critical"}])
        incident = {
            "id": "inc-1",
            "severity": "critical",
            "services": ["db", "api"],
            "start": "2026-11-21T00:00:00.000Z",
            "root_cause": {"service": "db", "template": "deadlock detected"},
        }
        h.engine.on_event({"type": "incident", "state": "opened", "incident": incident})
        h.engine.on_event({"type": "incident", "state": "opened", "incident": incident})
        assert [a.labels["service"] for a in h.engine.active.values()] == ["db"]
        h.engine.on_event({"type": "incident", "state": "closed", "incident": incident})
        assert not h.engine.active
        weak = incident | {"id": "inc-2", "severity": "warning"}
        h.engine.on_event({"type": "incident", "state": "opened", "incident": weak})
        assert not h.engine.active

    def test_anomaly_filters(self) -> None:
        """Only anomalies at the severity and of the kinds asked for raise alerts."""
        h = Harness([{"name": "bursts", "type": "anomaly", "min_severity": "warning", "kinds": ["burst"]}])
        base = {"service": "api", "start": "2026-11-21T00:00:00.000Z", "detail": "x", "template_id": "api-3"}
        h.engine.on_event({"type": "anomaly", "anomaly": base | {"kind": "burst", "severity": "critical"}})
        h.engine.on_event({"type": "anomaly", "anomaly": base | {"kind": "burst", "severity": "info"}})
        h.engine.on_event(
            {"type": "anomaly", "anomaly": base | {"kind": "volume_dip", "severity": "critical"}}
        )
        assert len(h.engine.active) == 1


class TestNotifications:
    def test_group_wait_gathers_one_notification(self) -> None:
        """Alerts of one group opened within group_wait go out together, after it."""
        h = Harness(
            [{"name": "m", "type": "match", "regex": "fail", "group_by": ["rule"]}], group_wait_ns=30 * SECOND
        )
        h.engine.observe([rec(1, "api", "fail"), rec(2, "db", "fail")])
        h.engine.tick()
        assert h.sent == []
        h.clock.now += 31 * SECOND
        h.engine.tick()
        assert len(h.sent) == 1
        assert sorted(a["labels"]["service"] for a in h.sent[0][1]["alerts"]) == ["api", "db"]

    def test_throttle_caps_notifications_per_group(self) -> None:
        """At most `throttle` notifications per group per window; the rest are counted, not sent."""
        h = Harness([{"name": "m", "type": "match", "regex": "fail", "group_by": ["rule"]}], throttle=2)
        for i, service in enumerate(["a", "b", "c", "d"]):
            h.engine.observe([rec(i, service, "fail")])
            h.engine.tick()
        assert len(h.sent) == 2
        assert h.engine.counts["throttled"] == 2
        h.clock.now += 11 * MINUTE
        h.engine.observe([rec(10, "e", "fail")])
        h.engine.tick()
        assert len(h.sent) == 3

    def test_silence_mutes_but_keeps_the_alert(self) -> None:
        """A silenced alert is opened and counted but not sent; once the silence ends, others are."""
        h = Harness([{"name": "m", "type": "match", "regex": "fail"}])
        silence = h.engine.silence({"service": "~a.*"}, 10 * MINUTE, "ann", "maintenance")
        h.engine.observe([rec(1, "api", "fail"), rec(2, "db", "fail")])
        h.engine.tick()
        assert sorted(a.labels["service"] for a in h.engine.active.values()) == ["api", "db"]
        assert [a["labels"]["service"] for _, n in h.sent for a in n["alerts"]] == ["db"]
        assert h.engine.unsilence(silence.id)

    def test_escalation_until_acknowledged(self) -> None:
        """Unacknowledged, the alert goes to the next channel each escalate_after; acknowledged, no more."""
        h = Harness([{"name": "m", "type": "match", "regex": "fail", "channels": ["ops"],
                      "escalate_to": ["pager", "ops"], "escalate_after": "10m"}])  # fmt: skip
        h.engine.observe([rec(1, "api", "fail")])
        h.engine.tick()
        h.clock.now += 11 * MINUTE
        h.engine.tick()
        assert [(ch, n["event"]) for ch, n in h.sent] == [(("ops",), "opened"), (("pager",), "escalated")]
        alert = next(iter(h.engine.active.values()))
        h.engine.acknowledge(alert.id, "bob")
        h.clock.now += 30 * MINUTE
        h.engine.tick()
        assert len(h.sent) == 2
        assert alert.state == "acknowledged" and alert.acked_by == "bob"

    def test_resolve_tells_who_was_told(self) -> None:
        """Resolving a notified alert sends `resolved`; resolving an unknown id is an error."""
        h = Harness([{"name": "m", "type": "match", "regex": "fail"}])
        h.engine.observe([rec(1, "api", "fail")])
        h.engine.tick()
        alert_id = next(iter(h.engine.active.values())).id
        h.engine.resolve(alert_id, "alice")
        h.engine.tick()
        assert h.events() == ["opened", "resolved"]
        with pytest.raises(UnknownAlertError):
            h.engine.resolve("999")

    def test_repeat_after_interval(self) -> None:
        """A still-open alert that keeps firing is told again only after repeat_interval."""
        h = Harness([{"name": "m", "type": "match", "regex": "fail", "resolve_after": "1d"}],
                    repeat_interval_ns=60 * MINUTE)  # fmt: skip
        h.engine.observe([rec(1, "api", "fail")])
        h.engine.tick()
        h.clock.now += 10 * MINUTE
        h.engine.observe([rec(600, "api", "fail")])
        h.engine.tick()
        h.clock.now += 61 * MINUTE
        h.engine.observe([rec(4000, "api", "fail")])
        h.engine.tick()
        assert h.events() == ["opened", "repeated"]

    def test_context_lines_around_the_first_match(self) -> None:
        """The alert carries `context` lines of its service before and after its first evidence line,
        the after-lines gathered from later batches too."""
        h = Harness(
            [{"name": "m", "type": "match", "regex": "fail", "context": 2}], group_wait_ns=60 * SECOND
        )
        h.engine.observe([rec(1, "api", "b1"), rec(2, "db", "other"), rec(3, "api", "b2")])
        h.engine.observe([rec(4, "api", "b3"), rec(5, "api", "fail"), rec(6, "api", "a1")])
        h.engine.observe([rec(7, "db", "x"), rec(8, "api", "a2"), rec(9, "api", "a3")])
        alert = next(iter(h.engine.active.values()))
        assert [line["message"] for line in alert.context["before"]] == ["b2", "b3"]
        assert [line["message"] for line in alert.context["after"]] == ["a1", "a2"]


class TestStored:
    def test_history_and_restart(self, tmp_path: Path) -> None:
        """Alerts, their history and silences are stored; a new engine on the store picks up the open
        alert, so a repeat after a restart is still one alert."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        try:
            rules = [{"name": "m", "type": "match", "regex": "fail", "resolve_after": "1d"}]
            h = Harness(rules, store)
            h.engine.observe([rec(1, "api", "fail")])
            h.engine.tick()
            h.engine.silence({"service": "db"}, 60 * MINUTE, None, "")
            alert_id = next(iter(h.engine.active.values())).id
            h.engine.flush()
            again = Harness(rules, store)
            again.engine.observe([rec(5, "api", "fail")])
            again.engine.flush()
            assert [a.id for a in again.engine.active.values()] == [alert_id]
            assert again.engine.active_silences()[0].matchers == {"service": "db"}
            found = again.engine.alert_json(alert_id)
            assert found["count"] == 2
            assert [step["kind"] for step in found["history"]] == ["opened"]
        finally:
            store.close()

    def test_api_rules_are_stored(self, tmp_path: Path) -> None:
        """A rule put through the engine is stored and read back by the next one; config rules cannot be
        deleted that way."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        try:
            h = Harness([{"name": "cfg", "type": "new_template"}], store)
            h.engine.put_rule(AlertRule(name="api-rule", kind="match", regex="x"))
            again = Harness([{"name": "cfg", "type": "new_template"}], store)
            assert set(again.engine.rules) == {"cfg", "api-rule"}
            assert not again.engine.delete_rule("cfg")
            assert again.engine.delete_rule("api-rule")
        finally:
            store.close()
