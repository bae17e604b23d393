"""The CLI through a real subprocess: ingest, logs (filters, --json, --raw, colour), sql, bad input."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from conftest import REPO, LoglensCli

APP = [
    '{"ts":"2026-11-21T10:00:00.100Z","level":"info","msg":"started","service":"api","port":8080}',
    '{"ts":"2026-11-21T10:00:01.200Z","level":"warn","msg":"slow request","service":"api","latency_ms":1500}',
    '{"ts":"2026-11-21T10:00:02.300Z","level":"error","msg":"connection refused to db","service":"api",'
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","http":{"status":503}}',
    '{"ts":"2026-11-21T10:00:03.400Z","level":"info","msg":"healthcheck ok","service":"api"}',
]
WORKER = [
    "2026-11-21 10:00:05,000 INFO [jobs] job 1 done",
    "2026-11-21 10:00:06,000 ERROR [jobs] job 2 failed",
    "Traceback (most recent call last):",
    '  File "/app/jobs.py", line 3, in run',
    "    raise ValueError('bad')",
    "ValueError: bad",
    "2026-11-21 10:00:07,000 WARNING [jobs] retrying job 2",
]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.jsonl").write_text("\n".join(APP) + "\n")
    (logs / "worker.log").write_text("\n".join(WORKER) + "\n")
    path = tmp_path / "store.duckdb"
    LoglensCli.run("ingest", "--store", str(path), str(logs))
    return path


def logs(store: Path, *args: str) -> list[dict[str, object]]:
    out = LoglensCli.run("logs", "--store", str(store), "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


class TestLogs:
    def test_json_contract(self, store: Path) -> None:
        """--json prints the documented keys, oldest first, ts in ISO ms Z, nested fields kept."""
        records = logs(store, "--lines", "all")
        assert [r["msg"] for r in records][:3] == ["started", "slow request", "connection refused to db"]
        err = records[2]
        assert list(err) == ["ts", "lvl", "svc", "host", "pid", "msg", "src", "tpl", "params", "fields"]
        assert err["tpl"] == "api-3" and err["params"] == []
        assert err["ts"] == "2026-11-21T10:00:02.300Z"
        assert err["lvl"] == "error"
        assert err["svc"] == "api"
        assert err["src"].endswith("app.jsonl")  # type: ignore[union-attr]
        assert err["fields"] == {"http": {"status": 503}}
        assert records[1]["lvl"] == "warning"

    def test_level_forms(self, store: Path) -> None:
        """--level takes a list or a >= threshold."""
        assert {r["msg"] for r in logs(store, "--level", "error")} == {
            "connection refused to db",
            "job 2 failed",
        }
        at_least = [r["lvl"] for r in logs(store, "--level", ">=warning")]
        assert sorted(at_least) == ["error", "error", "warning", "warning"]
        assert len(logs(store, "--level", "error,warning")) == 4

    def test_query_grep_service_combined(self, store: Path) -> None:
        """A query, --grep and --service all apply together."""
        assert [r["msg"] for r in logs(store, "service:api", "-healthcheck", "--grep", "^s")] == [
            "started",
            "slow request",
        ]
        assert [r["msg"] for r in logs(store, "latency_ms:>1000")] == ["slow request"]
        assert [r["msg"] for r in logs(store, "http.status:>=500")] == ["connection refused to db"]
        assert [r["svc"] for r in logs(store, "--service", "worker", "--lines", "1")] == ["worker"]

    def test_since_until_and_lines(self, store: Path) -> None:
        """--since/--until bound the time (UTC here); --lines N keeps the newest N, printed oldest first."""
        got = logs(store, "--since", "2026-11-21 10:00:01", "--until", "2026-11-21 10:00:06")
        assert [r["msg"] for r in got] == [
            "slow request",
            "connection refused to db",
            "healthcheck ok",
            "job 1 done",
        ]
        assert [r["msg"] for r in logs(store, "--lines", "2")] == ["job 2 failed", "retrying job 2"]
        assert (
            logs(store, "--since", "1h") == []
        )  # the sample is from 2026-11-21, an hour before "now" is later

    def test_traceback_is_one_record(self, store: Path) -> None:
        """The Python traceback stays with its event and prints indented under it in text mode."""
        out = LoglensCli.run("logs", "--store", str(store), "--service", "worker").stdout
        lines = out.splitlines()
        assert lines[1].endswith("job 2 failed")
        assert lines[2].strip() == "Traceback (most recent call last):"
        assert lines[5].strip() == "ValueError: bad"
        assert "\x1b[" not in out  # piped: no colour

    def test_dedupe(self, tmp_path: Path) -> None:
        """--dedupe prints one line per run of repeats, with count, first and last time."""
        log = tmp_path / "w.log"
        log.write_text(
            "".join(
                f"2026-11-21 10:00:{s:02d},000 WARNING [jobs] retry {s} of 9 for job 7\n" for s in range(5)
            )
            + "2026-11-21 10:00:06,000 ERROR [jobs] job 7 failed\n"
        )
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), str(log))
        out = LoglensCli.run("logs", "--store", str(path), "--dedupe").stdout.splitlines()
        assert len(out) == 2
        assert out[0].endswith(
            "retry 0 of 9 for job 7 (x5, first: 2026-11-21T10:00:00.000Z, last: 2026-11-21T10:00:04.000Z)"
        )
        assert "job 7 failed (x1" in out[1]
        rows = [
            json.loads(x)
            for x in LoglensCli.run("logs", "--store", str(path), "--dedupe", "--json").stdout.splitlines()
        ]
        assert [r["count"] for r in rows] == [5, 1]
        tight = LoglensCli.run("logs", "--store", str(path), "--dedupe", "--window", "500ms")
        assert len(tight.stdout.splitlines()) == 6  # repeats 1 s apart: none within half a second
        bad = LoglensCli.run("logs", "--store", str(path), "--dedupe", "--window", "5 parsecs", check=False)
        assert bad.returncode == 1 and "duration" in bad.stderr

    def test_patterns(self, store: Path) -> None:
        """`patterns --json` lists templates with count, share, trend, level, first/last and a sample."""
        out = LoglensCli.run("patterns", "--store", str(store), "--service", "worker", "--json").stdout
        rows = [json.loads(line) for line in out.splitlines()]
        assert sum(r["count"] for r in rows) == 3
        assert {r["trend"] for r in rows} <= {"Rising", "Stable", "Declining"}
        failed = next(r for r in rows if "failed" in r["template"])
        assert failed["level"] == "error" and failed["sample"].endswith("job 2 failed")
        text = LoglensCli.run("patterns", "--store", str(store), "--top", "1").stdout
        assert len(text.splitlines()) == 2

    def test_raw(self, store: Path) -> None:
        """--raw prints the record's text as read."""
        out = LoglensCli.run("logs", "--store", str(store), "--raw", "--lines", "1", "service:api").stdout
        assert out == APP[3] + "\n"

    def test_bad_query_is_one_line(self, store: Path) -> None:
        """A query error prints one line with the position and exits non-zero, no traceback."""
        proc = LoglensCli.run("logs", "--store", str(store), "(unclosed", check=False)
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "never closed" in proc.stderr

    def test_colour_on_a_terminal_only(self, store: Path) -> None:
        """Colour codes appear under a pseudo-terminal and vanish with NO_COLOR."""
        import pty
        import subprocess
        import sys

        def run_tty(env: dict[str, str]) -> str:
            master, slave = pty.openpty()
            proc = subprocess.run(
                [sys.executable, "-m", "loglens", "logs", "--store", str(store), "--lines", "3"],
                stdout=slave,
                stderr=subprocess.PIPE,
                env={**os.environ, "TZ": "UTC", **env},
                check=True,
            )
            os.close(slave)
            data = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            os.close(master)
            assert proc.returncode == 0
            return data.decode()

        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        coloured = run_tty({**env})
        assert "\x1b[" in coloured
        os.environ.pop("NO_COLOR", None)
        plain = run_tty({"NO_COLOR": "1"})
        assert "\x1b[" not in plain and "ERROR" in plain


class TestIngest:
    def test_stdin(self, tmp_path: Path) -> None:
        """`ingest -` reads standard input, detects its format and tags it as source '-'."""
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), "-", stdin=("\n".join(APP) + "\n").encode())
        records = logs(path)
        assert len(records) == 4 and {r["src"] for r in records} == {"-"}
        assert records[2]["lvl"] == "error"

    def test_appended_lines_only(self, tmp_path: Path) -> None:
        """A second ingest reads only what was appended; --from-start reads everything again."""
        log = tmp_path / "app.jsonl"
        log.write_text("\n".join(APP[:2]) + "\n")
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), str(log))
        with log.open("a") as fh:
            fh.write("\n".join(APP[2:]) + "\n")
        proc = LoglensCli.run("ingest", "--store", str(path), str(log))
        assert "ingested 2 records" in proc.stderr
        assert len(logs(path, "--lines", "all")) == 4
        LoglensCli.run("ingest", "--store", str(path), "--from-start", str(log))
        assert len(logs(path, "--lines", "all")) == 8

    def test_rotated_file_read_from_start(self, tmp_path: Path) -> None:
        """A different file at the same path (rotation) is read from its start."""
        log = tmp_path / "app.jsonl"
        log.write_text("\n".join(APP[:3]) + "\n")
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), str(log))
        log.unlink()
        log.write_text(APP[3] + "\n")
        proc = LoglensCli.run("ingest", "--store", str(path), str(log))
        assert "ingested 1 records" in proc.stderr

    def test_gz(self, tmp_path: Path) -> None:
        """A .gz file is read through gzip."""
        log = tmp_path / "app.jsonl.1.gz"
        with gzip.open(log, "wt") as fh:
            fh.write("\n".join(APP) + "\n")
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), str(tmp_path))
        assert [r["svc"] for r in logs(path)] == ["api"] * 4

    def test_bad_input_loses_nothing(self, tmp_path: Path) -> None:
        """Garbage bytes, NULs, a 50 MB line and truncated JSON are stored, and the exit code is 0."""
        log = tmp_path / "bad.jsonl"
        with log.open("wb") as fh:
            for line in APP:  # detection samples the head: let it see what the file mostly is
                fh.write(line.encode() + b"\n")
            fh.write(b'{"ts":"2026-11-21T10:00:09Z","msg":"trunc\n')
            fh.write(b"not json \xff\xfe\x00 at all\n")
            fh.write(b'{"msg":"' + b"x" * 50_000_000 + b'"}\n')
            fh.write(APP[1].encode() + b"\n")
        path = tmp_path / "s.duckdb"
        proc = LoglensCli.run(
            "ingest", "--store", str(path), "--config", str(write_config(tmp_path)), str(log)
        )
        assert "1 over-long lines truncated" in proc.stderr
        records = logs(path, "--lines", "all")
        assert len(records) == 8
        errors = [r for r in records if "parse_error" in r]
        assert len(errors) == 3  # truncated JSON, garbage, the cut 50 MB line
        assert any("\\xff\\xfe\\x00" in str(r["msg"]) for r in errors)
        cut = next(r for r in errors if "truncated" in str(r["msg"]))
        assert len(str(cut["msg"])) < 70_000

    def test_nothing_readable_exits_1(self, tmp_path: Path) -> None:
        """Only when nothing could be read is the exit code non-zero."""
        proc = LoglensCli.run(
            "ingest", "--store", str(tmp_path / "s.duckdb"), str(tmp_path / "missing.log"), check=False
        )
        assert proc.returncode == 1
        assert "no such file or directory" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_deleted_while_reading(self, tmp_path: Path) -> None:
        """A file unlinked after it was opened is still read to its end (the open handle keeps it)."""
        from loglens.config import Config
        from loglens.pipeline import Ingestor
        from loglens.sources import file as file_source
        from loglens.store.duckdb import DuckDBStore

        log = tmp_path / "gone.jsonl"
        log.write_text("\n".join(APP) + "\n")
        real_open = file_source.open_binary

        def open_then_delete(path: Path):  # type: ignore[no-untyped-def]
            stream = real_open(path)
            path.unlink()
            return stream

        file_source.open_binary = open_then_delete  # type: ignore[assignment]
        try:
            store = DuckDBStore(tmp_path / "s.duckdb")
            report = Ingestor(store, Config()).ingest_paths([str(log)])
            store.close()
        finally:
            file_source.open_binary = real_open  # type: ignore[assignment]
        assert report.records == 4 and not report.errors

    def test_unreadable_file_is_reported_and_others_read(self, tmp_path: Path) -> None:
        """A file that cannot be opened is an error line; the other files are still stored.

        Root reads every file, so the refusal is made by replacing the opener (CI runs as root).
        """
        from loglens.config import Config
        from loglens.pipeline import Ingestor
        from loglens.sources import file as file_source
        from loglens.store.duckdb import DuckDBStore

        (tmp_path / "a.jsonl").write_text(APP[0] + "\n")
        (tmp_path / "secret.jsonl").write_text(APP[1] + "\n")
        real_open = file_source.open_binary

        def refuse_secret(path: Path):  # type: ignore[no-untyped-def]
            if path.name == "secret.jsonl":
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path)

        file_source.open_binary = refuse_secret  # type: ignore[assignment]
        try:
            store = DuckDBStore(tmp_path / "s.duckdb")
            report = Ingestor(store, Config()).ingest_paths(
                [str(tmp_path / "a.jsonl"), str(tmp_path / "secret.jsonl")]
            )
            store.close()
        finally:
            file_source.open_binary = real_open  # type: ignore[assignment]
        assert report.records == 1
        assert [(s.display.endswith("secret.jsonl"), s.error) for s in report.errors] == [
            (True, "permission denied")
        ]
        assert not report.nothing_read

    def test_forced_format_and_service(self, tmp_path: Path) -> None:
        """[[sources]] in loglens.toml forces a format and a service for matching files."""
        log = tmp_path / "odd.txt"
        log.write_text("ts=2026-11-21T10:00:00Z level=error msg=boom\n")
        cfg = tmp_path / "loglens.toml"
        cfg.write_text(f'[[sources]]\npath = "{tmp_path}/*.txt"\nformat = "plain"\nservice = "legacy"\n')
        path = tmp_path / "s.duckdb"
        LoglensCli.run("ingest", "--store", str(path), "--config", str(cfg), str(log))
        (rec,) = logs(path)
        assert rec["svc"] == "legacy"
        assert rec["msg"].startswith("ts=2026")  # type: ignore[union-attr]


def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "small-lines.toml"
    cfg.write_text("[ingest]\nmax_line_bytes = 65536\n")
    return cfg


class TestSql:
    def test_select_and_refusal(self, store: Path) -> None:
        """SELECT prints TSV when piped; a write is refused with a clear message and exit 1."""
        out = LoglensCli.run(
            "sql", "--store", str(store), "SELECT service, count(*) AS n FROM records GROUP BY 1 ORDER BY 1"
        )
        assert out.stdout.splitlines() == ["service\tn", "api\t4", "worker\t3"]
        proc = LoglensCli.run("sql", "--store", str(store), "DELETE FROM records", check=False)
        assert proc.returncode == 1
        assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
        again = LoglensCli.run("sql", "--store", str(store), "--json", "SELECT count(*) AS n FROM records")
        assert json.loads(again.stdout) == {"n": 7}


class TestReadme:
    def test_readme_starts_with_the_two_commands(self) -> None:
        """README.md shows `make run` and `make test` at its top."""
        head = (REPO / "README.md").read_text().splitlines()[:15]
        assert any("make run" in line for line in head) and any("make test" in line for line in head)
