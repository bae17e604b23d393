"""`loglens anomalies`, `incidents`, `explain` and `summary` over a real store made by `loglens ingest`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import incident_scenario as scenario
from conftest import LoglensCli
from loglens.formats.timestamp import to_iso_ms


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("watch")
    logs = scenario.write_jsonl(folder / "app.jsonl")
    path = str(folder / "s.duckdb")
    LoglensCli.run("ingest", "--store", path, str(logs))
    return path


class TestIncidents:
    def test_json_contract(self, store: str) -> None:
        """`incidents --json` is an array of incidents with the documented keys and the db cause."""
        found = json.loads(LoglensCli.run("incidents", "--store", store, "--json").stdout)
        assert len(found) == 1
        (incident,) = found
        assert {
            "id",
            "start",
            "end",
            "detected_at",
            "severity",
            "services",
            "root_cause",
            "candidates",
            "anomalies",
        } <= incident.keys()
        assert set(incident["root_cause"]) >= {
            "service",
            "template_id",
            "template",
            "first_event_ts",
            "confidence",
        }
        assert incident["root_cause"]["service"] == "db"
        assert "deadlock detected" in incident["root_cause"]["template"]
        start = to_iso_ms(scenario.START_NS + scenario.INCIDENT_MINUTE * 60 * 10**9)
        assert incident["start"].startswith(start[:16])
        assert {"kind", "service", "start", "end", "severity", "detail"} <= incident["anomalies"][0].keys()

    def test_since_after_everything_is_empty(self, store: str) -> None:
        """A range after the data holds no incident."""
        out = LoglensCli.run("incidents", "--store", store, "--since", "2099-01-01T00:00:00Z").stdout
        assert out.strip() == "no incidents"

    def test_explain(self, store: str) -> None:
        """`explain` shows the ranked causes, the evidence lines and context around the first sign."""
        (incident,) = json.loads(LoglensCli.run("incidents", "--store", store, "--json").stdout)
        text = LoglensCli.run("explain", "--store", store, incident["id"]).stdout
        assert "Likely root cause: db" in text
        assert "deadlock detected on relation" in text
        assert "Context around the first sign (db)" in text
        found = json.loads(LoglensCli.run("explain", "--store", store, incident["id"], "--json").stdout)
        assert len(found["context"]["before"]) == 5 and len(found["context"]["after"]) == 5
        assert found["evidence"][0]["service"] == "db"

    def test_explain_unknown(self, store: str) -> None:
        """An unknown id is a one-line error naming the known ones."""
        result = LoglensCli.run("explain", "--store", store, "inc-nope", check=False)
        assert result.returncode == 1 and "no incident 'inc-nope'" in result.stderr


class TestAnomalies:
    def test_json(self, store: str) -> None:
        """`anomalies --json` lists the db error burst as critical, and nothing before the incident."""
        found = json.loads(LoglensCli.run("anomalies", "--store", store, "--json").stdout)
        assert any(
            a["service"] == "db" and a["kind"] == "template_burst" and a["severity"] == "critical"
            for a in found
        )
        first = to_iso_ms(scenario.START_NS + scenario.INCIDENT_MINUTE * 60 * 10**9)
        assert min(a["start"] for a in found) >= first


class TestSummary:
    def test_health(self, store: str) -> None:
        """Health follows the stated formula from the figures it prints."""
        found = json.loads(LoglensCli.run("summary", "--store", store, "--json").stdout)
        by_service = {s["service"]: s for s in found}
        assert set(by_service) == {"web", "db"}
        for s in found:
            expected = 100 - 5 * s["error_templates"] - 10 * s["anomalies"] - 3 * s["restarts"]
            assert s["health"] == max(0, min(100, expected))
        assert by_service["db"]["error_templates"] == 1 and by_service["db"]["levels"]["error"] == 150
        assert by_service["db"]["last_error"]["message"].startswith("deadlock detected")
        assert by_service["db"]["health"] < 100

    def test_text(self, store: str) -> None:
        """The text summary names each service with its health."""
        out = LoglensCli.run("summary", "--store", store, "--service", "web").stdout
        assert out.startswith("web") and "health" in out
        assert not [line for line in out.splitlines() if line.startswith("db")]


def test_restart_rule() -> None:
    """Start and restart lines count as restarts; ordinary lines do not."""
    from loglens.analysis.summary import is_restart

    assert is_restart("Started BillingApplication in <*> seconds (process running for <*>)")
    assert is_restart("Restarting worker pool after unexpected exit (restart <*> of <*>)")
    assert is_restart("<*> ready.")
    assert not is_restart("GET /api/items/<*> 200 in <*>ms")


def test_paths_are_real(store: str) -> None:
    """The fixture's store is a real DuckDB file on disk."""
    assert Path(store).stat().st_size > 0


def test_context_keeps_lines_of_the_same_second(tmp_path: Path) -> None:
    """Context around a line includes its neighbours stamped in the same second (syslog has no
    sub-second stamps), in file order."""
    from loglens.analysis.detectors import Anomaly
    from loglens.analysis.explain import explain_incident
    from loglens.analysis.incidents import Incident
    from loglens.record import Level, Record
    from loglens.store.duckdb import DuckDBStore

    t = scenario.START_NS
    store = DuckDBStore(tmp_path / "c.duckdb")
    store.write(
        [
            Record(ts=t, observed_ts=t, service="sshd", source="a", message=f"line {i}", raw=f"line {i}")
            for i in range(7)
        ]
    )
    (anchor_record,) = store.search("message = ?", ["line 3"], 1)
    anchor_id = anchor_record.id
    anomaly = Anomaly(
        "new_template", "sshd", t, t + 60 * 10**9, t, "critical", 9.0, "", "x", Level.ERROR, anchor_id, t
    )
    found = explain_incident(store, Incident(t, [anomaly]), {}, context=2)
    store.close()
    assert [r["message"] for r in found["context"]["before"]] == ["line 1", "line 2"]
    assert found["context"]["anchor"]["message"] == "line 3"
    assert [r["message"] for r in found["context"]["after"]] == ["line 4", "line 5"]
