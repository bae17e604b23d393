"""Tests for `loglens up`: a real daemon process on a random port, pushed to and queried over HTTP."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

import incident_scenario
from conftest import run_loglens
from daemon_helpers import Up
from journal_files import entry, needs_journal, write_journal
from loglens.store.duckdb import DuckDBStore


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    daemon = Up(tmp_path)
    try:
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()


def lines(n: int, word: str = "request") -> bytes:
    return "".join(f"2026-11-27 10:00:{i % 60:02d} INFO {word} {i} done\n" for i in range(n)).encode()


class TestIngest:
    def test_pushed_lines_are_queryable(self, up: Up) -> None:
        """Lines pushed to /ingest are acknowledged with their count and returned by /api/logs."""
        answer = up.client.post("/ingest", params={"service": "billing"}, content=lines(50))
        assert answer.status_code == 200 and answer.json() == {"accepted": 50}
        found = up.client.get("/api/logs", params={"service": "billing", "limit": 1000}).json()
        assert found["count"] == 50
        assert found["records"][0]["svc"] == "billing" and found["records"][0]["msg"] == "request 0 done"

    def test_gzip_body(self, up: Up) -> None:
        """A gzip body is read like a plain one."""
        answer = up.client.post(
            "/ingest", params={"service": "zipped"}, content=gzip.compress(lines(10)),
            headers={"Content-Encoding": "gzip"},
        )  # fmt: skip
        assert answer.json() == {"accepted": 10}

    def test_bad_requests_say_why(self, up: Up) -> None:
        """A broken gzip body, an unknown format and a gzip bomb are refused with the reason."""
        broken = up.client.post("/ingest", content=b"not gzip", headers={"Content-Encoding": "gzip"})
        assert broken.status_code == 400 and "gzip" in broken.json()["error"]
        unknown = up.client.post("/ingest", params={"format": "nope"}, content=b"x\n")
        assert unknown.status_code == 400 and "unknown format 'nope'" in unknown.json()["error"]
        bomb = gzip.compress(b"\0" * (80 * 1024 * 1024))  # 80 MB of zeros in ~80 KB
        too_big = up.client.post("/ingest", content=bomb, headers={"Content-Encoding": "gzip"})
        assert too_big.status_code == 413 and "more than 67108864 bytes" in too_big.json()["error"]
        assert up.client.get("/api/health").json()["status"] == "ok"

    def test_bad_query_is_a_400(self, up: Up) -> None:
        """A query the language cannot read is answered 400 with the reason, not 500."""
        answer = up.client.get("/api/logs", params={"since": "yesterday-ish"})
        assert answer.status_code == 400 and answer.json()["error"]

    def test_metrics_in_prometheus_format(self, up: Up) -> None:
        """/metrics counts what was stored and refused (by reason), with HELP and TYPE lines."""
        up.client.post("/ingest", params={"service": "m"}, content=lines(40))
        text = up.client.get("/metrics").text
        values = {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        assert values["loglens_records_ingested_total"] == 40
        assert values['loglens_dropped_total{reason="inbox_full_http_429"}'] == 0
        assert values["loglens_store_bytes"] > 0 and values["loglens_commits_total"] >= 1
        assert "# TYPE loglens_inbox_depth gauge" in text

    def test_big_json_bodies_are_decoded_beside_the_server(self, up: Up) -> None:
        """A 3,000-line NDJSON push goes to a decode worker and is stored as a small one would be; a
        body over the push limit comes back from the worker as a 413, a broken one as per-line errors."""
        events = [
            {"ts": f"2026-11-27T10:00:{i % 60:02d}Z", "service": "bulk", "level": "warn" if i % 2 else "info",
             "msg": f"batch item {i}", "item": {"n": i}}
            for i in range(3_000)
        ]  # fmt: skip
        body = b"\n".join(json.dumps(event).encode() for event in events)
        assert len(body) > 100_000
        ndjson = {"Content-Type": "application/x-ndjson"}
        answer = up.client.post("/ingest", content=body, headers=ndjson)
        assert answer.status_code == 200 and answer.json() == {"accepted": 3_000, "errors": []}
        found = up.client.get(
            "/api/logs", params={"service": "bulk", "level": "warning", "limit": 5000}
        ).json()
        assert found["count"] == 1_500
        broken = up.client.post("/ingest", content=body.replace(b'{"ts"', b"{ts", 2), headers=ndjson)
        assert broken.json()["accepted"] == 3_000 and len(broken.json()["errors"]) == 2
        metrics = up.client.get("/metrics").text
        assert 'loglens_decoded_bodies_total{where="worker"} 2' in metrics

    def test_stats_per_bucket(self, up: Up) -> None:
        """/api/stats counts hits per minute and level (and per service); a bucket under 1 s is a 400."""
        body = b"".join(
            f"2026-11-27 10:{minute:02d}:{second:02d} {level} tick\n".encode()
            for minute, count, level in ((0, 3, "INFO"), (0, 2, "ERROR"), (1, 4, "INFO"), (3, 1, "WARNING"))
            for second in range(count)
        )
        up.client.post("/ingest", params={"service": "st"}, content=body)
        by_level = up.client.get("/api/stats", params={"service": "st", "bucket": "1m"}).json()
        by_service = up.client.get(
            "/api/stats", params={"service": "st", "bucket": "1h", "by": "service"}
        ).json()
        too_fine = up.client.get("/api/stats", params={"bucket": "10ms"})
        assert by_level["bucket_ms"] == 60_000 and by_level["by"] == "level"
        assert by_level["buckets"] == [
            {"start": "2026-11-27T10:00:00.000Z", "counts": {"error": 2, "info": 3}},
            {"start": "2026-11-27T10:01:00.000Z", "counts": {"info": 4}},
            {"start": "2026-11-27T10:03:00.000Z", "counts": {"warning": 1}},
        ]
        assert by_service["buckets"] == [{"start": "2026-11-27T10:00:00.000Z", "counts": {"st": 10}}]
        assert too_fine.status_code == 400


class TestDurability:
    def test_acknowledged_records_survive_kill_9(self, tmp_path: Path) -> None:
        """Every push answered 200 is on disk: SIGKILL right after, and the store still holds it."""
        daemon = Up(tmp_path)
        accepted = 0
        for i in range(20):
            answer = daemon.client.post("/ingest", params={"service": f"s{i % 3}"}, content=lines(100))
            accepted += answer.json()["accepted"]
        daemon.kill()
        store = DuckDBStore(daemon.store, read_only=True)
        try:
            assert store.count() == accepted == 2000
        finally:
            store.close()

    def test_full_inbox_answers_429_and_loses_nothing_acknowledged(self, tmp_path: Path) -> None:
        """Past the inbox bound pushes get 429 with Retry-After; all that got 200 is stored."""
        daemon = Up(tmp_path, "[server]\ninbox_records = 3000\n")
        statuses: list[int] = []
        accepted: list[int] = []
        retry_after: list[str] = []

        def push() -> None:
            with httpx.Client(base_url=daemon.url, timeout=60) as client:
                for _ in range(6):
                    answer = client.post("/ingest", content=lines(1000))
                    statuses.append(answer.status_code)
                    if answer.status_code == 200:
                        accepted.append(answer.json()["accepted"])
                    else:
                        retry_after.append(answer.headers.get("retry-after", ""))

        senders = [threading.Thread(target=push) for _ in range(8)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        health = daemon.client.get("/api/health").json()
        daemon.stop()
        assert set(statuses) <= {200, 429}
        assert 429 in statuses and 200 in statuses
        assert set(retry_after) == {"1"}
        assert health["inbox"]["refused"] == statuses.count(429)
        store = DuckDBStore(daemon.store, read_only=True)
        try:
            assert store.count() == sum(accepted)
        finally:
            store.close()


class TestLifecycle:
    @pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
    def test_demo_feed_and_clean_stop(self, tmp_path: Path, sig: signal.Signals) -> None:
        """`--demo` feeds the live demo stream in; Ctrl-C or SIGTERM commits, removes daemon.json
        and exits 0."""
        daemon = Up(tmp_path, "", "--demo")
        deadline = time.monotonic() + 20
        while daemon.client.get("/api/health").json()["records"] < 50:
            assert time.monotonic() < deadline, "no demo records arrived"
            time.sleep(0.2)
        services = {r["svc"] for r in daemon.client.get("/api/logs", params={"limit": 500}).json()["records"]}
        said = daemon.stop(sig)
        assert daemon.proc.returncode == 0, said
        assert len(services) >= 3
        assert not (tmp_path / "daemon.json").exists()

    def test_refuses_to_listen_beyond_this_machine(self, tmp_path: Path) -> None:
        """Without access tokens, binding a non-loopback address is refused with the reason."""
        store = str(tmp_path / "s.duckdb")
        out = subprocess.run(
            [sys.executable, "-m", "loglens", "up", "--store", store, "--listen", "0.0.0.0:0"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 1 and "[[server.tokens]]" in out.stderr and "127.0.0.1" in out.stderr


class TestCliThroughTheDaemon:
    def test_logs_prints_the_same_as_from_the_store(self, tmp_path: Path) -> None:
        """While the daemon holds the store, `loglens logs` asks it, and prints what it prints when
        it opens the store itself (text, --json, --dedupe, a query)."""
        daemon = Up(tmp_path)
        body = (
            lines(30)
            + b"2026-11-27 10:01:00 ERROR disk full on /var\n2026-11-27 10:01:01 ERROR disk full on /var\n"
        )
        daemon.client.post("/ingest", params={"service": "db"}, content=body)
        views = (["-n", "5"], ["--json", "-n", "all"], ["--dedupe"], ["--level", "error", "disk"])
        through = [run_loglens("logs", "--store", str(daemon.store), *view).stdout for view in views]
        daemon.stop()
        direct = [run_loglens("logs", "--store", str(daemon.store), *view).stdout for view in views]
        assert through == direct
        assert len(through[1].splitlines()) == 32 and "disk full on /var (x2" in through[2]

    def test_incidents_through_the_daemon(self, tmp_path: Path) -> None:
        """`/api/incidents`, `/api/incidents/{id}` and `/api/anomalies` answer as the CLI does, and
        `loglens incidents` prints the same through the daemon as from the store."""
        log = incident_scenario.write_jsonl(tmp_path / "scenario.jsonl")
        daemon = Up(tmp_path)
        pushed = daemon.client.post("/ingest", params={"format": "json"}, content=log.read_bytes())
        assert pushed.status_code == 200
        listed = daemon.client.get("/api/incidents").json()
        one = daemon.client.get(f"/api/incidents/{listed[0]['id']}").json()
        missing = daemon.client.get("/api/incidents/inc-nope")
        anomalies = daemon.client.get("/api/anomalies").json()
        through = [
            run_loglens("incidents", "--store", str(daemon.store), *v).stdout for v in ([], ["--json"])
        ]
        daemon.stop()
        direct = [run_loglens("incidents", "--store", str(daemon.store), *v).stdout for v in ([], ["--json"])]
        assert through == direct
        assert len(listed) == 1 and listed[0]["root_cause"]["service"] == "db" and one == listed[0]
        assert missing.status_code == 404
        assert anomalies and {a["service"] for a in anomalies} <= {"db", "web"}

    def test_patterns_through_the_daemon(self, tmp_path: Path) -> None:
        """`loglens patterns` (text and --json) prints the same through the daemon as from the store."""
        daemon = Up(tmp_path)
        daemon.client.post("/ingest", params={"service": "web"}, content=lines(40) + lines(15, "login"))
        api = daemon.client.get("/api/patterns", params={"top": 1}).json()
        views = ([], ["--json"], ["--top", "1"])
        through = [run_loglens("patterns", "--store", str(daemon.store), *v).stdout for v in views]
        daemon.stop()
        direct = [run_loglens("patterns", "--store", str(daemon.store), *v).stdout for v in views]
        assert through == direct
        assert len(api) == 1 and api[0]["count"] == 40 and api[0]["service"] == "web"
        assert len(through[1].splitlines()) == 2

    def test_sql_and_other_commands(self, tmp_path: Path) -> None:
        """`loglens sql` through the daemon prints what it prints from the store; a command that does
        not go through the daemon yet says so instead of failing on the locked file; write SQL is
        refused with 400."""
        daemon = Up(tmp_path)
        daemon.client.post("/ingest", params={"service": "db"}, content=lines(7))
        statement = "SELECT service, level, count(*) AS n, min(ts) AS first FROM records GROUP BY ALL"
        views = ([], ["--json"])
        through = [run_loglens("sql", "--store", str(daemon.store), statement, *v).stdout for v in views]
        ingest = run_loglens("ingest", "--store", str(daemon.store), str(tmp_path / "x.log"), check=False)
        refused = daemon.client.post("/api/sql", json={"sql": "DELETE FROM records"})
        daemon.stop()
        direct = [run_loglens("sql", "--store", str(daemon.store), statement, *v).stdout for v in views]
        assert through == direct and "db\tinfo\t7\t" in through[0]
        assert ingest.returncode == 1 and "holds" in ingest.stderr
        assert "does not go through" in ingest.stderr
        assert refused.status_code == 400 and "read-only" in refused.json()["error"]


class TestSyslog:
    def test_logger_and_syslog_handler(self, tmp_path: Path) -> None:
        """`logger` over UDP, TCP, RFC 5424 with octet counting, and Python's SysLogHandler (NUL-ended,
        over TCP) are each stored with their app, level and message."""
        import logging.handlers
        import socket

        daemon = Up(tmp_path, "", "--syslog", "127.0.0.1:0")
        port = str(json.loads((tmp_path / "daemon.json").read_text())["syslog"])
        sends = [
            ["--udp", "-t", "udpapp", "-p", "user.warning", "over udp"],
            ["--tcp", "-t", "tcpapp", "over tcp"],
            ["--tcp", "--octet-count", "--rfc5424", "-t", "octapp", "-p", "user.err", "octet counted"],
        ]
        for args in sends:
            subprocess.run(["logger", "-n", "127.0.0.1", "-P", port, *args], check=True, timeout=10)
        handler = logging.handlers.SysLogHandler(
            address=("127.0.0.1", int(port)), socktype=socket.SOCK_STREAM
        )
        record = logging.LogRecord("py", logging.ERROR, __file__, 1, "from python %d", (7,), None)
        handler.emit(record)
        handler.close()
        deadline = time.monotonic() + 10
        while daemon.client.get("/api/health").json()["records"] < 4:
            assert time.monotonic() < deadline, "syslog messages did not arrive"
            time.sleep(0.1)
        got = {(r["svc"], r["lvl"], r["msg"]) for r in found_all(daemon)}
        health = daemon.client.get("/api/health").json()["syslog"]
        daemon.stop()
        assert got == {
            ("udpapp", "warning", "over udp"),
            ("tcpapp", "notice", "over tcp"),
            ("octapp", "error", "octet counted"),
            ("syslog", "error", "from python 7"),
        }
        assert health["received"] == 4 and health["dropped_inbox_full"] == 0


def found_all(daemon: Up) -> list[dict[str, object]]:
    records: list[dict[str, object]] = daemon.client.get("/api/logs", params={"limit": 0}).json()["records"]
    return records


def sse_events(lines_iter: Iterator[str], count: int) -> list[tuple[str, str]]:
    """The first `count` events (kind, data) of an SSE stream; heartbeats skipped."""
    out: list[tuple[str, str]] = []
    kind = ""
    for line in lines_iter:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            out.append((kind, line[6:]))
            if len(out) == count:
                break
    return out


class TestLive:
    def test_sse_filters_and_tells_a_slow_reader_what_it_missed(self, tmp_path: Path) -> None:
        """A subscriber gets the records matching its filter as they arrive; one that reads too slowly
        for its buffer gets the newest records and a `missed` event counting the rest."""
        daemon = Up(tmp_path)
        errors_only = {"level": "error", "service": "pay", "heartbeat": "0.5"}
        with (
            httpx.Client(base_url=daemon.url, timeout=30) as reader,
            reader.stream("GET", "/api/live/sse", params=errors_only) as live,
            reader.stream("GET", "/api/live/sse", params={"buffer": "5", "heartbeat": "0.5"}) as slow,
        ):
            live_lines, slow_lines = live.iter_lines(), slow.iter_lines()
            assert next(live_lines) == ": connected" and next(slow_lines) == ": connected"
            body = b"".join(
                f"2026-11-27 10:00:{i:02d} {'ERROR' if i % 10 == 0 else 'INFO'} step {i}\n".encode()
                for i in range(50)
            )
            daemon.client.post("/ingest", params={"service": "pay"}, content=body)
            got = sse_events(live_lines, 5)
            time.sleep(0.5)
            late = sse_events(slow_lines, 6)
        daemon.stop()
        assert [json.loads(data)["msg"] for _, data in got] == [f"step {i}" for i in range(0, 50, 10)]
        assert {kind for kind, _ in got} == {"record"}
        assert late[0] == ("missed", '{"missed":45}')
        assert [json.loads(data)["msg"] for _, data in late[1:]] == [f"step {i}" for i in range(45, 50)]

    def test_websocket_channel(self, tmp_path: Path) -> None:
        """/api/live over a WebSocket (the `websockets` client): the same filtered records as JSON
        messages, and a bad query closes the socket with the reason."""
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        daemon = Up(tmp_path)
        ws_url = daemon.url.replace("http://", "ws://") + "/api/live"
        with connect(ws_url + "?level=error&heartbeat=0.5") as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
            body = b"2026-11-27 10:00:00 INFO fine\n2026-11-27 10:00:01 ERROR broken pipe\n"
            daemon.client.post("/ingest", params={"service": "ws"}, content=body)
            messages = []
            while len([m for m in messages if m["type"] == "record"]) < 1:
                messages.append(json.loads(socket.recv(timeout=10)))
        with connect(ws_url + "?level=nonsense") as bad, pytest.raises(ConnectionClosed) as closed:
            bad.recv(timeout=10)
        daemon.stop()
        records = [m["record"] for m in messages if m["type"] == "record"]
        assert [(r["svc"], r["lvl"], r["msg"]) for r in records] == [("ws", "error", "broken pipe")]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    def test_a_closed_websocket_is_let_go_at_once(self, tmp_path: Path) -> None:
        """A subscriber that closes is dropped when it closes, not at its next heartbeat (a minute
        here): until then it would hold its buffer and the daemon's shutdown."""
        from websockets.sync.client import connect

        daemon = Up(tmp_path)
        ws_url = daemon.url.replace("http://", "ws://") + "/api/live?heartbeat=60"

        def subscribers() -> float:
            for line in daemon.client.get("/metrics").text.splitlines():
                if line.startswith("loglens_live_subscribers "):
                    return float(line.split()[1])
            raise AssertionError("no loglens_live_subscribers in /metrics")

        with connect(ws_url) as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
            assert subscribers() == 1
        deadline = time.monotonic() + 10
        while subscribers() != 0:
            assert time.monotonic() < deadline, "the closed subscriber was still held 10 s later"
            time.sleep(0.1)
        daemon.stop()

    def test_websocket_batches_with_a_regex_filter(self, tmp_path: Path) -> None:
        """`batch=true`: the records of one push arrive together in one `records` message; a filter
        only SQL decides (a regex) selects the same records as a simple one would."""
        from websockets.sync.client import connect

        daemon = Up(tmp_path)
        query = urlencode({"batch": "true", "q": "/step [0-9]*0$/", "service": "b"})
        ws_url = daemon.url.replace("http://", "ws://") + "/api/live?" + query
        with connect(ws_url) as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
            body = b"".join(f"2026-11-27 10:00:{i:02d} INFO step {i}\n".encode() for i in range(40))
            daemon.client.post("/ingest", params={"service": "b"}, content=body)
            daemon.client.post("/ingest", params={"service": "other"}, content=body)
            batches = []
            while sum(len(m["records"]) for m in batches) < 4:
                message = json.loads(socket.recv(timeout=10))
                if message["type"] == "records":
                    batches.append(message)
        daemon.stop()
        got = [r["msg"] for m in batches for r in m["records"]]
        assert got == ["step 0", "step 10", "step 20", "step 30"]
        assert len(batches) <= 2  # one push, one or two batches as the pipeline took them; not four

    def test_anomalies_and_incidents_are_pushed_as_found(self, tmp_path: Path) -> None:
        """The daemon's detectors watch what is pushed: anomalies and the incident reach a live
        subscriber as the minutes close — the same incident `/api/incidents` replays from the store —
        and a service filter keeps out another service's anomalies."""
        from websockets.sync.client import connect

        log = incident_scenario.write_jsonl(tmp_path / "scenario.jsonl")
        daemon = Up(tmp_path)
        ws_url = daemon.url.replace("http://", "ws://") + "/api/live?level=critical"
        messages: list[dict[str, object]] = []
        with connect(ws_url) as socket, connect(ws_url.replace("?", "?service=nobody&")) as other:
            assert json.loads(socket.recv(timeout=10))["type"] == "connected"
            assert json.loads(other.recv(timeout=10))["type"] == "connected"
            pushed = daemon.client.post("/ingest", params={"format": "json"}, content=log.read_bytes())
            assert pushed.status_code == 200
            while not any(m["type"] == "incident" and m["state"] == "closed" for m in messages):
                messages.append(json.loads(socket.recv(timeout=20)))
            other_got = []
            with pytest.raises(TimeoutError):
                while True:
                    other_got.append(json.loads(other.recv(timeout=1)))
        replayed = daemon.client.get("/api/incidents").json()
        daemon.stop()
        anomalies = [m["anomaly"] for m in messages if m["type"] == "anomaly"]
        incidents = [(m["state"], m["incident"]) for m in messages if m["type"] == "incident"]
        assert anomalies and {a["service"] for a in anomalies} <= {"db", "web"}  # type: ignore[index]
        assert [state for state, _ in incidents] == ["opened", "closed"]
        closed = incidents[-1][1]
        assert closed["root_cause"]["service"] == "db"  # type: ignore[index]
        assert len(replayed) == 1 and replayed[0]["id"] == closed["id"]  # type: ignore[index]
        assert [m["type"] for m in other_got] in ([], ["heartbeat"])


TOKENS = """
[[server.tokens]]
name = "shipper"
token = "ingest-secret-0123456789"
scopes = ["ingest"]

[[server.tokens]]
name = "oncall"
token_env = "LOGLENS_TEST_READ_TOKEN"
scopes = ["read"]

[[server.tokens]]
name = "ops"
token = "admin-secret-0123456789"
scopes = ["admin"]
"""
READ_SECRET = "read-secret-0123456789"


class TestAccess:
    def test_tokens_and_scopes_beyond_loopback(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With tokens the daemon listens on every address; each request needs a token holding its
        route's scope, sent the way its client sends credentials (Bearer, Basic, Splunk, DD-API-KEY,
        ?token=); a WebSocket handshake without one is refused."""
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        monkeypatch.setenv("LOGLENS_TEST_READ_TOKEN", READ_SECRET)
        daemon = Up(tmp_path, TOKENS, "--listen", "0.0.0.0:0")
        port = daemon.url.rsplit(":", 1)[1]
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        bearer = {"Authorization": "Bearer ingest-secret-0123456789"}
        assert client.post("/ingest", params={"service": "a"}, content=lines(3)).status_code == 401
        assert client.post("/ingest", params={"service": "a"}, content=lines(3), headers=bearer).json() == {
            "accepted": 3
        }
        hec = client.post(
            "/services/collector/event",
            headers={"Authorization": "Splunk ingest-secret-0123456789"},
            content=b'{"event": "hec line", "sourcetype": "x"}',
        )
        loki = client.post(
            "/loki/api/v1/push",
            auth=("tenant", "ingest-secret-0123456789"),
            json={"streams": [{"stream": {"job": "l"}, "values": [["1795000000000000000", "loki line"]]}]},
        )
        datadog = client.post(
            "/api/v2/logs", headers={"DD-API-KEY": "ingest-secret-0123456789"}, json=[{"message": "dd line"}]
        )
        assert (hec.status_code, loki.status_code, datadog.status_code) == (200, 204, 202)
        denied = client.get("/api/logs", headers=bearer)
        assert denied.status_code == 403 and "'shipper'" in denied.json()["detail"]
        assert client.get("/api/logs").status_code == 401
        read = client.get("/api/logs", params={"limit": 0, "token": READ_SECRET}).json()
        admin = client.get("/metrics", headers={"Authorization": "Bearer admin-secret-0123456789"})
        assert read["count"] == 6 and admin.status_code == 200
        assert client.post("/ingest", content=lines(1), params={"token": READ_SECRET}).status_code == 403
        ws_url = f"ws://127.0.0.1:{port}/api/live"
        with connect(ws_url + f"?token={READ_SECRET}") as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
        with pytest.raises(InvalidStatus) as refused, connect(ws_url):
            pass
        daemon.stop()
        assert refused.value.response.status_code == 403

    def test_the_cli_shows_its_token(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With tokens on, CLI commands through the daemon send one that may read: the first of the
        same loglens.toml, or $LOGLENS_TOKEN; one that may not gets the daemon's sentence."""
        monkeypatch.setenv("LOGLENS_TEST_READ_TOKEN", READ_SECRET)
        daemon = Up(tmp_path, TOKENS)
        pushed = daemon.client.post(
            "/ingest", params={"service": "a", "token": "ingest-secret-0123456789"}, content=lines(4)
        )
        assert pushed.status_code == 200
        store, config = str(daemon.store), str(tmp_path / "loglens.toml")
        env = {"LOGLENS_TEST_READ_TOKEN": READ_SECRET}
        with_config = run_loglens("logs", "--store", store, "--config", config, "-n", "all", env=env)
        bare = ["logs", "--store", store, "--config", str(tmp_path / "none.toml"), "-n", "all"]
        (tmp_path / "none.toml").write_text("")
        with_env = run_loglens(*bare, env={"LOGLENS_TOKEN": "admin-secret-0123456789"})
        refused = run_loglens(*bare, env={"LOGLENS_TOKEN": "ingest-secret-0123456789"}, check=False)
        daemon.stop()
        assert len(with_config.stdout.splitlines()) == 4 and with_env.stdout == with_config.stdout
        assert refused.returncode == 1 and "does not have the read scope" in refused.stderr

    def test_bad_token_settings_are_refused_at_start(self, tmp_path: Path) -> None:
        """A short secret, an unknown scope or a missing variable stop `up` with the reason."""
        cases = {
            'token = "short"\nscopes = ["read"]': "at least 16 characters",
            'token = "long-enough-secret-123"\nscopes = ["write"]': "scopes must be a list of",
            'token_env = "LOGLENS_UNSET_VAR"\nscopes = ["read"]': "LOGLENS_UNSET_VAR is not set",
        }
        for body, said in cases.items():
            (tmp_path / "loglens.toml").write_text(f'[[server.tokens]]\nname = "x"\n{body}\n')
            out = run_loglens(
                "up", "--store", str(tmp_path / "s.duckdb"), "--config", str(tmp_path / "loglens.toml"),
                check=False,
            )  # fmt: skip
            assert out.returncode != 0 and said in out.stderr, out.stderr


class TestSourcesFromConfig:
    def test_commands_are_run_read_and_restarted(self, tmp_path: Path) -> None:
        """A `[[commands]]` entry: its stdout and stderr are stored with their stream, each exit is a
        record with its code, it is restarted on failure (health counts the restarts), and a command
        still running when the daemon stops is stopped with it."""
        script = tmp_path / "flaky.py"
        script.write_text(
            "import sys, time\n"
            "print('starting worker', flush=True)\n"
            "print('ERROR cannot reach queue', file=sys.stderr, flush=True)\n"
            "sys.exit(3)\n"
        )
        forever = tmp_path / "forever.py"
        forever.write_text("import time\nprint('serving', flush=True)\ntime.sleep(600)\n")
        config = f"""
[[commands]]
name = "flaky"
command = ["{sys.executable}", "{script}"]
restart = "on-failure"
restart_delay = "200ms"

[[commands]]
name = "server"
command = ["{sys.executable}", "{forever}"]
"""
        daemon = Up(tmp_path, config)
        deadline = time.monotonic() + 30
        while True:
            health = daemon.client.get("/api/health").json()
            flaky = next(c for c in health["commands"] if c["name"] == "flaky")
            if flaky["restarts"] >= 2:
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        server = next(c for c in health["commands"] if c["name"] == "server")
        said = daemon.stop()
        assert daemon.proc.returncode == 0, said
        with pytest.raises(ProcessLookupError):
            os.kill(server["pid"], 0)
        store = DuckDBStore(daemon.store, read_only=True)
        rows = store.sql("SELECT service, fields->>'stream', level, message FROM records ORDER BY ts")[1]
        store.close()
        flaky_rows = [r for r in rows if r[0] == "flaky"]
        exits = [r for r in flaky_rows if r[1] == "exit"]
        assert len(exits) >= 3 and all("exited with code 3" in r[3] and r[2] == "error" for r in exits)
        assert ("flaky", "stdout", "info", "starting worker") in flaky_rows
        assert ("flaky", "stderr", "error", "cannot reach queue") in flaky_rows
        assert server["running"] and server["restarts"] == 0
        server_rows = [(r[1], r[2]) for r in rows if r[0] == "server"]
        assert server_rows == [("stdout", "info"), ("exit", "info")]
        assert any("forever.py was stopped by loglens with code 143" in r[3] for r in rows)

    @needs_journal
    def test_journald_resumes_from_its_cursor(self, tmp_path: Path) -> None:
        """`[journald]`: the daemon stores the journal's entries; stopped and started again after
        more were written, it stores exactly the new ones (the cursor is committed with them)."""
        journal = tmp_path / "journal"
        journal.mkdir()
        write_journal(journal / "one.journal", [entry(i) for i in range(12)])
        config = f'[journald]\ndirectory = "{journal}"\nsince = "all"\n'

        def stored() -> list[str]:
            store = DuckDBStore(tmp_path / "s.duckdb", read_only=True)
            rows = store.sql("SELECT message FROM records WHERE source = 'journald' ORDER BY ts")[1]
            store.close()
            return [str(r[0]) for r in rows]

        def wait_for(daemon: Up, count: int) -> None:
            deadline = time.monotonic() + 30
            while (
                daemon.client.get("/api/logs", params={"limit": 0, "q": "source:journald"}).json()["count"]
                < count
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)

        daemon = Up(tmp_path, config)
        wait_for(daemon, 12)
        daemon.stop()
        assert stored() == [f"entry {i}" for i in range(12)]
        write_journal(journal / "two.journal", [entry(i) for i in range(12, 30)])
        daemon = Up(tmp_path, config)
        wait_for(daemon, 30)
        time.sleep(0.5)
        daemon.stop()
        assert stored() == [f"entry {i}" for i in range(30)]


class TestVolumeFilter:
    def test_caps_info_keeps_every_error_and_counts_drops(self, tmp_path: Path) -> None:
        """`[filter]` on: 500 info lines of one template within a minute are cut to the rule's cap,
        every error is kept, and /metrics counts what the rule dropped."""
        config = """
[filter]
enabled = true

[[filter.rules]]
name = "cap-info"
action = "cap"
levels = "<=info"
limit = 50
"""
        daemon = Up(tmp_path, config)
        body = "".join(
            f"2026-11-27 10:00:{i % 60:02d} INFO request {i} served in {i % 7} ms\n"
            + (f"2026-11-27 10:00:{i % 60:02d} ERROR upstream {i} timed out\n" if i % 25 == 0 else "")
            for i in range(500)
        ).encode()
        assert daemon.client.post("/ingest", params={"service": "api"}, content=body).json() == {
            "accepted": 520
        }
        levels = [r["lvl"] for r in daemon.client.get("/api/logs", params={"limit": 0}).json()["records"]]
        metrics = daemon.client.get("/metrics").text
        daemon.stop()
        assert levels.count("error") == 20 and levels.count("info") == 50
        assert 'loglens_filter_dropped_total{rule="cap-info"} 450' in metrics
