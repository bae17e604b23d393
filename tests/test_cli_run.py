"""Tests for `loglens run -- CMD`: a command's output as a live source, its exit and its summary."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_loglens


def stored(store: Path, columns: str = "service, level, message, fields") -> list[dict[str, object]]:
    out = run_loglens("sql", "--store", str(store), "--json", f"SELECT {columns} FROM records ORDER BY id")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    for row in rows:
        if isinstance(row.get("fields"), str):
            row["fields"] = json.loads(row["fields"])
    return rows


class TestExitCodes:
    def test_success(self, tmp_path: Path) -> None:
        """A command that succeeds: exit 0, its output shown and stored, a summary with no errors."""
        store = tmp_path / "s.duckdb"
        out = run_loglens("run", "--store", str(store), "--", "sh", "-c", "echo built ok")
        assert out.returncode == 0
        assert out.stdout.rstrip().endswith("sh           INFO     built ok")
        assert "exit 0" in out.stderr and "0 errors" in out.stderr
        assert stored(store)[0]["message"] == "built ok"

    def test_failure_code_passes_through(self, tmp_path: Path) -> None:
        """loglens exits with the command's own exit code, and stores it with the duration."""
        store = tmp_path / "s.duckdb"
        out = run_loglens("run", "--store", str(store), "--", "sh", "-c", "sleep 0.2; exit 3", check=False)
        assert out.returncode == 3
        last = stored(store)[-1]
        fields = last["fields"]
        assert isinstance(fields, dict)
        assert last["level"] == "error" and fields["exit_code"] == 3 and fields["stream"] == "exit"
        assert 150 <= int(fields["duration_ms"]) < 10_000
        assert fields["command"] == "sh -c 'sleep 0.2; exit 3'"

    def test_killed_by_a_signal(self, tmp_path: Path) -> None:
        """A command killed by signal N exits 128+N, as a shell reports it."""
        out = run_loglens("run", "--no-store", "--", "sh", "-c", "kill -9 $$", check=False)
        assert out.returncode == 137
        assert "exit 137" in out.stderr

    def test_command_not_found(self) -> None:
        """A missing program exits 127 with one line saying so."""
        out = run_loglens("run", "--no-store", "--", "no-such-program-xyz", check=False)
        assert out.returncode == 127
        assert out.stderr.strip() == "loglens: command not found: no-such-program-xyz"


class TestStreams:
    def test_interleaved_stdout_and_stderr(self, tmp_path: Path) -> None:
        """Lines from both streams come in the order written, each stored with its stream."""
        store = tmp_path / "s.duckdb"
        script = "; ".join(
            f"echo 'step {i}' {'>&2' if i % 2 else ''}; sleep 0.05" for i in range(6)
        )  # even steps on stdout, odd on stderr
        out = run_loglens("run", "--store", str(store), "--service", "build", "--", "sh", "-c", script)
        shown = [line.split()[-1] for line in out.stdout.splitlines()]
        assert shown == ["0", "1", "2", "3", "4", "5"]
        rows = [r for r in stored(store) if isinstance(r["fields"], dict) and r["fields"]["stream"] != "exit"]
        assert [r["message"] for r in rows] == [f"step {i}" for i in range(6)]
        streams = [r["fields"]["stream"] for r in rows]  # type: ignore[index]
        assert streams == ["stdout", "stderr"] * 3
        assert {r["service"] for r in rows} == {"build"}

    def test_traceback_is_one_error_record_with_context(self, tmp_path: Path) -> None:
        """A Python traceback is one error record; the summary shows it with the lines before it."""
        store = tmp_path / "s.duckdb"
        program = "print('loading config'); print('connecting'); import json; json.loads('{bad')"
        out = run_loglens("run", "--store", str(store), "--", sys.executable, "-c", program, check=False)
        assert out.returncode == 1
        errors = [r for r in stored(store) if r["level"] == "error" and r["fields"]["stream"] == "stderr"]  # type: ignore[index]
        assert len(errors) == 1
        assert str(errors[0]["message"]).startswith("json.decoder.JSONDecodeError: Expecting property name")
        summary = out.stderr
        assert "1 error" in summary and "first error (record 3, stderr)" in summary
        assert summary.index("loading config") < summary.index("connecting") < summary.index("→")

    def test_build_output_levels(self, tmp_path: Path) -> None:
        """Compiler and build-tool lines get their levels, and rustc's quoted source stays with its error."""
        store = tmp_path / "s.duckdb"
        build = (
            "printf '%s\\n' 'Compiling app v0.1.0' "
            "'error[E0308]: mismatched types' ' --> src/main.rs:2:18' '  |' "
            "'2 |     let x: u32 = \"a\";' '  |            ---   ^^^ expected `u32`' "
            "'warning: unused variable: `y`' 'make: *** [Makefile:3: all] Error 101' "
            "'ERROR: Could not find a version that satisfies the requirement nope' >&2; exit 2"
        )
        out = run_loglens("run", "--store", str(store), "--json", "--", "sh", "-c", build, check=False)
        assert out.returncode == 2
        levels = {str(r["message"]): r["level"] for r in stored(store)}
        assert levels["Compiling app v0.1.0"] == "info"
        assert levels["error[E0308]: mismatched types"] == "error"
        assert levels["unused variable: `y`"] == "warning"
        assert levels["make: *** [Makefile:3: all] Error 101"] == "error"
        assert levels["Could not find a version that satisfies the requirement nope"] == "error"
        assert not any(message.startswith("2 |") for message in levels)
        summary = json.loads(out.stderr.strip().splitlines()[-1])
        assert summary["exit_code"] == 2 and summary["errors"] == 3 and summary["warnings"] == 1
        assert summary["first_error"]["text"].startswith("error[E0308]: mismatched types\n --> src/main.rs")

    def test_colour_codes_are_not_stored(self, tmp_path: Path) -> None:
        """Terminal colour sequences in a command's output are stripped before parsing and storing."""
        store = tmp_path / "s.duckdb"
        run_loglens(
            "run",
            "--store",
            str(store),
            "--",
            "printf",
            "\\033[1;31merror\\033[0m: linker failed\\n",
            check=False,
        )
        rows = stored(store, "message, raw")
        assert rows[0]["raw"] == "error: linker failed"


class TestSignals:
    def test_sigterm_is_passed_on(self, tmp_path: Path) -> None:
        """SIGTERM to loglens reaches the command; loglens still records its exit and summarises."""
        store = tmp_path / "s.duckdb"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loglens",
                "run",
                "--store",
                str(store),
                "--",
                "sh",
                "-c",
                "echo up; sleep 30",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # "up" was read: the command is running
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - started < 10
        assert proc.returncode == 128 + signal.SIGTERM
        assert f"exit {128 + signal.SIGTERM}" in err.decode()
        assert stored(store)[-1]["fields"]["exit_code"] == 143  # type: ignore[index]
