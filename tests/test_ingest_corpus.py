"""End to end on a generated corpus: event counts, first/last stamps and levels match truth.json.

This is the issue's acceptance check, on a 30k-line corpus: `loglens ingest DIR` through the real CLI
into a real DuckDB file, then the store is read back with DuckDB.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from conftest import LoglensCli

LEVELED_FORMATS = {"json", "logfmt", "python_logging", "java_logback"}
TRUTH_LEVEL = {"debug": "debug", "info": "info", "warn": "warning", "error": "error"}
STATUS = re.compile(r'" (\d{3}) ')


def iso_ms(ts: str) -> int:
    return round(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


# The stamp at the start of an event line, for the formats whose stamps carry milliseconds; read here
# independently of loglens's own parsers.
LINE_STAMPS = [
    (re.compile(r'"ts":"([^"]+)"'), lambda s: iso_ms(s)),
    (re.compile(r"^ts=(\S+)"), lambda s: iso_ms(s)),
    (re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[.,](\d{3})"), None),
]


def line_ms(line: str) -> int | None:
    """Milliseconds of the stamp on an event's first line (None for formats stamped to the second)."""
    for pattern, convert in LINE_STAMPS:
        m = pattern.search(line)
        if m:
            if convert is not None:
                return convert(m.group(1))
            return iso_ms(m.group(1).replace(" ", "T") + "Z") + int(m.group(2))
    return None


def first_and_last_event_lines(path: Path) -> tuple[str, str]:
    """The first line of the file and the first line of its last event (events start with a stamp)."""
    lines = path.read_text().splitlines()
    last = next(line for line in reversed(lines) if line[:1].isdigit() or line.startswith(("{", "ts=")))
    return lines[0], last


@pytest.fixture(scope="module")
def ingested(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    store = tmp_path_factory.mktemp("store") / "loglens.duckdb"
    proc = LoglensCli.run("ingest", "--store", str(store), str(corpus))
    return corpus, store, proc.stderr


class TestCorpusIngest:
    def test_skips_truth_and_templates(self, ingested: tuple[Path, Path, str]) -> None:
        """truth.json and templates.csv are reported as skipped, not ingested."""
        _, _, stderr = ingested
        assert re.search(r"skipped .*truth\.json: not a log file", stderr)
        assert re.search(r"skipped .*templates\.csv: not a log file", stderr)
        assert "0 errors" in stderr

    def test_event_counts_and_time_span_per_file(self, ingested: tuple[Path, Path, str]) -> None:
        """Every file stores exactly truth.json's event count, first and last stamps to the ms."""
        corpus, store, _ = ingested
        truth = json.loads((corpus / "truth.json").read_text())
        con = duckdb.connect(str(store), read_only=True)
        rows = con.execute(
            # epoch_ns, not epoch_ms: duckdb 2.0.1 fails epoch_ms on TIMESTAMP_NS (INT64 -> INT64 cast)
            "SELECT source, count(*), min(epoch_ns(ts)) // 1000000, max(epoch_ns(ts)) // 1000000, "
            "count(parse_error) FROM records GROUP BY source"
        ).fetchall()
        con.close()
        got = {Path(src).relative_to(corpus).as_posix(): rest for src, *rest in rows}
        assert set(got) == set(truth["files"])
        for name, info in truth["files"].items():
            count, first, last, errors = got[name]
            assert count == info["events"], name
            # truth.json states the span to the second; the lines themselves carry the milliseconds.
            assert first // 1000 * 1000 == iso_ms(info["first_ts"]), name
            assert last // 1000 * 1000 == iso_ms(info["last_ts"]), name
            if info["format"] in ("json", "logfmt", "python_logging", "java_logback"):
                first_line, last_line = first_and_last_event_lines(corpus / name)
                assert first == line_ms(first_line), name
                assert last == line_ms(last_line), name
            assert errors == 0, name

    def test_levels_match_templates(self, ingested: tuple[Path, Path, str]) -> None:
        """For leveled formats and nginx (by status) ≥ 99.5% of events carry the truth's level."""
        corpus, store, _ = ingested
        truth = json.loads((corpus / "truth.json").read_text())
        expected: dict[str, list[str | None]] = defaultdict(list)
        with (corpus / "templates.csv").open(newline="") as fh:
            for row in csv.DictReader(fh):
                level = truth["templates"][row["template_id"]]["level"]
                expected[row["file"]].append(TRUTH_LEVEL.get(level) if level else None)
        con = duckdb.connect(str(store), read_only=True)
        checked = 0
        for name, info in truth["files"].items():
            if info["format"] not in LEVELED_FORMATS and info["format"] != "nginx_combined":
                continue
            stored = con.execute(
                "SELECT level, raw FROM records WHERE source = ? ORDER BY id", [str(corpus / name)]
            ).fetchall()
            assert len(stored) == len(expected[name])
            agree = 0
            for (level, raw), want in zip(stored, expected[name], strict=True):
                if want is None:  # nginx: severity follows the status code
                    status = int(STATUS.search(raw).group(1))  # type: ignore[union-attr]
                    want = "error" if status >= 500 else "warning" if status >= 400 else "info"
                agree += level == want
            checked += 1
            assert agree / len(stored) >= 0.995, f"{name}: {agree}/{len(stored)}"
        con.close()
        assert checked == 5

    def test_tracebacks_are_one_event(self, ingested: tuple[Path, Path, str]) -> None:
        """A Python traceback and a Java stack trace are stored inside their event's raw text."""
        _, store, _ = ingested
        con = duckdb.connect(str(store), read_only=True)
        (py,) = con.execute(
            "SELECT count(*) FROM records WHERE service = 'worker' "
            "AND raw LIKE '%Traceback (most recent call last)%'"
        ).fetchone()  # type: ignore[misc]
        (java,) = con.execute(
            "SELECT count(*) FROM records WHERE service = 'billing' "
            "AND raw LIKE '%' || chr(10) || chr(9) || 'at %'"
        ).fetchone()  # type: ignore[misc]
        con.close()
        assert py > 0 and java > 0

    def test_ingest_again_reads_nothing_new(self, ingested: tuple[Path, Path, str]) -> None:
        """A second ingest of the same folder stores 0 records (checkpoints)."""
        corpus, store, _ = ingested
        proc = LoglensCli.run("ingest", "--store", str(store), str(corpus))
        assert "ingested 0 records" in proc.stderr
