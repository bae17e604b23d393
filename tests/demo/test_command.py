"""Tests for loglens.demo.command: `loglens demo` through click, as cli.py will register it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from loglens.demo.command import demo, parse_start


@click.group()
def cli() -> None:
    """A stand-in for loglens's group, which registers the command the same way."""


cli.add_command(demo)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["demo", *args])
    return result.exit_code, result.output


class TestDemoCommand:
    def test_writes_corpus_and_one_summary_line(self, tmp_path: Path) -> None:
        """The command writes the files and truth.json and sums up in one line."""
        code, output = run("--out", str(tmp_path), "--lines", "8000", "--hours", "2", "--seed", "3")
        assert code == 0, output
        assert re.fullmatch(
            r"demo: wrote [\d,]+ events \([\d,]+ lines, [\d.]+ [KM]B\) to 7 files in .+, "
            r"2026-01-12T00:00:00Z → 2026-01-12T02:00:00Z, 4 incidents \(truth\.json\), in [\d.]+ s.*\n",
            output,
        )
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth["seed"] == 3 and 7_500 < truth["totals"]["lines"] < 9_500

    def test_same_arguments_same_bytes(self, tmp_path: Path) -> None:
        """Run twice with the same arguments, the corpora are byte-identical."""
        for name in ("a", "b"):
            assert run("--out", str(tmp_path / name), "--lines", "5000", "--hours", "2", "-q") == (0, "")
        files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
        assert len(files) == 8
        for f in files:
            assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()

    def test_start_moves_the_span(self, tmp_path: Path) -> None:
        """--start with an offset is honoured; the files are stamped in UTC."""
        code, _ = run(
            "--out", str(tmp_path), "--lines", "3000", "--hours", "1", "--start", "2026-03-01T09:30:00+01:00"
        )
        assert code == 0
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth["start"] == "2026-03-01T08:30:00Z" and truth["incidents"] == []
        assert (tmp_path / "api/api.jsonl").read_text().startswith('{"ts":"2026-03-01T08:30:')

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--rate", "5"], "--rate: only with --follow"),
            (["--duration", "5"], "--duration: only with --follow"),
            (["--start", "yesterday"], "not an ISO 8601 time"),
            (["--hours", "0"], "must be above 0"),
            (["--lines", "0"], "--lines"),
        ],
    )
    def test_bad_options_are_usage_errors(self, tmp_path: Path, args: list[str], message: str) -> None:
        """Options that cannot work are refused with a message naming them, and nothing is written."""
        code, output = run("--out", str(tmp_path / "x"), *args)
        assert code == 2
        assert message in output
        assert not (tmp_path / "x").exists()

    def test_follow_appends_for_the_duration(self, tmp_path: Path) -> None:
        """--follow without history appends lines for --duration seconds, then sums up."""
        code, output = run(
            "--out", str(tmp_path), "--follow", "--hours", "0", "--rate", "150", "--duration", "1"
        )
        assert code == 0, output
        lines = output.splitlines()
        assert lines[0].startswith(f"demo: appending to {tmp_path} at 150 lines/s")
        assert lines[1].startswith("demo: appended ")
        written = sum(
            p.read_text().count("\n") for p in tmp_path.rglob("*") if p.suffix != ".json" and p.is_file()
        )
        assert 75 < written < 400

    def test_follow_history_ends_now(self, tmp_path: Path) -> None:
        """With --follow the history ends at the current minute and runs at the live rate."""
        code, output = run(
            "--out", str(tmp_path), "--follow", "--hours", "0.1", "--rate", "20", "--duration", "0.5"
        )
        assert code == 0, output
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth["lines_requested"] is None
        assert 0.1 * 3600 * 20 * 0.6 < truth["totals"]["lines"] < 0.1 * 3600 * 20 * 1.6
        assert truth["live"]["totals"]["lines"] > 0


class TestParseStart:
    def test_forms(self) -> None:
        """Z, offsets and zone-less times (read as UTC) are accepted."""
        assert parse_start("2026-01-12T00:00:00Z") == parse_start("2026-01-12T01:00:00+01:00")
        assert parse_start("2026-01-12 00:00") == parse_start("2026-01-12T00:00:00Z")
