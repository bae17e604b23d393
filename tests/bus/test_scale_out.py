"""The scale-out deployment for real: a nats-server -js on a free port, a PostgreSQL database, two
ingest nodes and two process nodes as separate `loglens up --role …` processes, and a query node.

200,000 lines of 10 services are pushed through the two ingest nodes while one process node is
killed with SIGKILL half-way: its partitions are taken over by the other, and the store ends with
exactly the 200,000 records, none twice, each service's in the order it was pushed, all mined.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daemon_helpers import Up
from nats_server import NatsServer
from pg_database import PgDatabase

SERVICES = [f"svc{i}" for i in range(10)]
LINES_PER_SERVICE = 20_000
BATCH = 1_000
PARTITIONS = 8


def _config(nats: NatsServer, database: PgDatabase, stream: str) -> str:
    return (
        f'[bus]\nurl = "{nats.url}"\nstream = "{stream}"\npartitions = {PARTITIONS}\nlease_ttl = 2\n\n'
        f'[store]\nurl = "{database.url}"\n'
    )


def _node(tmp_path: Path, name: str, config: str, role: str) -> Up:
    folder = tmp_path / name
    folder.mkdir()
    return Up(folder, config, "--role", role)


def _push_service(url: str, service: str, acked: list[int], failures: list[str]) -> None:
    """One service's lines, in order, a batch at a time, each acknowledged before the next."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for start in range(0, LINES_PER_SERVICE, BATCH):
            body = "".join(
                f"2026-11-27T10:{(n // 1000) % 60:02d}:{(n // 17) % 60:02d}Z INFO order {n % 97} "
                f"shipped to zone {n % 7} seq={n}\n"
                for n in range(start, start + BATCH)
            )
            reply = client.post("/ingest", params={"service": service}, content=body.encode())
            if reply.status_code != 200:
                failures.append(f"{service} {start}: {reply.status_code} {reply.text}")
                return
            acked.append(BATCH)


@pytest.fixture
def deployment(tmp_path: Path, nats_server: NatsServer, pg_database: PgDatabase) -> Iterator[dict[str, Up]]:
    config = _config(nats_server, pg_database, f"SCALE{os.getpid()}")
    nodes: dict[str, Up] = {}
    try:
        for name, role in (("process-1", "process"), ("process-2", "process"), ("ingest-1", "ingest"),
                           ("ingest-2", "ingest"), ("query", "query")):  # fmt: skip
            nodes[name] = _node(tmp_path, name, config, role)
        yield nodes
    finally:
        for up in nodes.values():
            if up.proc.poll() is None:
                up.stop()


def _held(node: Up) -> dict[str, int]:
    held: dict[str, int] = node.client.get("/api/health").json()["node"]["bus"]["partitions"]
    return held


def test_two_ingest_two_process_nodes_200k_lines_exactly_once_across_a_kill(
    deployment: dict[str, Up], pg_database: PgDatabase
) -> None:
    p1, p2 = deployment["process-1"], deployment["process-2"]
    deadline = time.monotonic() + 30
    while len(_held(p1)) + len(_held(p2)) != PARTITIONS or not _held(p1) or not _held(p2):
        assert time.monotonic() < deadline, (_held(p1), _held(p2))
        time.sleep(0.2)  # both nodes share the partitions before the load starts

    acked: list[int] = []
    failures: list[str] = []
    ingest = [deployment["ingest-1"].url, deployment["ingest-2"].url]
    pushers = [
        threading.Thread(target=_push_service, args=(ingest[i % 2], service, acked, failures))
        for i, service in enumerate(SERVICES)
    ]
    for thread in pushers:
        thread.start()
    total = len(SERVICES) * LINES_PER_SERVICE
    while sum(acked) < total // 2 and not failures:
        time.sleep(0.05)
    taken_from = set(_held(p2))
    p2.proc.send_signal(signal.SIGKILL)  # mid-stream: it holds partitions with records in flight
    p2.proc.wait()
    for thread in pushers:
        thread.join(300)
    assert not failures, failures[:3]
    assert sum(acked) == total

    deadline = time.monotonic() + 180
    while pg_database.scalar("SELECT count(*) FROM records") < total:
        assert time.monotonic() < deadline, pg_database.scalar("SELECT count(*) FROM records")
        time.sleep(0.5)
    time.sleep(2 * 2)  # two lease TTLs more: anything stored twice would show now
    assert pg_database.scalar("SELECT count(*) FROM records") == total
    assert pg_database.scalar("SELECT count(DISTINCT (service, message)) FROM records") == total
    assert pg_database.scalar("SELECT count(*) FROM records WHERE template_id IS NULL") == 0
    for service in SERVICES:
        seqs = [
            int(message.rsplit("=", 1)[1])
            for (message,) in pg_database.rows(
                "SELECT message FROM records WHERE service = %s ORDER BY id", (service,)
            )
        ]
        assert seqs == list(range(LINES_PER_SERVICE)), service
    # The survivor holds every partition now, the killed node's included.
    assert set(_held(p1)) == {str(p) for p in range(PARTITIONS)} >= taken_from
    # The query node answers from the shared store.
    query = deployment["query"].client
    counted = query.get("/api/logs", params={"q": "service:svc3", "limit": 0}).json()["count"]
    assert counted == LINES_PER_SERVICE
    patterns = query.get("/api/patterns", params={"q": "service:svc3"}).json()
    assert any("seq=<*>" in p["template"] for p in patterns), patterns[:3]


def test_the_query_node_tails_live_what_ingest_nodes_take_in(deployment: dict[str, Up]) -> None:
    """/api/live on the query node shows a line pushed to an ingest node (read off the stream), and
    its health names its role; an ingest push to the query node is refused with the reason."""
    from websockets.sync.client import connect

    query = deployment["query"]
    assert query.client.get("/api/health").json()["node"]["role"] == "query"
    refused = query.client.post("/ingest", params={"service": "x"}, content=b"hello\n")
    assert refused.status_code == 503 and "ingest node" in refused.text
    with connect(query.url.replace("http://", "ws://") + "/api/live?heartbeat=0.5") as socket:
        assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
        time.sleep(0.5)  # the node decodes the stream only while someone watches: let it see us
        pushed = deployment["ingest-2"].client.post(
            "/ingest", params={"service": "tailme"}, content=b"LIVEMARK from an ingest node\n"
        )
        assert pushed.status_code == 200
        seen: list[dict[str, object]] = []
        while not any("LIVEMARK" in str(m.get("record")) for m in seen):
            seen.append(json.loads(socket.recv(timeout=10)))
    (record,) = [m["record"] for m in seen if m["type"] == "record"]
    assert record["svc"] == "tailme"  # type: ignore[index]
    # The CLI asks a query node it is pointed at (`$LOGLENS_URL`), once a process node stored the line.
    env = {**os.environ, "LOGLENS_URL": query.url, "TZ": "UTC"}
    command = [sys.executable, "-m", "loglens", "logs", "--json", "service:tailme"]
    deadline = time.monotonic() + 30
    while True:
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        if "LIVEMARK" in out or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    (printed,) = [json.loads(line) for line in out.splitlines()]
    assert printed["msg"] == "LIVEMARK from an ingest node" and printed["tpl"]
    # Tenants hold across nodes: a line pushed for a tenant (Loki's header) to an ingest node is that
    # tenant's on the query node, and no other tenant's.
    pushed = deployment["ingest-1"].client.post(
        "/ingest",
        params={"service": "shared"},
        content=b"TENANTMARK acme only\n",
        headers={"X-Scope-OrgID": "acme"},
    )
    assert pushed.status_code == 200
    deadline = time.monotonic() + 30
    while not query.client.get("/api/logs", params={"q": "TENANTMARK"}).json()["records"]:
        assert time.monotonic() < deadline, "the tenant's line was not stored"
        time.sleep(0.3)
    as_acme = query.client.get("/api/logs", params={"q": "TENANTMARK"}, headers={"X-Scope-OrgID": "acme"})
    as_globex = query.client.get("/api/logs", params={"q": "TENANTMARK"}, headers={"X-Scope-OrgID": "globex"})
    assert [r["msg"] for r in as_acme.json()["records"]] == ["TENANTMARK acme only"]
    assert as_globex.json()["records"] == []
