"""Retention in the running daemon: with `[retention]`, old days are archived and deleted on the
daemon's clock while it keeps serving, and the archive restores them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import LoglensCli
from daemon_helpers import Up

DAY_S = 86_400


def test_the_daemon_archives_and_deletes_old_days(tmp_path: Path) -> None:
    """Two days older than max_age go to Parquet and out of the store; today's lines stay; the
    archives restore them once the daemon is stopped."""
    now = time.time()
    lines = [
        json.dumps({"time": time.strftime("%Y-%m-%dT12:00:00Z", time.gmtime(now - days * DAY_S)),
                    "service": "app", "message": f"day {days} line {i}"})
        for days in (5, 4, 0) for i in range(50)
    ]  # fmt: skip
    (tmp_path / "old.jsonl").write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.duckdb"
    LoglensCli.run("ingest", "--store", str(store), str(tmp_path / "old.jsonl"))
    up = Up(tmp_path, '[retention]\nmax_age = "2d"\ncheck_every = "1s"\n')
    try:
        deadline = time.monotonic() + 30
        while up.client.get("/api/logs", params={"limit": 0}).json()["count"] > 50:
            assert time.monotonic() < deadline, "old days were not removed"
            time.sleep(0.3)
        kept = up.client.get("/api/logs", params={"limit": 0}).json()["records"]
        assert {r["msg"].split(" line")[0] for r in kept} == {"day 0"}
    finally:
        up.stop()
    archives = sorted((tmp_path / "archive").glob("records-*.parquet"))
    assert len(archives) == 2
    LoglensCli.run(
        "retention",
        "restore",
        *map(str, archives),
        "--store",
        str(store),
        "--config",
        str(tmp_path / "loglens.toml"),
    )
    out = LoglensCli.run(
        "logs", "--json", "-n", "all", "--store", str(store), "--config", str(tmp_path / "loglens.toml")
    )
    assert len(out.stdout.splitlines()) == 150
