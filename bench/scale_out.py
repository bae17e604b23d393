#!/usr/bin/env python3
"""Scale-out figures (docs/scale-out.md): the same 200,000 pushed lines through

  1. one embedded `loglens up` (DuckDB, no bus): the peer,
  2. one ingest + one process node (NATS JetStream + PostgreSQL),
  3. two ingest + two process nodes,

each as separate processes on this machine, with four clients pushing 1,000-line batches. Per run:
acknowledged lines/s (pushes answered), stored lines/s (until the store holds them all), and for
layout 3 the takeover after SIGKILL of a process node: seconds until the survivor holds every
partition, and until the store holds every line again. Medians of `--runs`; exact counts checked
(stored = pushed, no duplicates) in every run. A real nats-server on a free port and a fresh
PostgreSQL database per run (127.0.0.1:5432 or $LOGLENS_TEST_PG).

On 2 cores, four load generators and up to five loglens processes share the CPUs: the figures say
what the bus and the shared store cost per line, not what more machines would add.

    python bench/scale_out.py [--runs 3] [--lines 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from daemon_helpers import Up  # noqa: E402
from nats_server import NatsServer  # noqa: E402
from pg_database import PgDatabase, fresh_database  # noqa: E402

SERVICES = [f"svc{i}" for i in range(8)]
BATCH = 1_000
CLIENTS = 4
PARTITIONS = 8


def lines(service: str, start: int) -> bytes:
    return "".join(
        f"2026-11-27T10:{(n // 1000) % 60:02d}:{(n // 17) % 60:02d}Z INFO order {n % 97} shipped "
        f"to zone {n % 7} by {service} seq={n}\n"
        for n in range(start, start + BATCH)
    ).encode()


def push_all(urls: list[str], total: int) -> float:
    """Pushes `total` lines round-robin over services and ingest URLs; returns the seconds taken."""
    per_service = total // len(SERVICES)
    jobs = [(s, start) for start in range(0, per_service, BATCH) for s in SERVICES]
    bodies = [(s, lines(s, start)) for s, start in jobs]
    failures: list[str] = []

    def client(k: int) -> None:
        # One service per client at a time keeps each service's order: batch i of a service is sent
        # by client hash(service) only.
        mine = [b for b in bodies if SERVICES.index(b[0]) % CLIENTS == k]
        with httpx.Client(base_url=urls[k % len(urls)], timeout=120) as http:
            for service, body in mine:
                reply = http.post("/ingest", params={"service": service}, content=body)
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")
                    return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    return time.perf_counter() - started


def wait_for(count: Any, total: int, timeout: float = 600) -> float:
    started = time.perf_counter()
    while count() < total:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {count()} of {total} stored after {timeout} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def node(folder: Path, name: str, config: str, role: str) -> Up:
    where = folder / name
    where.mkdir()
    return Up(where, config, "--role", role)


def embedded(total: int, folder: Path) -> dict[str, float]:
    up = Up(folder, "")
    try:
        pushed_s = push_all([up.url], total)
        count = lambda: up.client.get("/api/logs", params={"limit": 0}).json()["count"]  # noqa: E731
        stored_s = pushed_s + wait_for(count, total)
        assert count() == total
    finally:
        up.stop()
    return {"acked_lines_per_s": total / pushed_s, "stored_lines_per_s": total / stored_s}


def distributed(total: int, folder: Path, ingest: int, process: int, kill: bool) -> dict[str, float]:
    nats = NatsServer(folder / "nats")
    with fresh_database("loglens_bench") as db:
        return _distributed(total, folder, ingest, process, kill, nats, db)


def _distributed(
    total: int, folder: Path, ingest: int, process: int, kill: bool, nats: NatsServer, db: PgDatabase
) -> dict[str, float]:
    config = (
        f'[bus]\nurl = "{nats.url}"\nstream = "BENCH"\npartitions = {PARTITIONS}\nlease_ttl = 2\n\n'
        f'[store]\nurl = "{db.url}"\n'
    )
    nodes: list[Up] = []
    try:
        processors = [node(folder, f"p{i}", config, "process") for i in range(process)]
        ingests = [node(folder, f"i{i}", config, "ingest") for i in range(ingest)]
        nodes = processors + ingests

        def held(up: Up) -> int:
            return len(up.client.get("/api/health").json()["node"]["bus"]["partitions"])

        while sum(held(p) for p in processors) != PARTITIONS:
            time.sleep(0.1)
        count = lambda: db.scalar("SELECT count(*) FROM records")  # noqa: E731
        figures: dict[str, float] = {}
        if kill:
            pusher = threading.Thread(
                target=lambda: figures.update(pushed_s=push_all([u.url for u in ingests], total))
            )
            started = time.perf_counter()
            pusher.start()
            while count() < total // 2:
                time.sleep(0.05)
            victim = processors[-1]
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            killed_at = time.perf_counter()
            survivor = processors[0]
            while held(survivor) != PARTITIONS:
                time.sleep(0.05)
            figures["takeover_s"] = time.perf_counter() - killed_at
            pusher.join()
            wait_for(count, total)
            figures["stored_lines_per_s"] = total / (time.perf_counter() - started)
            figures["acked_lines_per_s"] = total / figures.pop("pushed_s")
        else:
            pushed_s = push_all([u.url for u in ingests], total)
            stored_s = pushed_s + wait_for(count, total)
            figures = {"acked_lines_per_s": total / pushed_s, "stored_lines_per_s": total / stored_s}
        time.sleep(1)
        assert count() == total, count()
        assert db.scalar("SELECT count(DISTINCT (service, message)) FROM records") == total
        return figures
    finally:
        for up in nodes:
            if up.proc.poll() is None:
                up.stop()
        nats.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale_out.json")
    args = parser.parse_args()
    layouts = {
        "embedded (peer)": lambda f: embedded(args.lines, f),
        "1 ingest + 1 process": lambda f: distributed(args.lines, f, 1, 1, False),
        "2 ingest + 2 process": lambda f: distributed(args.lines, f, 2, 2, False),
        "2 + 2, a process node killed mid-stream": lambda f: distributed(args.lines, f, 2, 2, True),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in layouts}
    for run in range(args.runs):
        for name, measure in layouts.items():
            with tempfile.TemporaryDirectory() as folder:
                figures = measure(Path(folder))
            runs[name].append(figures)
            print(
                f"run {run + 1} {name}: " + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()), flush=True
            )
    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }
    peer = medians["embedded (peer)"]["stored_lines_per_s"]
    for name, figures in medians.items():
        figures["stored_vs_embedded"] = figures["stored_lines_per_s"] / peer
        print(f"median {name}: " + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()))
    report = {
        "lines": args.lines,
        "runs": args.runs,
        "clients": CLIENTS,
        "partitions": PARTITIONS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "medians": medians,
        "all": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
