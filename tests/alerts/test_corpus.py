"""End to end on the shared generator's default scenario (100k lines, 4 injected incidents): each
incident raises exactly one alert per rule that matches it, and the incident alert's explanation
names the right signature and root-cause service. The rules run in the engine the daemon runs,
fed the stored records in order (`loglens alerts test`)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pytest

from conftest import shared_dir
from loglens.ai.explain import explain_offline
from loglens.ai.kb import all_signatures
from loglens.alerts.replay import RuleReplay, replay_rules
from loglens.alerts.rules import parse_rule
from loglens.analysis.explain import explain_view
from loglens.config import Config
from loglens.formats.timestamp import from_iso_ms
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore

RULES = [
    {"name": "incidents", "type": "incident", "min_severity": "warning", "severity": "critical"},
    {"name": "oom", "type": "match", "regex": r"invoked oom-killer|Out of memory: Killed process"},
    {"name": "deadlocks", "type": "match", "regex": "deadlock detected", "severity": "error"},
    {"name": "ssh-guessing", "type": "threshold", "query": 'service:sshd "Failed password"', "window": "1m",
     "threshold": 20},
    {"name": "queue-storm", "type": "threshold", "query": "service:queue level:debug", "window": "1m",
     "threshold": 150},
]  # fmt: skip
RULE_FOR = {"ssh_brute_force": "ssh-guessing", "causal_chain": "deadlocks", "oom_kill": "oom",
            "log_storm": "queue-storm"}  # fmt: skip
SIGNATURE_FOR = {"ssh_brute_force": "brute-force-login", "causal_chain": "deadlock", "oom_kill": "oom-kill",
                 "log_storm": "log-storm"}  # fmt: skip
ROOT_SERVICE = {"auth": "sshd"}
"""truth.json names the file's service (auth.log); loglens names syslog lines by their program."""
SLACK_NS = 5 * 60 * 10**9


@dataclass
class Corpus:
    truth: dict[str, Any]
    replay: RuleReplay
    explanations: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    gen = shared_dir() / "bench" / "gen_corpus.py"
    if not gen.exists():
        pytest.skip(f"{gen} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    root = tmp_path_factory.mktemp("alerts-corpus")
    subprocess.run([sys.executable, str(gen), "--lines", "100000", "--seed", "42", "--out", str(root / "c"),
                    "--quiet", "--jobs", "2"], check=True)  # fmt: skip
    config = Config(timezone=UTC)
    store = DuckDBStore(root / "s.duckdb")
    try:
        Ingestor(store, config).ingest_paths([str(root / "c")])
    finally:
        store.close()
    store = DuckDBStore(root / "s.duckdb", read_only=True)  # as `loglens alerts test` opens it
    try:
        replayed = replay_rules(store, config, [parse_rule(r) for r in RULES])
        explanations = {}
        for alert in replayed.alerts:
            if alert["rule"] == "incidents":
                found = explain_view(store, config, alert["labels"]["incident"], 3)
                explanations[alert["id"]] = explain_offline(store, found, all_signatures(store))
    finally:
        store.close()
    return Corpus(json.loads((root / "c" / "truth.json").read_text()), replayed, explanations)


def overlapping(alerts: list[dict[str, Any]], incident: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts whose span meets the incident's (give or take a few minutes of detection)."""
    start, end = from_iso_ms(incident["start"]) - SLACK_NS, from_iso_ms(incident["end"]) + SLACK_NS
    return [a for a in alerts if from_iso_ms(a["first_ts"]) <= end and from_iso_ms(a["last_ts"]) >= start]


class TestDefaultScenario:
    def test_one_incident_alert_per_incident(self, scenario: Corpus) -> None:
        """The incident rule raises exactly one alert per injected incident, and no other."""
        raised = [a for a in scenario.replay.alerts if a["rule"] == "incidents"]
        assert len(raised) == len(scenario.truth["incidents"]) == 4
        for incident in scenario.truth["incidents"]:
            assert len(overlapping(raised, incident)) == 1, incident["id"]

    def test_one_alert_per_matching_rule(self, scenario: Corpus) -> None:
        """Each incident's own rule raises exactly one alert in its span (repeats are its count)."""
        for incident in scenario.truth["incidents"]:
            rule = RULE_FOR[incident["kind"]]
            mine = [a for a in scenario.replay.alerts if a["rule"] == rule]
            assert len(overlapping(mine, incident)) == 1, (incident["id"], rule, mine)
        deadlocks = next(a for a in scenario.replay.alerts if a["rule"] == "deadlocks")
        assert deadlocks["count"] > 1 and deadlocks["labels"]["service"] == "billing"

    def test_rules_stay_quiet_outside_their_incident(self, scenario: Corpus) -> None:
        """The specific rules raise nothing outside the incident they are written for."""
        for kind, rule in RULE_FOR.items():
            incident = next(i for i in scenario.truth["incidents"] if i["kind"] == kind)
            mine = [a for a in scenario.replay.alerts if a["rule"] == rule]
            assert len(mine) == len(overlapping(mine, incident)) == 1, (rule, mine)

    def test_explanation_names_signature_and_root_cause(self, scenario: Corpus) -> None:
        """Each incident alert's offline explanation cites the right signature and root-cause service."""
        raised = [a for a in scenario.replay.alerts if a["rule"] == "incidents"]
        for incident in scenario.truth["incidents"]:
            (alert,) = overlapping(raised, incident)
            explained = scenario.explanations[alert["id"]]
            root = ROOT_SERVICE.get(incident["root_cause_service"], incident["root_cause_service"])
            assert explained["root_cause"]["service"] == root, incident["id"]
            assert explained["signature"]["id"] == SIGNATURE_FOR[incident["kind"]], incident["id"]
            assert explained["fix"], incident["id"]

    def test_context_lines_carried(self, scenario: Corpus) -> None:
        """A match alert carries its evidence and the lines of its service around it."""
        oom = next(a for a in scenario.replay.alerts if a["rule"] == "oom")
        assert (
            "oom-killer" in oom["evidence"][0]["message"] or "Out of memory" in oom["evidence"][0]["message"]
        )
        assert len(oom["context"]["before"]) == 3 and len(oom["context"]["after"]) == 3
        assert {line["service"] for line in oom["context"]["before"] + oom["context"]["after"]} == {"kernel"}
