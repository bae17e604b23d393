"""The daemon's /api/kb, /api/ask and /api/search/semantic on a real `loglens up`, and the CLI's
`search --semantic` and `ask` going through it while it holds the store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import LoglensCli
from daemon_helpers import Up

LINES = [
    ("kernel", "error", "Out of memory: Killed process 4242 (java) total-vm:9383104kB, anon-rss:7651012kB"),
    ("db", "error", "could not extend file base/16384/2619: No space left on device"),
    ("web", "warning", "x509: certificate has expired or is not yet valid: current time is after 2026-11-20"),
    ("web", "info", "GET /index.html 200 12ms"),
    ("sshd", "info", "Failed password for invalid user admin from 203.0.113.9 port 52344 ssh2"),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    up = Up(tmp_path_factory.mktemp("knowledge"), "")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    body = "\n".join(
        json.dumps({"time": now, "service": svc, "level": lvl, "message": msg}) for svc, lvl, msg in LINES * 3
    )
    assert (
        up.client.post("/ingest", content=body, headers={"Content-Type": "application/x-ndjson"}).status_code
        == 200
    )
    deadline = time.monotonic() + 20
    while up.client.get("/api/logs", params={"limit": 0}).json()["count"] < len(LINES) * 3:
        assert time.monotonic() < deadline, "the pushed lines were not stored"
        time.sleep(0.1)
    yield up
    up.stop()


class TestKnowledgeApi:
    def test_signatures_and_unknown_incident(self, daemon: Up) -> None:
        """The built-in library is listed; learning from an incident that does not exist is a 404."""
        found = daemon.client.get("/api/kb/signatures").json()
        assert {"oom-kill", "disk-full", "brute-force-login"} <= {s["id"] for s in found}
        assert all(s["source"] == "builtin" and s["fix"] for s in found)
        answer = daemon.client.post("/api/kb/signatures", json={"incident_id": "inc-nope", "fix": "x"})
        assert answer.status_code == 404 and "no incident" in answer.json()["detail"]

    def test_ask(self, daemon: Up) -> None:
        """A question is answered from the pushed lines; an empty one is refused."""
        found = daemon.client.get(
            "/api/ask", params={"q": "any disk space problems in the last hour?"}
        ).json()
        assert [r["service"] for r in found["records"]] == ["db"] * 3
        assert daemon.client.get("/api/ask", params={"q": ""}).status_code == 422

    def test_semantic_search_and_the_cli_through_the_daemon(self, daemon: Up, tmp_path: Path) -> None:
        """By meaning: "storage exhausted" finds the ENOSPC template, via the API and via the CLI."""
        pytest.importorskip("onnxruntime", reason="the semantic extra is not installed")
        found = daemon.client.get("/api/search/semantic", params={"q": "storage is exhausted", "k": 3}).json()
        assert found["hits"][0]["service"] == "db" and "No space left" in found["hits"][0]["template"]
        assert {r["svc"] for r in found["records"]} <= {h["service"] for h in found["hits"]}
        out = LoglensCli.run(
            "search", "--semantic", "certificate problem", "--json", "--store", str(daemon.store)
        )
        assert "certificate has expired" in json.loads(out.stdout)["hits"][0]["template"]
        asked = LoglensCli.run("ask", "--json", "show me memory errors", "--store", str(daemon.store))
        assert [r["service"] for r in json.loads(asked.stdout)["records"]] == ["kernel"] * 3
