#!/usr/bin/env python3
"""The daemon under load (`loglens up` in a subprocess on 127.0.0.1): live latency, HTTP ingest
throughput, and overload.

1. Live latency: a WebSocket subscriber on /api/live (its own process) and a sender posting NDJSON to
   /ingest every 10 ms at 5,000 and 20,000 lines/s; each line carries its send time, so the
   subscriber measures receive − send per record (p50/p95/p99/max). Also the achieved rate, and how
   long a push waits for its acknowledgement (which comes after the commit). The subscriber offers
   permessage-deflate (as browsers do), then no compression; each phase on a fresh daemon.
2. Sustained throughput: concurrent senders posting 1,000-line NDJSON batches of the generated
   corpus' events (time/service/level/message and fields, as a shipper that parsed them sends);
   acked lines/s, 429s, and the store's count against the acked total. Peer in the same run: the same
   senders against a trivial FastAPI/uvicorn app that reads the body and answers 200.
3. Overload: 16 connections pushing 5,000-line batches as fast as they can (retrying a 429 at once,
   as a sender that ignores Retry-After does) into a 20,000-record inbox; 429s, acked against stored,
   the daemon's RSS over time, and whether it still answers /api/health.

The machine has 2 cores and the load generator runs on them too: the figures are what the daemon does
with about one core left to it. Batches are encoded once, before the clock starts. Other processes
(another session's tests) would take the daemon's share: each measurement starts once they are quiet,
is done again when they were not, and records the cores they took. `--commit REV` measures a commit's
daemon (its src/ exported) rather than a working tree that others may be editing meanwhile.
Writes bench/results/live.json.

    python bench/live.py [--runs 3] [--quick] [--shared ../shared] [--commit HEAD]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from corpus import LOG_FILES, ensure_corpus

HERE = Path(__file__).resolve().parent
LOGLENS = shutil.which("loglens", path=str(Path(sys.executable).parent)) or "loglens"
NDJSON = {"content-type": "application/x-ndjson"}
CORPUS_LINES = 200_000
LIVE_SERVICE = "livebench"
WARM_SERVICE = "livewarm"
TICK_S = 0.01
PACED_CONNECTIONS = 16
LATENCY_RATES = (5_000, 20_000)
BATCH_LINES = 1_000
SENDERS = (4, 16)
"""Each sender waits for its acknowledgement (after the commit) before posting again: 4 keep 4,000
lines in flight, so their rate is bounded by the ack time; 16 offer enough to keep the daemon busy,
as a fleet of shippers (or one with Vector's adaptive request concurrency) does."""
OVERLOAD_CONNECTIONS = 16
OVERLOAD_BATCH_LINES = 5_000
OVERLOAD_INBOX = 20_000
RSS_EVERY_S = 0.5
QUIET_CORES = 0.3
"""A phase starts once the machine's other processes use less than this (they share its 2 cores)."""
QUIET_WAIT_S = 600.0
DAEMON_ENV: dict[str, str] = {}
"""Set for every daemon started (`--commit` puts an exported source tree first on PYTHONPATH)."""
WS_MODES = ("deflate", "none")
"""The subscriber offers permessage-deflate, as browsers do (the daemon then compresses each message),
or no compression."""
BARS = {
    "latency_p99_ms_at_20k": 50,
    "latency_p99_ms_at_20k_aim": 20,
    "throughput_lines_per_s": 50_000,
    "throughput_lines_per_s_aim": 100_000,
    "overload_stored_equals_acked": True,
    "overload_end_rss_over_warm_rss_at_most": 1.5,
}

PEER_APP = """
import sys
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()

@app.post("/ingest")
async def ingest(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"accepted": body.count(b"\\n"), "errors": []})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""
"""The HTTP layer alone: the same server stack as the daemon (uvicorn's defaults, FastAPI), reading
the body and answering what a push's answer holds, without decoding or storing anything."""


# -- the corpus as a shipper would send it --------------------------------------------------------

NGINX = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "[^"]*" "[^"]*" ([\d.]+)')
LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
PYTHON_LOGGING = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) (\w+) \[([^\]]+)\] (.*)$")
LOGBACK = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{3}) (\w+) +\[([^\]]*)\] (\S+) - (.*)$")
SYSLOG = re.compile(r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) (\S+) ([^:\[ ]+)(?:\[(\d+)\])?: ?(.*)$")
KERNEL_UPTIME = re.compile(r"^\[\s*[\d.]+\] ?")
EVENT_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d{3} ")
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def events_of(path: Path) -> Iterator[str]:
    """A file's events: one line each, or for Python logging and logback, a line starting with a
    timestamp and the lines after it (a traceback), as a shipper's multi-line rule joins them."""
    multiline = path.name in ("worker.log", "billing.log")
    current: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if multiline and current and not EVENT_START.match(line):
                current.append(line)
                continue
            if current:
                yield "\n".join(current)
            current = [line]
    if current:
        yield "\n".join(current)


def shipped(service: str, event: str) -> dict[str, Any]:
    """One event as the JSON object a shipper that parsed it posts: time, service, level, message and
    the rest as fields (what does not parse is sent as the message, timed on arrival)."""
    first, _, rest = event.partition("\n")
    if service == "api":
        obj = orjson.loads(first)
        return {
            "time": obj.pop("ts"),
            "service": obj.pop("service", "api"),
            "level": obj.pop("level"),
            "message": obj.pop("msg"),
            **obj,
        }
    if service == "nginx" and (m := NGINX.match(first)):
        status = int(m[4])
        when = datetime.strptime(m[2], "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
        return {
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "service": "nginx",
            "level": "error" if status >= 500 else "warning" if status >= 400 else "info",
            "message": m[3],
            "client": m[1],
            "status": status,
            "bytes": int(m[5]),
            "request_time": float(m[6]),
        }
    if service == "queue":
        pairs = {k: v for k, v in LOGFMT_PAIR.findall(first)}
        if {"ts", "level", "msg"} <= pairs.keys():
            unquoted = {k: json.loads(v) if v.startswith('"') else v for k, v in pairs.items()}
            return {
                "time": unquoted.pop("ts"),
                "service": "queue",
                "level": unquoted.pop("level"),
                "message": unquoted.pop("msg"),
                **unquoted,
            }
    if service == "worker" and (m := PYTHON_LOGGING.match(first)):
        message = m[6] + ("\n" + rest if rest else "")
        return {
            "time": f"{m[1]}T{m[2]}.{m[3]}Z",
            "service": "worker",
            "level": m[4].lower(),
            "message": message,
            "logger": m[5],
        }
    if service == "billing" and (m := LOGBACK.match(first)):
        message = m[7] + ("\n" + rest if rest else "")
        return {
            "time": f"{m[1]}T{m[2]}.{m[3]}Z",
            "service": "billing",
            "level": m[4].lower(),
            "message": message,
            "thread": m[5],
            "logger": m[6],
        }
    if service in ("auth", "kernel") and (m := SYSLOG.match(first)):
        message = KERNEL_UPTIME.sub("", m[7]) if service == "kernel" else m[7].strip()
        stamp = f"2026-{MONTHS.get(m[1], 11):02d}-{int(m[2]):02d}T{m[3]}Z"  # RFC 3164 has no year
        out: dict[str, Any] = {
            "time": stamp,
            "service": service,
            "level": "info",
            "message": message,
            "host": m[4],
            "app": m[5],
        }
        if m[6]:
            out["pid"] = int(m[6])
        return out
    return {"service": service, "message": event}


def corpus_events(folder: Path) -> list[dict[str, Any]]:
    """Every event of the corpus as a shipper's object, in time order over all services."""
    services = {
        "nginx/access.log": "nginx",
        "api/api.jsonl": "api",
        "queue/queue.log": "queue",
        "worker/worker.log": "worker",
        "billing/billing.log": "billing",
        "syslog/auth.log": "auth",
        "syslog/kernel.log": "kernel",
    }
    events = [shipped(services[name], e) for name in LOG_FILES for e in events_of(folder / name)]
    events.sort(key=lambda e: str(e.get("time", "")))
    return events


def ndjson_bodies(events: list[dict[str, Any]], lines: int) -> list[bytes]:
    """The events encoded once, `lines` to a body."""
    encoded = [orjson.dumps(e) for e in events]
    return [b"\n".join(encoded[i : i + lines]) + b"\n" for i in range(0, len(encoded) - lines + 1, lines)]


def latency_tails(events: list[dict[str, Any]]) -> list[bytes]:
    """The level and message of each event as the end of a JSON object, for the latency sender to put
    a send time and service before (`{"time":…,"service":…,"sent_ns":…,` + tail)."""
    return [orjson.dumps({"level": e.get("level", "info"), "message": e["message"]})[1:] for e in events]


# -- the daemon and the peer --------------------------------------------------------------------


class Daemon:
    """A `loglens up` subprocess on a fresh store, with its URL and pid (from daemon.json)."""

    def __init__(self, folder: Path, config: str = "") -> None:
        self.folder = folder
        (folder / "loglens.toml").write_text(config)
        env = {k: v for k, v in os.environ.items() if k not in ("LOGLENS_CONFIG", "LOGLENS_STORE")}
        env.update(DAEMON_ENV)
        self._err = (folder / "daemon.err").open("wb")
        self.proc = subprocess.Popen(
            [
                LOGLENS,
                "up",
                "--listen",
                "127.0.0.1:0",
                "--store",
                str(folder / "x.duckdb"),
                "--config",
                str(folder / "loglens.toml"),
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
        )
        info_path = folder / "daemon.json"
        deadline = time.monotonic() + 60
        while not info_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                sys.exit(f"loglens up did not start:\n{(folder / 'daemon.err').read_text()}")
            time.sleep(0.05)
        info = json.loads(info_path.read_text())
        self.url: str = info["url"]
        self.pid: int = info["pid"]

    def health(self) -> dict[str, Any]:
        """/api/health's answer."""
        answer: dict[str, Any] = httpx.get(f"{self.url}/api/health", timeout=30).json()
        return answer

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; its exit code (0: committed and closed)."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    return self.proc.wait(60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    return -9
            return self.proc.returncode
        finally:
            self._err.close()


@contextmanager
def daemon(config: str = "") -> Iterator[Daemon]:
    """A daemon on a store in a temporary folder, stopped with Ctrl-C after (an unclean exit is
    printed with the end of its stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        running = Daemon(Path(tmp), config)
        try:
            yield running
        finally:
            code = running.stop()
            if code != 0:
                print(f"  ! loglens up exited {code}: {(Path(tmp) / 'daemon.err').read_text()[-2000:]}")


@contextmanager
def peer_server() -> Iterator[str]:
    """The trivial FastAPI/uvicorn app, on a free port; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", PEER_APP, str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the peer app did not start")
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def rss_mb(pid: int) -> float:
    """A process' resident set size now (VmRSS), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """VmRSS of a process every `every` seconds, with the time of each sample from the start."""

    def __init__(self, pid: int, every: float = RSS_EVERY_S) -> None:
        self.samples: list[tuple[float, float]] = []
        self._pid = pid
        self._every = every
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.samples.append((round(time.monotonic() - self._started, 2), round(rss_mb(self._pid), 1)))
            if self._stop.wait(self._every):
                return

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        return self.samples


@dataclass
class Usage:
    """The daemon's CPU time and its /metrics counters at one moment; `since` gives what a phase
    used: cores busy on average (the daemon with its decode workers; the whole machine), commits,
    and the pipeline thread's seconds per stage (the `loglens_stage_seconds_total` counters, when
    this daemon has them)."""

    at: float
    cpu_s: float
    counters: dict[str, float]
    machine_busy_s: float

    @classmethod
    def of(cls, running: Daemon) -> Usage:
        cpu_s = tree_cpu_s(running.pid)
        counters: dict[str, float] = {}
        for line in httpx.get(f"{running.url}/metrics", timeout=30).text.splitlines():
            name, _, value = line.rpartition(" ")
            if name.startswith(("loglens_commits_total", "loglens_stage_seconds_total")):
                counters[name] = float(value)
        return cls(time.monotonic(), cpu_s, counters, busy_cpu_s())

    def since(self, before: Usage) -> dict[str, Any]:
        wall = self.at - before.at
        stages = {
            name.split('"')[1]: round(value - before.counters.get(name, 0.0), 2)
            for name, value in self.counters.items()
            if name.startswith("loglens_stage_seconds_total")
        }
        commits = self.counters.get("loglens_commits_total", 0.0) - before.counters.get(
            "loglens_commits_total", 0.0
        )
        return {
            "daemon_cpu_cores": round((self.cpu_s - before.cpu_s) / wall, 2),
            "machine_busy_cores": round((self.machine_busy_s - before.machine_busy_s) / wall, 2),
            "commits_per_s": round(commits / wall, 1),
            "pipeline_stage_s_per_s": {k: round(v / wall, 3) for k, v in stages.items()},
        }


class HealthProbe:
    """GET /api/health every `every` seconds while the load runs: how long the API takes to answer."""

    def __init__(self, url: str, every: float = 1.0) -> None:
        self.answers_ms: list[float] = []
        self.failures = 0
        self._url = url
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.wait(self._every):
                started = time.monotonic()
                try:
                    ok = client.get(f"{self._url}/api/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.answers_ms.append((time.monotonic() - started) * 1000)
                else:
                    self.failures += 1

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        ordered = sorted(self.answers_ms)
        return {
            "health_probes": len(ordered),
            "health_failures": self.failures,
            "health_p50_ms_during": round(percentile(ordered, 0.5), 1),
            "health_max_ms_during": round(ordered[-1], 1) if ordered else float("nan"),
        }


def _cpu_s(pid: int) -> float:
    """utime + stime of one process, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and every process under it (the daemon, the subscriber, the peer)."""
    return tree_cpu_s(os.getpid())


def tree_cpu_s(root: int) -> float:
    """CPU seconds of process `root` and every process under it (the daemon and its decode workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    ours, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in ours:
                ours.add(pid)
                frontier.append(pid)
    return sum(_cpu_s(pid) for pid in ours)


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """How many cores processes other than this bench's used since it was made (other sessions'
    tests, say: on a 2-core machine they take what the daemon would have had)."""

    def __init__(self) -> None:
        self._at, self._busy, self._ours = time.monotonic(), busy_cpu_s(), own_cpu_s()

    def cores(self) -> float:
        wall = time.monotonic() - self._at
        other = (busy_cpu_s() - self._busy) - (own_cpu_s() - self._ours)
        return round(max(0.0, other) / wall, 2) if wall > 0 else 0.0


def undisturbed(measure: Callable[[], dict[str, Any]], attempts: int = 3) -> dict[str, Any]:
    """`measure()`, done again (up to `attempts` in all) while other processes took QUIET_CORES or
    more of the machine during it; the row says how many attempts it took."""
    for attempt in range(1, attempts + 1):
        row = measure()
        disturbed = other_load_peak(row)
        row["attempts"] = attempt
        if disturbed < QUIET_CORES or attempt == attempts:
            return row
        print(f"  (other processes took {disturbed} cores meanwhile: measuring again)", flush=True)
    raise AssertionError("unreachable")


def wait_for_quiet() -> float:
    """Waits (up to QUIET_WAIT_S) until other processes use under QUIET_CORES; what they used last."""
    deadline = time.monotonic() + QUIET_WAIT_S
    waited = False
    while True:
        probe = OtherLoad()
        time.sleep(2.0)
        cores = probe.cores()
        if cores < QUIET_CORES or time.monotonic() > deadline:
            if waited:
                print(f"  … going on (other processes now use {cores} cores)", flush=True)
            return cores
        if not waited:
            print(f"  waiting for a quiet machine: other processes use {cores} cores", flush=True)
            waited = True


def percentile(ordered: list[float] | array[int], q: float) -> float:
    """The `q` quantile of sorted values (nearest rank)."""
    if not ordered:
        return float("nan")
    return float(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))])


# -- 1. live latency ------------------------------------------------------------------------------


def subscriber_process(ws_url: str, deflate: bool, ready: Any, done: Any, expected: Any, out: Any) -> None:
    """In a process of its own (the sender's work must not delay its reads): reads /api/live and
    sends back each record's receive − send in ns, with what it received and missed. `deflate`:
    offer permessage-deflate, as browsers do (the server then compresses every message)."""
    asyncio.run(_subscribe(ws_url, deflate, ready, done, expected, out))


async def _subscribe(ws_url: str, deflate: bool, ready: Any, done: Any, expected: Any, out: Any) -> None:
    from websockets.asyncio.client import connect

    latencies = array("q")
    counts: dict[str, float] = {"received": 0, "missed": 0, "heartbeats": 0, "other": 0}
    async with connect(ws_url, max_size=None, compression="deflate" if deflate else None) as ws:

        async def watch() -> None:
            # Ends the reading once the sender is done and every line arrived (or 5 s after).
            while not done.is_set():
                await asyncio.sleep(0.05)
            deadline = time.monotonic() + 5.0
            while counts["received"] + counts["missed"] < expected.value and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await ws.close()

        first = orjson.loads(await ws.recv())
        cpu_started, wall_started = time.process_time(), time.monotonic()
        if first.get("type") != "connected":
            counts["other"] += 1
        ready.set()
        watcher = asyncio.create_task(watch())
        try:
            async for message in ws:
                now = time.monotonic_ns()
                data = orjson.loads(message)
                kind = data["type"]
                if kind == "records":
                    for record in data["records"]:
                        latencies.append(now - record["fields"]["sent_ns"])
                    counts["received"] += len(data["records"])
                elif kind == "record":
                    latencies.append(now - data["record"]["fields"]["sent_ns"])
                    counts["received"] += 1
                elif kind == "missed":
                    counts["missed"] += data["missed"]
                elif kind == "heartbeat":
                    counts["heartbeats"] += 1
                else:
                    counts["other"] += 1
        finally:
            watcher.cancel()
    counts["cpu_cores"] = (time.process_time() - cpu_started) / (time.monotonic() - wall_started)
    out.send((latencies.tobytes(), counts))


@dataclass
class PacedResult:
    lines_sent: int = 0
    lines_acked: int = 0
    posts: int = 0
    errors: int = 0
    refused: int = 0
    send_seconds: float = 0.0
    answered_seconds: float = 0.0
    ack_ms: list[float] = field(default_factory=list)


async def paced_send(url: str, tails: list[bytes], rate: int, seconds: float, service: str) -> PacedResult:
    """Posts `rate` lines/s for `seconds`, one batch every TICK_S, each line stamped with its send
    time (monotonic ns); a batch is sent on time even while earlier ones await their answer."""
    per_tick = max(1, round(rate * TICK_S))
    result = PacedResult()
    limits = httpx.Limits(max_connections=PACED_CONNECTIONS, max_keepalive_connections=PACED_CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def post(body: bytes) -> None:
            started = time.monotonic()
            try:
                answer = await client.post(f"{url}/ingest", content=body, headers=NDJSON)
            except httpx.HTTPError:
                result.errors += 1
                return
            result.ack_ms.append((time.monotonic() - started) * 1000)
            if answer.status_code == 200:
                result.lines_acked += orjson.loads(answer.content)["accepted"]
            elif answer.status_code == 429:
                result.refused += 1
            else:
                result.errors += 1

        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        ticks = round(seconds / TICK_S)
        offset = 0
        for k in range(ticks):
            delay = start + k * TICK_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now_iso = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
            head = b'{"time":"%s","service":"%s","sent_ns":%d,' % (
                now_iso,
                service.encode(),
                time.monotonic_ns(),
            )
            chunk = tails[offset : offset + per_tick]
            if len(chunk) < per_tick:
                offset, chunk = 0, tails[:per_tick]
            offset += per_tick
            body = b"\n".join([head + tail for tail in chunk]) + b"\n"
            task = asyncio.create_task(post(body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            result.lines_sent += per_tick
            result.posts += 1
        result.send_seconds = time.monotonic() - start
        await asyncio.gather(*tasks)
        result.answered_seconds = time.monotonic() - start
    return result


def latency_on_fresh_daemon(tails: list[bytes], rate: int, seconds: float, deflate: bool) -> dict[str, Any]:
    """A latency phase on a daemon of its own (no phase inherits another's store or backlog)."""
    with daemon() as running:
        return latency_phase(running, tails, rate, seconds, deflate)


def latency_phase(
    running: Daemon, tails: list[bytes], rate: int, seconds: float, deflate: bool
) -> dict[str, Any]:
    """One rate: warm-up lines (another service, filtered out by the subscriber's `service=`), then
    `seconds` of measured lines."""
    url = running.url
    wait_for_quiet()
    asyncio.run(paced_send(url, tails, rate, 2.0, WARM_SERVICE))
    ctx = multiprocessing.get_context("spawn")
    ready, done, expected = ctx.Event(), ctx.Event(), ctx.Value("q", 0)
    receiving, sending = ctx.Pipe(duplex=False)
    ws_url = url.replace("http://", "ws://") + f"/api/live?service={LIVE_SERVICE}&batch=true"
    proc = ctx.Process(target=subscriber_process, args=(ws_url, deflate, ready, done, expected, sending))
    proc.start()
    if not ready.wait(30):
        proc.kill()
        sys.exit("the WebSocket subscriber did not connect")
    before, cpu_started, others = Usage.of(running), time.process_time(), OtherLoad()
    sent = asyncio.run(paced_send(url, tails, rate, seconds, LIVE_SERVICE))
    usage = Usage.of(running).since(before)
    other_cores = others.cores()
    sender_cores = (time.process_time() - cpu_started) / sent.answered_seconds
    expected.value = sent.lines_acked
    done.set()
    if not receiving.poll(120):
        proc.kill()
        sys.exit("the WebSocket subscriber sent nothing back")
    raw, counts = receiving.recv()
    proc.join(30)
    latencies = array("q")
    latencies.frombytes(raw)
    ordered = sorted(x / 1e6 for x in latencies)
    acks = sorted(sent.ack_ms)
    return {
        "rate_target": rate,
        "rate_sent": round(sent.lines_sent / sent.send_seconds),
        "rate_acked": round(sent.lines_acked / sent.answered_seconds),
        "last_answer_after_s": round(sent.answered_seconds - sent.send_seconds, 2),
        "lines_sent": sent.lines_sent,
        "lines_acked": sent.lines_acked,
        "received": counts["received"],
        "missed": counts["missed"],
        "refused_429": sent.refused,
        "errors": sent.errors,
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else float("nan"),
        "ack_p50_ms": round(percentile(acks, 0.50), 2),
        "ack_p99_ms": round(percentile(acks, 0.99), 2),
        **usage,
        "sender_cpu_cores": round(sender_cores, 2),
        "subscriber_cpu_cores": round(counts["cpu_cores"], 2),
        "other_processes_cpu_cores": other_cores,
    }


# -- 2 and 3. pushing as fast as acknowledgements come ---------------------------------------------


@dataclass
class PushResult:
    seconds: float = 0.0
    posts: int = 0
    lines_acked: int = 0
    lines_refused: int = 0
    refused_429: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    answer_ms: dict[int, list[float]] = field(default_factory=dict)

    def answer_p50_ms(self, status: int) -> float:
        """The median time to an answer with this status."""
        times = self.answer_ms.get(status)
        return round(statistics.median(times), 1) if times else float("nan")

    def figures(self) -> dict[str, Any]:
        """What a run reports (the answer times as medians)."""
        out = {k: v for k, v in asdict(self).items() if k != "answer_ms"}
        out["answer_p50_ms_200"] = self.answer_p50_ms(200)
        out["answer_p50_ms_429"] = self.answer_p50_ms(429)
        return out


async def push(
    url: str, bodies: list[bytes], lines_per_body: int, senders: int, seconds: float, honour_retry: bool
) -> PushResult:
    """`senders` connections, each posting the next body as soon as the last one is answered, for
    `seconds`. A 429 is retried after Retry-After (`honour_retry`) or at once."""
    result = PushResult()
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        deadline = time.monotonic() + seconds

        async def sender(first: int) -> None:
            i = first
            while time.monotonic() < deadline:
                body = bodies[i % len(bodies)]
                started = time.monotonic()
                try:
                    answer = await client.post(f"{url}/ingest", content=body, headers=NDJSON)
                except httpx.HTTPError as exc:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(repr(exc))
                    continue
                result.posts += 1
                took = (time.monotonic() - started) * 1000
                result.answer_ms.setdefault(answer.status_code, []).append(took)
                if answer.status_code == 200:
                    result.lines_acked += orjson.loads(answer.content)["accepted"]
                    i += 1
                elif answer.status_code == 429:
                    result.refused_429 += 1
                    result.lines_refused += lines_per_body
                    if honour_retry:
                        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                else:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(f"{answer.status_code} {answer.text[:200]}")
                    i += 1

        started = time.monotonic()
        await asyncio.gather(*(sender(n * 37) for n in range(senders)))
        result.seconds = time.monotonic() - started
    return result


def throughput_run(bodies: list[bytes], seconds: float, senders: int) -> dict[str, Any]:
    """One run against the daemon (warm-up, then `seconds` measured), then against the peer."""
    row: dict[str, Any] = {}
    line_bytes = sum(map(len, bodies)) / (len(bodies) * BATCH_LINES)
    with daemon() as running:
        wait_for_quiet()
        warm = asyncio.run(push(running.url, bodies, BATCH_LINES, senders, 2.0, True))
        sampler = RssSampler(running.pid)
        before, others = Usage.of(running), OtherLoad()
        got = asyncio.run(push(running.url, bodies, BATCH_LINES, senders, seconds, True))
        usage = Usage.of(running).since(before)
        other_cores = others.cores()
        rss = sampler.stop()
        health = running.health()
        acked = warm.lines_acked + got.lines_acked
        row["loglens"] = {
            "lines_per_s": round(got.lines_acked / got.seconds),
            "mb_per_s": round(got.lines_acked * line_bytes / got.seconds / 1e6, 1),
            **got.figures(),
            "acked_total_with_warm_up": acked,
            "stored": health["records"],
            "no_loss": health["records"] == acked,
            "daemon_refused": health["inbox"]["refused"],
            "peak_rss_mb": max(mb for _, mb in rss),
            **usage,
            "other_processes_cpu_cores": other_cores,
        }
    with peer_server() as url:
        wait_for_quiet()
        asyncio.run(push(url, bodies, BATCH_LINES, senders, 2.0, True))
        others = OtherLoad()
        peer = asyncio.run(push(url, bodies, BATCH_LINES, senders, seconds, True))
        row["peer"] = {
            "lines_per_s": round(peer.lines_acked / peer.seconds),
            **peer.figures(),
            "other_processes_cpu_cores": others.cores(),
        }
    return row


def overload_run(bodies: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """16 connections pushing 5,000-line batches, retrying 429s at once, into a 20,000-record inbox."""
    config = f"[server]\ninbox_records = {OVERLOAD_INBOX}\n"
    with daemon(config) as running:
        wait_for_quiet()
        idle_rss = rss_mb(running.pid)
        sampler = RssSampler(running.pid)
        before = Usage.of(running)
        warm_at = seconds / 4
        warm_rss: list[float] = []

        def note_warm_rss() -> None:
            time.sleep(warm_at)
            warm_rss.append(rss_mb(running.pid))

        marker = threading.Thread(target=note_warm_rss, daemon=True)
        marker.start()
        probe, others = HealthProbe(running.url), OtherLoad()
        got = asyncio.run(push(running.url, bodies, OVERLOAD_BATCH_LINES, connections, seconds, False))
        probed = probe.stop()
        usage = Usage.of(running).since(before)
        other_cores = others.cores()
        marker.join()
        time.sleep(2.0)  # what the daemon keeps once the load is gone
        samples = sampler.stop()
        started = time.monotonic()
        health = running.health()
        health_ms = (time.monotonic() - started) * 1000
        offered = got.lines_acked + got.lines_refused
        row = {
            **got.figures(),
            "acked_lines_per_s": round(got.lines_acked / got.seconds),
            "offered_lines_per_s": round(offered / got.seconds),
            "overload_factor": round(offered / max(1, got.lines_acked), 2),
            "stored": health["records"],
            "stored_equals_acked": health["records"] == got.lines_acked,
            "daemon_refused": health["inbox"]["refused"],
            "health_after": health["status"],
            "health_ms": round(health_ms, 1),
            "rss_idle_mb": idle_rss,
            "rss_after_warm_up_mb": round(warm_rss[0], 1),
            "rss_peak_mb": max(mb for _, mb in samples),
            "rss_end_mb": samples[-1][1],
            "rss_samples": samples,
            **probed,
            **usage,
            "other_processes_cpu_cores": other_cores,
        }
        row["rss_end_over_warm"] = round(row["rss_end_mb"] / row["rss_after_warm_up_mb"], 3)
    return row


# -- the report -----------------------------------------------------------------------------------


def latency_line(row: dict[str, Any]) -> str:
    """One latency phase, as the run prints it."""
    return (
        f"sent {row['rate_sent']:>6,}/s acked {row['rate_acked']:>6,}/s  p50 {row['p50_ms']:>7.1f}  "
        f"p95 {row['p95_ms']:>7.1f}  p99 {row['p99_ms']:>7.1f}  max {row['max_ms']:>7.1f} ms  "
        f"received {row['received']:,}/{row['lines_acked']:,} missed {row['missed']}  "
        f"ack p50 {row['ack_p50_ms']:.0f} p99 {row['ack_p99_ms']:.0f} ms  CPU cores: daemon "
        f"{row['daemon_cpu_cores']} sender {row['sender_cpu_cores']} "
        f"subscriber {row['subscriber_cpu_cores']} other processes {row['other_processes_cpu_cores']}"
    )


def overload_line(row: dict[str, Any]) -> str:
    """One overload run, as it prints."""
    return (
        f"acked {row['lines_acked']:,} ({row['acked_lines_per_s']:,}/s) of offered "
        f"{row['offered_lines_per_s']:,}/s (×{row['overload_factor']})  429s {row['refused_429']:,} "
        f"(daemon counted {row['daemon_refused']:,})  answer p50: 200 in {row['answer_p50_ms_200']} ms, "
        f"429 in {row['answer_p50_ms_429']} ms  errors {row['errors']}  stored {row['stored']:,} "
        f"{'= acked' if row['stored_equals_acked'] else '≠ ACKED'}  RSS idle {row['rss_idle_mb']:.0f} "
        f"warm {row['rss_after_warm_up_mb']:.0f} peak {row['rss_peak_mb']:.0f} "
        f"end {row['rss_end_mb']:.0f} MB  /api/health during: p50 {row['health_p50_ms_during']} ms, max "
        f"{row['health_max_ms_during']} ms, {row['health_failures']} failed; after: {row['health_after']} "
        f"in {row['health_ms']} ms  CPU cores: daemon {row['daemon_cpu_cores']} other processes "
        f"{row['other_processes_cpu_cores']}"
    )


def git(*command: str) -> str:
    done = subprocess.run(["git", *command], cwd=HERE.parent, capture_output=True, text=True, check=True)
    return done.stdout.rstrip()  # not lstrip: a porcelain line starts with its status columns


def without_nan(value: Any) -> Any:
    """`value` with NaN (a figure with nothing to measure) as null: JSON has no NaN."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nan(v) for v in value]
    return value


def revision() -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (others edit it too)."""
    if "PYTHONPATH" in DAEMON_ENV:
        return {"commit": DAEMON_ENV["LOGLENS_BENCH_COMMIT"], "uncommitted_src_files": [], "exported": True}
    changed = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_src_files": changed}


def export_commit(rev: str, folder: Path) -> None:
    """Runs the daemons from `rev`'s src/ (exported into `folder`) rather than the working tree."""
    commit = git("rev-parse", "--short", rev)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src"], cwd=HERE.parent, capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    DAEMON_ENV["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(folder / "src"), os.environ.get("PYTHONPATH")])
    )
    DAEMON_ENV["LOGLENS_BENCH_COMMIT"] = commit
    probe = [sys.executable, "-c", "import loglens; print(loglens.__file__)"]
    found = subprocess.run(probe, env={**os.environ, **DAEMON_ENV}, capture_output=True, text=True).stdout
    if not found.startswith(str(folder)):
        sys.exit(
            f"--commit: the exported tree does not come first on the path (loglens from {found.strip()})"
        )


def median_of(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--runs", type=int, default=3, help="Runs of each part (medians reported).")
    parser.add_argument("--quick", action="store_true", help="One run, shorter durations (a smoke check).")
    parser.add_argument(
        "--senders",
        type=int,
        nargs="+",
        default=list(SENDERS),
        help="Concurrent senders in part 2, each a measurement (the best is the sustained rate).",
    )
    parser.add_argument("--only", choices=("latency", "throughput", "overload"), action="append")
    parser.add_argument(
        "--ws-compression",
        choices=("both", *WS_MODES),
        default="both",
        help="What the live subscriber offers: permessage-deflate (as browsers do), none, or both in turn.",
    )
    parser.add_argument(
        "--commit",
        metavar="REV",
        help="Measure the daemon of this commit (its src/ exported to a temporary folder) instead of "
        "the working tree, which others may be editing meanwhile.",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "live.json")
    args = parser.parse_args()
    if args.commit:
        exported = tempfile.TemporaryDirectory()
        export_commit(args.commit, Path(exported.name))
    runs = 1 if args.quick else args.runs
    latency_s, throughput_s, overload_s = (3.0, 5.0, 6.0) if args.quick else (10.0, 20.0, 20.0)
    parts = args.only or ["latency", "throughput", "overload"]

    corpus = HERE / "corpus" / f"{CORPUS_LINES}-seed42"
    ensure_corpus(args.shared.resolve(), CORPUS_LINES, 42, corpus)
    events = corpus_events(corpus)
    bodies = ndjson_bodies(events, BATCH_LINES)
    big_bodies = ndjson_bodies(events, OVERLOAD_BATCH_LINES)
    tails = latency_tails(events)
    line_bytes = sum(map(len, bodies)) / (len(bodies) * BATCH_LINES)
    print(
        f"corpus: {len(events):,} events as NDJSON ({line_bytes:.0f} bytes a line); "
        f"{os.cpu_count()} cores shared by the daemon and the load generator",
        flush=True,
    )
    result: dict[str, Any] = {
        "bench": "live",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "the load generator (senders, subscriber) runs on the same cores as the daemon",
        },
        "corpus": {
            "lines_requested": CORPUS_LINES,
            "seed": 42,
            "events": len(events),
            "ndjson_bytes_per_line": round(line_bytes),
        },
        "loglens": revision(),
        "runs": runs,
        "bar": BARS,
    }

    if "latency" in parts:
        modes = WS_MODES if args.ws_compression == "both" else (args.ws_compression,)
        print(
            f"1. live latency (POST /ingest every {TICK_S * 1000:.0f} ms → WS /api/live), "
            f"{latency_s:.0f} s per rate, subscriber compression: {' and '.join(modes)}, {runs} run(s)",
            flush=True,
        )
        per_phase: dict[tuple[str, int], list[dict[str, Any]]] = {
            (mode, rate): [] for mode in modes for rate in LATENCY_RATES
        }
        for run in range(runs):
            for mode in modes:
                for rate in LATENCY_RATES:
                    phase = partial(latency_on_fresh_daemon, tails, rate, latency_s, mode == "deflate")
                    row = undisturbed(phase)
                    per_phase[mode, rate].append(row)
                    print(f"  run {run + 1} {mode:<7} {rate:>6,}/s: {latency_line(row)}", flush=True)
        latency_keys = (
            "rate_sent",
            "rate_acked",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "ack_p50_ms",
            "ack_p99_ms",
            "daemon_cpu_cores",
            "sender_cpu_cores",
            "subscriber_cpu_cores",
        )
        result["latency_subscriber"] = {
            "deflate": "offers permessage-deflate, as browsers do: the daemon compresses every message",
            "none": "offers no compression",
        }
        result["latency"] = {
            mode: {
                str(rate): {"median": {k: median_of(rows, k) for k in latency_keys}, "runs": rows}
                for (of_mode, rate), rows in per_phase.items()
                if of_mode == mode
            }
            for mode in modes
        }

    if "throughput" in parts:
        print(
            f"2. sustained ingest: {' and '.join(map(str, args.senders))} senders × {BATCH_LINES:,}-line "
            f"NDJSON batches, {throughput_s:.0f} s, {runs} run(s); peer: a bare FastAPI/uvicorn app",
            flush=True,
        )
        by_senders: dict[str, Any] = {}
        for senders in args.senders:
            rows = []
            for run in range(runs):
                row = undisturbed(partial(throughput_run, bodies, throughput_s, senders))
                rows.append(row)
                ours, peer = row["loglens"], row["peer"]
                print(
                    f"  {senders:>2} senders, run {run + 1}: loglens {ours['lines_per_s']:>8,} lines/s "
                    f"({ours['mb_per_s']} MB/s)  ack p50 {ours['answer_p50_ms_200']} ms  429s "
                    f"{ours['refused_429']}  errors {ours['errors']}  stored {ours['stored']:,} / acked "
                    f"{ours['acked_total_with_warm_up']:,} {'OK' if ours['no_loss'] else 'MISMATCH'}  "
                    f"peak RSS {ours['peak_rss_mb']:.0f} MB  CPU cores: daemon {ours['daemon_cpu_cores']} "
                    f"machine {ours['machine_busy_cores']} other processes "
                    f"{ours['other_processes_cpu_cores']};  peer {peer['lines_per_s']:>9,} lines/s "
                    f"(other processes {peer['other_processes_cpu_cores']})",
                    flush=True,
                )
            ours_median = statistics.median(r["loglens"]["lines_per_s"] for r in rows)
            peer_median = statistics.median(r["peer"]["lines_per_s"] for r in rows)
            by_senders[str(senders)] = {
                "median_lines_per_s": ours_median,
                "median_ack_p50_ms": median_of([r["loglens"] for r in rows], "answer_p50_ms_200"),
                "median_daemon_cpu_cores": median_of([r["loglens"] for r in rows], "daemon_cpu_cores"),
                "median_machine_busy_cores": median_of([r["loglens"] for r in rows], "machine_busy_cores"),
                "peer_median_lines_per_s": peer_median,
                "ratio_vs_peer": round(ours_median / peer_median, 4),
                "all_no_loss": all(r["loglens"]["no_loss"] for r in rows),
                "runs": rows,
            }
        best = max(by_senders, key=lambda n: by_senders[n]["median_lines_per_s"])
        result["throughput"] = {
            "batch_lines": BATCH_LINES,
            "senders": int(best),
            "median_lines_per_s": by_senders[best]["median_lines_per_s"],
            "peer_median_lines_per_s": by_senders[best]["peer_median_lines_per_s"],
            "ratio_vs_peer": by_senders[best]["ratio_vs_peer"],
            "all_no_loss": all(one["all_no_loss"] for one in by_senders.values()),
            "by_senders": by_senders,
        }

    if "overload" in parts:
        print(
            f"3. overload: {OVERLOAD_CONNECTIONS} connections × {OVERLOAD_BATCH_LINES:,}-line batches, "
            f"429s retried at once, inbox_records = {OVERLOAD_INBOX:,}, {overload_s:.0f} s, "
            f"{runs} run(s)",
            flush=True,
        )
        rows = []
        for run in range(runs):
            row = undisturbed(partial(overload_run, big_bodies, overload_s, OVERLOAD_CONNECTIONS))
            rows.append(row)
            print(f"  run {run + 1}: {overload_line(row)}", flush=True)
        overload_keys = (
            "acked_lines_per_s",
            "offered_lines_per_s",
            "overload_factor",
            "refused_429",
            "answer_p50_ms_200",
            "answer_p50_ms_429",
            "health_p50_ms_during",
            "health_max_ms_during",
            "rss_after_warm_up_mb",
            "rss_peak_mb",
            "rss_end_mb",
            "rss_end_over_warm",
        )
        result["overload"] = {
            "connections": OVERLOAD_CONNECTIONS,
            "batch_lines": OVERLOAD_BATCH_LINES,
            "inbox_records": OVERLOAD_INBOX,
            "retry_429": "at once (Retry-After ignored)",
            "median": {k: median_of(rows, k) for k in overload_keys},
            "all_stored_equals_acked": all(r["stored_equals_acked"] for r in rows),
            "all_healthy_after": all(r["health_after"] == "ok" for r in rows),
            "runs": rows,
        }

    result["other_processes_cpu_cores_peak"] = other_load_peak(result)
    at_end = revision()
    if at_end != result["loglens"]:  # others commit and edit while this runs
        result["loglens_at_end"] = at_end
        print(f"note: the source changed during the run: {result['loglens']} → {at_end}")
    print_summary(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(without_nan(result), indent=2) + "\n")
    print(f"wrote {args.out}")


def other_load_peak(result: dict[str, Any]) -> float:
    """The most CPU other processes took during any measurement of this result."""
    found = [0.0]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "other_processes_cpu_cores":
                    found.append(float(inner))
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(result)
    return max(found)


def print_summary(result: dict[str, Any]) -> None:
    """The medians against their bars, as a table."""
    runs = result["runs"]
    print(
        f"\nsummary (median of {runs} run(s); load generator on the same {result['machine']['cpus']} cores)"
    )
    if "latency" in result:
        print(
            f"  {'live latency':<14} {'target':>8} {'sent/s':>8} {'acked/s':>8} {'p50':>7} {'p95':>7} "
            f"{'p99':>7} {'max':>8} {'ack p99':>8}  (ms)  daemon CPU (cores)"
        )
        for mode, rates in result["latency"].items():
            for rate, row in rates.items():
                m = row["median"]
                print(
                    f"  {'WS ' + mode:<14} {int(rate):>8,} {m['rate_sent']:>8,.0f} {m['rate_acked']:>8,.0f} "
                    f"{m['p50_ms']:>7.1f} {m['p95_ms']:>7.1f} {m['p99_ms']:>7.1f} {m['max_ms']:>8.1f} "
                    f"{m['ack_p99_ms']:>8.1f}        {m['daemon_cpu_cores']:.2f}"
                )
            p99 = rates.get("20000", {}).get("median", {}).get("p99_ms")
            if p99 is not None:
                verdict = "PASS" if p99 <= BARS["latency_p99_ms_at_20k"] else "FAIL"
                print(
                    f"  bar ({mode}): p99 ≤ {BARS['latency_p99_ms_at_20k']} ms at 20k lines/s (aim "
                    f"{BARS['latency_p99_ms_at_20k_aim']}): {p99:.1f} ms {verdict}"
                )
    if "throughput" in result:
        t = result["throughput"]
        verdict = "PASS" if t["median_lines_per_s"] >= BARS["throughput_lines_per_s"] else "FAIL"
        for senders, one in t["by_senders"].items():
            print(
                f"  throughput, {senders:>2} senders: loglens {one['median_lines_per_s']:>9,.0f} lines/s "
                f"(ack p50 {one['median_ack_p50_ms']:.0f} ms, daemon {one['median_daemon_cpu_cores']} "
                f"cores, machine {one['median_machine_busy_cores']} busy)   peer (bare uvicorn) "
                f"{one['peer_median_lines_per_s']:>9,.0f} lines/s   ratio {one['ratio_vs_peer']:.3f}   "
                f"no loss: {one['all_no_loss']}"
            )
        print(
            f"  bar: ≥ {BARS['throughput_lines_per_s']:,} lines/s (aim "
            f"{BARS['throughput_lines_per_s_aim']:,}): {verdict}"
        )
    if "overload" in result:
        o = result["overload"]
        m = o["median"]
        bounded = m["rss_end_over_warm"] <= BARS["overload_end_rss_over_warm_rss_at_most"]
        print(
            f"  overload       acked {m['acked_lines_per_s']:>9,.0f} lines/s of offered "
            f"{m['offered_lines_per_s']:,.0f}/s   429s {m['refused_429']:,.0f}   RSS warm "
            f"{m['rss_after_warm_up_mb']:.0f} peak {m['rss_peak_mb']:.0f} end {m['rss_end_mb']:.0f} MB"
        )
        print(
            f"  bar: stored = acked {o['all_stored_equals_acked']}; healthy after "
            f"{o['all_healthy_after']}; end RSS ≤ {BARS['overload_end_rss_over_warm_rss_at_most']}× "
            f"after warm-up: {bounded}"
        )
    peak = result["other_processes_cpu_cores_peak"]
    if peak >= QUIET_CORES:
        print(f"  ! other processes took up to {peak} cores during a measurement: those figures are low")


if __name__ == "__main__":
    main()
