"""The NATS server killed with SIGKILL and restarted under load: pushes wait for it (the client
reconnects; a push is answered 200 only once JetStream has it, else refused), nothing hangs, pushes
go on once it is back, and every acknowledged line is stored exactly once, in order (JetStream kept
them in its file store; the process part resumes from the stored offset)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import httpx

from daemon_helpers import Up
from nats_server import NatsServer

BATCH = 200


def test_a_killed_bus_loses_and_doubles_nothing_acknowledged(tmp_path: Path) -> None:
    nats = NatsServer(tmp_path / "nats")
    config = f'[bus]\nurl = "{nats.url}"\nstream = "RESTART"\npartitions = 4\nlease_ttl = 2\n'
    (tmp_path / "node").mkdir()
    up = Up(tmp_path / "node", config)
    acked: list[int] = []
    refused: list[int] = []
    stop = threading.Event()

    def push() -> None:
        n = 0
        with httpx.Client(base_url=up.url, timeout=60) as client:
            while not stop.is_set():
                body = "".join(f"2026-11-27T10:00:00Z INFO item {i} seq={i}\n" for i in range(n, n + BATCH))
                reply = client.post("/ingest", params={"service": "busy"}, content=body.encode())
                (acked if reply.status_code == 200 else refused).extend(range(n, n + BATCH))
                n += BATCH
                time.sleep(0.01)  # ~20k lines/s at most: the point is the outage, not the load

    pusher = threading.Thread(target=push)
    pusher.start()
    try:
        time.sleep(1.5)
        nats.kill_and_restart(down_s=2.0)
        after_restart = len(acked) + len(refused)
        # A push whose acknowledgement died with the server is refused after the publisher's 10 s;
        # then pushes go on.
        deadline = time.monotonic() + 30
        while len(acked) < after_restart + 5 * BATCH and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        pusher.join(120)
    assert not pusher.is_alive(), "a push hung"
    try:
        deadline = time.monotonic() + 60
        while up.client.get("/api/logs", params={"limit": 0}).json()["count"] < len(acked):
            assert time.monotonic() < deadline, "acknowledged lines were not all stored"
            time.sleep(0.5)
        time.sleep(1)
    finally:
        up.stop()
        nats.stop()
    assert len(acked) >= after_restart + 5 * BATCH, "pushes did not go on after the restart"
    con = duckdb.connect(str(up.store), read_only=True)
    stored = [
        int(m.rsplit("=", 1)[1]) for (m,) in con.execute("SELECT message FROM records ORDER BY id").fetchall()
    ]
    assert len(stored) == len(set(stored)), "a line was stored twice"
    acknowledged = set(acked)
    assert acknowledged <= set(stored), "an acknowledged line was lost"
    acked_in_order = [n for n in stored if n in acknowledged]
    assert acked_in_order == sorted(acked_in_order)
