"""`loglens up` with a bus on one machine: pushes go through a real nats-server -js into the store,
mined by the process part of the same daemon, each exactly once and in order."""

from __future__ import annotations

from pathlib import Path

import duckdb

from daemon_helpers import Up
from nats_server import NatsServer

SERVICES = ("api", "db", "web")


def _bus_config(server: NatsServer, stream: str) -> str:
    return f'[bus]\nurl = "{server.url}"\nstream = "{stream}"\npartitions = 4\nlease_ttl = 2\n'


def test_pushed_lines_are_stored_once_in_order_and_mined(tmp_path: Path, nats_server: NatsServer) -> None:
    up = Up(tmp_path, _bus_config(nats_server, "ONE"))
    try:
        for round_ in range(20):
            for service in SERVICES:
                body = "".join(
                    f"2026-11-27T10:00:{round_:02d}Z INFO user {i} logged in seq={round_ * 100 + i}\n"
                    for i in range(100)
                )
                reply = up.client.post("/ingest", params={"service": service}, content=body.encode())
                assert reply.status_code == 200, reply.text
        node = up.client.get("/api/health").json()["node"]
        assert node["role"] == "all" and node["bus"]["stream"] == "ONE" and node["bus"]["connected"]
        assert sorted(node["bus"]["partitions"]) == ["0", "1", "2", "3"]  # the one node holds them all
    finally:
        up.stop()
    con = duckdb.connect(str(up.store), read_only=True)
    rows = con.execute(
        "SELECT service, count(*), count(DISTINCT message), count(template_id) FROM records "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [(service, 2_000, 2_000, 2_000) for service in SERVICES]
    for service in SERVICES:
        seqs = [
            int(m.rsplit("=", 1)[1])
            for (m,) in con.execute(
                "SELECT message FROM records WHERE service = ? ORDER BY id", [service]
            ).fetchall()
        ]
        assert seqs == list(range(2_000))
    templates = con.execute("SELECT id, template FROM templates WHERE service = 'api'").fetchall()
    assert templates and all("<*>" in text for _, text in templates)
    offsets = con.execute("SELECT stream, seq FROM bus_offsets ORDER BY 1").fetchall()
    assert offsets and all(stream.startswith("ONE/p") for stream, _ in offsets)
