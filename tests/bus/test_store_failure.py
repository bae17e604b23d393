"""A process node whose PostgreSQL connections are cut mid-stream (pg_terminate_backend, as a
database restart or failover does): the failed runs are stored by a later attempt from the stored
offset, so the store still ends with every pushed line exactly once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from daemon_helpers import Up
from nats_server import NatsServer
from pg_database import PgDatabase

LINES = 30_000
BATCH = 500


def test_cut_database_connections_lose_and_double_nothing(
    tmp_path: Path, nats_server: NatsServer, pg_database: PgDatabase
) -> None:
    config = (
        f'[bus]\nurl = "{nats_server.url}"\nstream = "CUT"\npartitions = 4\nlease_ttl = 2\n\n'
        f'[store]\nurl = "{pg_database.url}"\n'
    )
    up = Up(tmp_path, config)
    done = threading.Event()
    cuts = [0]

    def cut() -> None:
        while not done.wait(0.15):
            cuts[0] += pg_database.scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'loglens' AND pid <> pg_backend_pid()",
                (pg_database.name,),
            )

    cutter = threading.Thread(target=cut)
    cutter.start()
    try:
        for start in range(0, LINES, BATCH):
            body = "".join(
                f"2026-11-27T10:00:00Z INFO step {n} done seq={n}\n" for n in range(start, start + BATCH)
            )
            reply = up.client.post("/ingest", params={"service": "cut"}, content=body.encode())
            assert reply.status_code == 200, reply.text
    finally:
        done.set()
        cutter.join()
    try:
        deadline = time.monotonic() + 120
        while pg_database.scalar("SELECT count(*) FROM records") < LINES:
            assert time.monotonic() < deadline, pg_database.scalar("SELECT count(*) FROM records")
            time.sleep(0.5)
        bus = up.client.get("/api/health").json()["node"]["bus"]
    finally:
        up.stop()
    assert cuts[0] > 0
    print(bus)
    assert bus["failed_commits"] + bus["failed_rounds"] > 0  # the cuts did hit the process node
    assert pg_database.scalar("SELECT count(*) FROM records") == LINES
    seqs = [int(m.rsplit("=", 1)[1]) for (m,) in pg_database.rows("SELECT message FROM records ORDER BY id")]
    assert seqs == list(range(LINES))
