"""The read views through the daemon: `anomalies`, `summary`, `explain`, `diff` and `metrics` print the
same bytes (and the same errors) through a running `loglens up` as from the store, and their endpoints
answer the documented JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import incident_scenario as scenario
from conftest import run_loglens
from daemon_helpers import Up
from loglens.formats.timestamp import to_iso_ms

METRICS = """
[[metrics]]
name = "errors"
query = "level:>=error"
window = "5m"
group_by = "service"

[[metrics]]
name = "db_rate"
query = "service:db"
aggregate = "rate"
window = "10m"
mode = "sliding"
step = "5m"
"""

SPLIT = to_iso_ms(scenario.START_NS + scenario.INCIDENT_MINUTE * scenario.MINUTE)
"""Where build A (before the incident) ends and build B begins."""
ERRORS = ("explain unknown", "diff mix", "diff empty side", "diff bad range", "metrics unknown")
MIX_SENTENCE = (
    "give two time ranges (--a START..END --b START..END) or two sources "
    "(--a-source PATH --b-source PATH), not a mix"
)


def invocations(incident_id: str) -> dict[str, list[str]]:
    """Each command line to compare, by a name for the assertion messages."""
    diff = ["diff", "--a", f"..{SPLIT}", "--b", f"{SPLIT}.."]
    return {
        "anomalies": ["anomalies"],
        "anomalies --json": ["anomalies", "--json"],
        "anomalies info db": ["anomalies", "--min-severity", "info", "--service", "db"],
        "summary": ["summary"],
        "summary --json": ["summary", "--json"],
        "summary web since": ["summary", "--service", "web", "--since", SPLIT],
        "explain": ["explain", incident_id],
        "explain --json": ["explain", incident_id, "--json"],
        "explain --context 2": ["explain", incident_id, "--context", "2"],
        "explain --context 2 --json": ["explain", incident_id, "--context", "2", "--json"],
        "diff": diff,
        "diff --json": [*diff, "--json"],
        "diff top 1 db": [*diff, "--top", "1", "--service", "db"],
        "diff by source": ["diff", "--a-source", "*", "--b-source", "*scenario*"],
        "metrics": ["metrics"],
        "metrics --json": ["metrics", "--json"],
        "metrics one since": ["metrics", "db_rate", "--since", SPLIT],
        # ERRORS: the same sentence and exit code either way
        "explain unknown": ["explain", "inc-nope"],
        "diff mix": ["diff", "--a", "1h..", "--b-source", "x"],
        "diff empty side": ["diff", "--a", "2020-01-01T00:00:00Z..2020-01-02T00:00:00Z", "--b", f"{SPLIT}.."],
        "diff bad range": ["diff", "--a", "yesterday", "--b", f"{SPLIT}.."],
        "metrics unknown": ["metrics", "nope"],
    }


@dataclass(frozen=True)
class Ran:
    """What one command printed and how it exited."""

    code: int
    out: str
    err: str


@dataclass
class Views:
    """Every invocation run through the daemon and then from the store, and the API's answers."""

    incident_id: str
    through: dict[str, Ran] = field(default_factory=dict)
    direct: dict[str, Ran] = field(default_factory=dict)
    api: dict[str, Any] = field(default_factory=dict)


def run_all(folder: Path, commands: dict[str, list[str]]) -> dict[str, Ran]:
    """Runs the command lines side by side (each is mostly interpreter start-up)."""

    def one(args: Sequence[str]) -> Ran:
        done = run_loglens(
            *args, "--store", str(folder / "s.duckdb"), "--config", str(folder / "loglens.toml"), check=False
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(commands, pool.map(one, commands.values()), strict=True))


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> Views:
    """One daemon for the module: the incident scenario pushed to it, every view asked through it
    and over HTTP; then the daemon stops and every view is asked of the store itself."""
    folder = tmp_path_factory.mktemp("views")
    log = scenario.write_jsonl(folder / "scenario.jsonl")
    daemon = Up(folder, METRICS)
    try:
        pushed = daemon.client.post(
            "/ingest", params={"format": "json", "source": str(log)}, content=log.read_bytes()
        )
        assert pushed.status_code == 200, pushed.text
        incident_id = daemon.client.get("/api/incidents").json()[0]["id"]
        found = Views(incident_id)
        found.through = run_all(folder, invocations(incident_id))
        get = daemon.client.get
        found.api = {
            "summary": get("/api/summary").json(),
            "explain": get(f"/api/incidents/{incident_id}/explain", params={"context": 2}).json(),
            "explain unknown": get("/api/incidents/inc-nope/explain"),
            "diff": get("/api/diff", params={"a": f"..{SPLIT}", "b": f"{SPLIT}..", "top": 1}).json(),
            "diff relative": get("/api/diff", params={"a": "18000d..", "b": "17999d.."}).json(),
            "diff mix": get("/api/diff", params={"a": "1h..", "b_source": "x"}),
            "metrics": get("/api/metrics/series").json(),
            "metrics one": get("/api/metrics/series", params={"name": "db_rate"}).json(),
            "metrics unknown": get("/api/metrics/series", params={"name": "nope"}),
            "openapi": get("/openapi.json").json(),
        }
    finally:
        daemon.stop()
    found.direct = run_all(folder, invocations(incident_id))
    return found


class TestSameOutputThroughTheDaemon:
    @pytest.mark.parametrize("name", list(invocations("any")))
    def test_same_bytes_and_exit_code(self, views: Views, name: str) -> None:
        """A view (text, --json, options, or an error) prints the same through the daemon as from
        the store, with the same exit code."""
        assert views.through[name] == views.direct[name]

    def test_the_views_show_the_incident(self, views: Views) -> None:
        """The compared outputs are the real thing: the incident's anomalies, services and cause."""
        direct = views.direct
        assert all(ran.code == 0 for name, ran in direct.items() if name not in ERRORS)
        assert "template_burst" in direct["anomalies"].out
        assert direct["summary"].out.startswith(("web", "db")) and "health" in direct["summary"].out
        assert "Likely root cause: db" in direct["explain"].out
        assert "New in B (" in direct["diff"].out and "deadlock detected" in direct["diff"].out
        assert direct["metrics"].out.startswith("errors: count where level:>=error")
        assert "db_rate: rate (records/s) where service:db" in direct["metrics"].out

    def test_errors_say_the_same(self, views: Views) -> None:
        """An unknown incident or metric, a mix of range and source, an empty side and an unreadable
        range each fail with their one sentence whichever way the command went."""
        through = views.through
        assert through["explain unknown"].code == 1
        assert through["explain unknown"].err.startswith("loglens: no incident 'inc-nope'; the latest are: ")
        assert through["diff mix"].code == 2 and MIX_SENTENCE in through["diff mix"].err
        assert through["diff empty side"].code == 1 and "matched no records" in through["diff empty side"].err
        assert through["diff bad range"].code == 1 and "yesterday" in through["diff bad range"].err
        assert through["metrics unknown"].code == 1
        assert "no metric named 'nope'" in through["metrics unknown"].err


class TestEndpoints:
    def test_summary(self, views: Views) -> None:
        """/api/summary is `summary --json`: per service its figures, busiest first."""
        answer = views.api["summary"]
        assert answer == json.loads(views.direct["summary --json"].out)
        assert {s["service"] for s in answer} == {"web", "db"}
        assert set(answer[0]) == {
            "service", "total", "levels", "error_templates", "anomalies", "restarts", "health",
            "last_error", "top_patterns",
        }  # fmt: skip

    def test_explain(self, views: Views) -> None:
        """/api/incidents/{id}/explain is `explain --json`; an unknown id is a 404 with the CLI's
        sentence."""
        answer = views.api["explain"]
        assert answer == json.loads(views.direct["explain --context 2 --json"].out)
        assert answer["id"] == views.incident_id and answer["root_cause"]["service"] == "db"
        assert len(answer["context"]["before"]) == 2 and answer["evidence"]
        missing = views.api["explain unknown"]
        assert missing.status_code == 404
        assert "loglens: " + missing.json()["detail"] + "\n" == views.direct["explain unknown"].err

    def test_diff(self, views: Views) -> None:
        """/api/diff is `diff --json` plus `totals` (each list before `top`); relative ranges share one
        `now`; a mix of range and source is a 400 with the usage sentence."""
        answer = views.api["diff"]
        assert list(answer) == ["a", "b", "new", "gone", "changed", "levels", "totals"]
        assert answer["a"]["until"] == answer["b"]["since"] == SPLIT
        assert len(answer["new"]) == 1 and answer["totals"]["new"] >= 1
        full = json.loads(views.direct["diff --json"].out)
        assert answer["new"] == full["new"][:1] and answer["totals"]["new"] == len(full["new"])
        relative = views.api["diff relative"]
        day_ms = 86_400_000
        since_a, since_b = (_ms(relative[side]["since"]) for side in ("a", "b"))
        assert since_b - since_a == day_ms and relative["a"]["records"] == relative["b"]["records"]
        mix = views.api["diff mix"]
        assert mix.status_code == 400 and mix.json()["error"] == MIX_SENTENCE

    def test_metrics(self, views: Views) -> None:
        """/api/metrics/series: per rule of the daemon's loglens.toml its name, description, grouping
        and the points `metrics --json` prints; a name that is not a metric is a 400."""
        answer = views.api["metrics"]
        assert [(s["rule"], s["group_by"]) for s in answer] == [("errors", "service"), ("db_rate", None)]
        assert answer[0]["description"] == "count where level:>=error per 5m tumbling window by service"
        points = [json.loads(line) for line in views.direct["metrics --json"].out.splitlines()]
        assert [p for s in answer for p in s["points"]] == points
        assert [s["rule"] for s in views.api["metrics one"]] == ["db_rate"]
        unknown = views.api["metrics unknown"]
        assert unknown.status_code == 400 and "no metric named 'nope'" in unknown.json()["error"]

    def test_documented_in_openapi(self, views: Views) -> None:
        """Every new endpoint is in /openapi.json with a summary, a description and its parameters."""
        paths = views.api["openapi"]["paths"]
        for path, params in (
            ("/api/summary", {"service", "since", "until"}),
            ("/api/incidents/{incident_id}/explain", {"incident_id", "context"}),
            ("/api/diff", {"a", "b", "a_source", "b_source", "service", "top"}),
            ("/api/metrics/series", {"name", "since", "until"}),
        ):
            operation = paths[path]["get"]
            assert operation["summary"] and operation["description"]
            assert {p["name"] for p in operation["parameters"]} == params


def _ms(iso: str) -> int:
    """An ISO time as ms since the epoch, exactly."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
