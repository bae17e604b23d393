"""`LogAccess`: the daemon's API on a store without a daemon (in-process, read-only, nothing held
between calls) answers what a running daemon answers over HTTP; what only a daemon has is refused
with a sentence saying so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from daemon_helpers import Up
from incident_scenario import write_jsonl
from loglens.access import DaemonNeeded, LogAccess
from loglens.config import Config
from loglens.errors import LoglensError, QueryError
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("/api/logs", {"q": "deadlock", "limit": 5}),
    ("/api/stats", {"by": "service", "bucket": "10m"}),
    ("/api/patterns", {"top": 5}),
    ("/api/incidents", {}),
    ("/api/summary", {}),
    ("/api/alerts", {"state": "all"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("access")
    store = DuckDBStore(root / "s.duckdb")
    try:
        Ingestor(store, Config()).ingest_paths([str(write_jsonl(root / "scenario.jsonl"))])
    finally:
        store.close()
    return root / "s.duckdb"


class TestWithoutADaemon:
    def test_reads_and_lets_go(self, store: Path) -> None:
        """Queries are answered from the store, which is free again after each call (a writer can open it)."""
        access = LogAccess(store, Config())
        assert access.daemon_url is None
        found = access.get("/api/logs", {"q": "deadlock", "limit": 3})
        assert found["count"] == 3 and all("deadlock" in r["msg"] for r in found["records"])
        assert [i["root_cause"]["service"] for i in access.get("/api/incidents")] == ["db"]
        DuckDBStore(store).close()

    def test_refusals(self, store: Path, tmp_path: Path) -> None:
        """A bad query is the API's sentence; live figures need a daemon; a missing store says to ingest."""
        access = LogAccess(store, Config())
        with pytest.raises(QueryError, match="level name"):
            access.get("/api/logs", {"q": "level:>="})
        with pytest.raises(DaemonNeeded, match="loglens up"):
            access.get("/api/health")
        with pytest.raises(LoglensError, match="ingest something first"):
            LogAccess(tmp_path / "none.duckdb", Config()).get("/api/logs")


def test_same_answers_with_a_daemon(store: Path, tmp_path: Path) -> None:
    """Each read answers the same JSON in-process as from a running daemon on the same store."""
    access = LogAccess(store, Config())
    offline = {path: access.get(path, params) for path, params in CALLS}
    folder = store.parent
    up = Up(folder, "")
    try:
        assert access.daemon_url == up.url
        for path, params in CALLS:
            online = access.get(path, params)
            if path == "/api/alerts":
                online, offline[path] = online["alerts"], offline[path]["alerts"]
            assert online == offline[path], path
        assert access.get("/api/health")["status"] == "ok"
    finally:
        up.stop()
