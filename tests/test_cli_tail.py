"""Tests for `loglens tail`: the live view of files and stdin, run as a real process."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import run_loglens, spawned

ENV = {**os.environ, "TZ": "UTC"}


class Tail:
    """A running `loglens tail`, its output read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, stdout: int | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loglens", "tail", *args],
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            env={**ENV, "NO_COLOR": "1", **(env or {})},
        )
        spawned(self.proc)
        self._buffer = b""

    def lines(self, count: int, timeout: float = 15.0) -> list[str]:
        """Waits for `count` lines of output."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while self._buffer.count(b"\n") < count:
            left = deadline - time.monotonic()
            assert left > 0, f"got only {self._buffer!r}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                data = os.read(fd, 65536)
                assert data, f"tail ended early: {self._buffer!r} {self.stop()}"
                self._buffer += data
        *taken, rest = self._buffer.split(b"\n", count)
        self._buffer = rest
        return [line.decode() for line in taken]

    def stop(self) -> str:
        """Ctrl-C; returns what it said on stderr."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err.decode()


def write(path: Path, *lines: str) -> None:
    with path.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def stored_messages(store: Path) -> list[str]:
    out = run_loglens("sql", "--store", str(store), "--json", "SELECT message FROM records ORDER BY id")
    return [json.loads(line)["message"] for line in out.stdout.splitlines()]


class TestTailFiles:
    def test_backlog_then_live_plain_when_piped(self, tmp_path: Path) -> None:
        """Shows the last N lines already there, then new ones as written; no colour into a pipe."""
        log = tmp_path / "billing.log"
        store = tmp_path / "s.duckdb"
        write(log, *(f"2026-11-27 10:00:{i:02d} INFO step {i}" for i in range(30)))
        tail = Tail("--store", str(store), "-n", "3", str(log))
        assert [line.split()[-1] for line in tail.lines(3)] == ["27", "28", "29"]
        write(log, "2026-11-27 10:01:00 ERROR step 30 failed", "2026-11-27 10:01:01 INFO step 31")
        live = tail.lines(2)
        tail.stop()
        assert live[0] == "2026-11-27T10:01:00.000Z  billing      ERROR    step 30 failed"
        assert "\x1b[" not in "".join(live)
        assert len(stored_messages(store)) == 32  # everything stored, not only what was shown

    def test_colour_on_a_terminal(self, tmp_path: Path) -> None:
        """On a terminal, levels are coloured (error in #FF6B6B)."""
        log = tmp_path / "billing.log"
        write(log, "2026-11-27 10:00:00 ERROR disk full")
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglens", "tail", "--no-store", str(log)],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={k: v for k, v in ENV.items() if k != "NO_COLOR"},
        )
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 15
        while b"disk full" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 4096)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        os.close(leader)
        assert b"\x1b[38;2;255;107;107m" in seen and b"disk full" in seen

    def test_filters_show_less_but_store_all(self, tmp_path: Path) -> None:
        """--level, --grep and --query narrow what is shown; every record is still stored."""
        log = tmp_path / "billing.log"
        store = tmp_path / "s.duckdb"
        tail = Tail(
            "--store", str(store), "--level", ">=warning", "--grep", "disk", "--query", "-sda", str(log)
        )
        time.sleep(1.0)
        write(
            log,
            "2026-11-27 10:00:00 INFO disk check ok",
            "2026-11-27 10:00:01 WARNING disk sda nearly full",
            "2026-11-27 10:00:02 ERROR network down",
            "2026-11-27 10:00:03 ERROR disk sdb failed",
        )
        shown = tail.lines(1)
        tail.stop()
        assert shown == ["2026-11-27T10:00:03.000Z  billing      ERROR    disk sdb failed"]
        assert len(stored_messages(store)) == 4

    def test_no_store_writes_nothing(self, tmp_path: Path) -> None:
        """--no-store shows records without creating or touching a store."""
        log = tmp_path / "billing.log"
        store = tmp_path / "s.duckdb"
        write(log, "hello")
        tail = Tail("--store", str(store), "--no-store", str(log))
        assert tail.lines(1)[0].endswith("hello")
        tail.stop()
        assert not store.exists()

    def test_json_lines(self, tmp_path: Path) -> None:
        """--json prints one JSON object per record with the documented keys."""
        log = tmp_path / "billing.log"
        write(log, "2026-11-27 10:00:00 WARNING low memory")
        tail = Tail("--no-store", "--json", str(log))
        row = json.loads(tail.lines(1)[0])
        tail.stop()
        assert row["lvl"] == "warning" and row["msg"] == "low memory" and row["svc"] == "billing"

    def test_verbose_says_where_it_starts(self, tmp_path: Path) -> None:
        """-v says on stderr where each file is read from."""
        log = tmp_path / "billing.log"
        write(log, "x")
        tail = Tail("--no-store", "-v", str(log))
        tail.lines(1)
        said = tail.stop()
        assert f"following {log}" in said


class TestTailStdin:
    def test_reads_stdin_to_its_end(self, tmp_path: Path) -> None:
        """`… | loglens tail -` shows and stores every line, then exits when the pipe closes."""
        store = tmp_path / "s.duckdb"
        lines = "".join(f"2026-11-27 10:00:00 INFO piped {i}\n" for i in range(500)).encode()
        out = run_loglens("tail", "--store", str(store), "-n", "all", "-", stdin=lines)
        assert len(out.stdout.splitlines()) == 500
        assert stored_messages(store)[-1] == "piped 499"

    def test_backpressure_bounds_what_is_buffered(self) -> None:
        """When nobody reads tail's output, it stops reading its input: the producer blocks, and
        what tail took in is bounded; once output is read again, every line comes through in order."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglens", "tail", "--no-store", "-n", "all", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**ENV, "NO_COLOR": "1"},
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin_fd = proc.stdin.fileno()
        flags = fcntl.fcntl(stdin_fd, fcntl.F_GETFL)
        fcntl.fcntl(stdin_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        line = b"2026-11-27 10:00:00 INFO " + b"x" * 100 + b"\n"
        payload = b"".join(line[:-5] + b"%04d" % (i % 10000) + b"\n" for i in range(400_000))  # ~50 MB
        sent = 0
        stalled_since = None
        deadline = time.monotonic() + 30
        while sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += os.write(stdin_fd, payload[sent : sent + 65536])
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 2.0:
                    break  # tail stopped taking input: backpressure
                time.sleep(0.01)
        taken_while_blocked = sent
        # Nobody read tail's output: the pipes (64 KiB each way) plus tail's bounded reads and one
        # batch in flight are all it may hold — far below the 50 MB offered.
        assert taken_while_blocked < 16 * 1024 * 1024, taken_while_blocked
        # Now read everything, and let the producer finish.
        fcntl.fcntl(stdin_fd, fcntl.F_SETFL, flags)

        def feed() -> None:
            assert proc.stdin is not None
            proc.stdin.write(payload[sent:])
            proc.stdin.close()

        feeder = threading.Thread(target=feed)
        feeder.start()
        out = proc.stdout.read()
        feeder.join()
        proc.wait(60)
        shown = out.decode().splitlines()
        assert len(shown) == 400_000
        assert shown[-1].endswith("x" * 95 + "9999")


class TestTailTheDemo:
    def test_every_appended_event_stored_once(self, tmp_path: Path) -> None:
        """`loglens tail` on a folder the live demo appends to (7 files, 6 formats, tracebacks and
        stack traces) stores exactly the events the demo wrote, with no parse error."""
        corpus, store = tmp_path / "demo", tmp_path / "s.duckdb"
        tail = Tail("--store", str(store), "-n", "0", "--level", "fatal", str(corpus))
        demo = run_loglens(
            "demo", "--out", str(corpus), "--follow", "--hours", "0", "--rate", "300", "--duration", "4"
        )
        appended = int(demo.stderr.split("appended ")[1].split(" events")[0].replace(",", ""))
        time.sleep(2.5)  # the last events close after the quiet period, then a commit
        tail.stop()
        query = "SELECT count(*) AS n, count(parse_error) AS bad, count(DISTINCT service) AS services"
        counts = run_loglens("sql", "--store", str(store), "--json", query + " FROM records")
        row = json.loads(counts.stdout)
        assert appended > 800, appended
        assert row == {"n": appended, "bad": 0, "services": row["services"]} and row["services"] >= 7, row
