"""`loglens export` with the real CLI in a subprocess, on the shared generator's corpus ingested by
`loglens ingest`: JSON lines and CSV streamed from the store, the HTML report, the same through a
real daemon (`loglens up`) holding the store, and memory that does not grow with the export."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from conftest import run_loglens
from daemon_helpers import Up
from loglens.analysis.findings import replay_range
from loglens.config import Config
from loglens.server.discovery import CSV_COLUMNS
from loglens.store.duckdb import DuckDBStore

REGISTERED = "import sys; from loglens.cli import main; sys.argv[0] = 'loglens'; main()"
"""`loglens` itself (run with `-c` so that its peak memory can be reported)."""
PEAK_RSS = (
    "import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
    "f'peak_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')); "
)
QUERY = ["level:>=warning", "-s", "api", "--since", "2026-11-21T01:00:00Z", "--until", "2026-11-21T04:00:00Z"]
OOM_LINE = "python3 invoked oom-killer: gfp_mask=0x1 (export test)"
ALERT_RULE = (
    '[[alerts.rules]]\nname = "oom"\ntype = "match"\nregex = "invoked oom-killer"\nseverity = "critical"\n'
)
GENERATED = re.compile(r'<p class="generated">.*?</p>')
"""The one line of a report that differs between two runs: when it was made."""


def run_export(*args: str, check: bool = True, measure: bool = False) -> subprocess.CompletedProcess[str]:
    """`loglens export ARGS` in a subprocess (UTC, no colour), as `conftest.run_loglens` runs commands;
    `measure` adds `peak_rss_kb=N` (the process's peak resident memory) to stderr."""
    code = (PEAK_RSS if measure else "") + REGISTERED
    proc = subprocess.run(
        [sys.executable, "-c", code, "export", *args],
        capture_output=True,
        env={**os.environ, "TZ": "UTC", "NO_COLOR": "1"},
        check=False,
    )
    result = subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    )
    if check and result.returncode != 0:
        raise AssertionError(f"loglens export {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def peak_rss_kb(result: subprocess.CompletedProcess[str]) -> int:
    return int(re.findall(r"peak_rss_kb=(\d+)", result.stderr)[-1])


@pytest.fixture(scope="module")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's generated corpus (tests/conftest.py, 30k lines, 4 incidents) ingested by the CLI."""
    folder = tmp_path_factory.mktemp("export")
    run_loglens("ingest", "--store", str(folder / "s.duckdb"), str(corpus))
    return folder / "s.duckdb"


@pytest.fixture(scope="module")
def query_json(store: Path) -> list[str]:
    """The JSON lines `loglens export QUERY` writes for the module's query."""
    return run_export(*QUERY, "--store", str(store)).stdout.splitlines()


class TestJsonAndCsv:
    def test_json_is_logs_json_with_ids(self, store: Path, query_json: list[str]) -> None:
        """The matching records, one object per line exactly as `loglens logs --json -n all` prints
        them for the same query, plus each one's id."""
        printed = run_loglens("logs", "--json", "-n", "all", *QUERY, "--store", str(store)).stdout
        assert 50 < len(query_json) == len(printed.splitlines())
        ids = [json.loads(line)["id"] for line in query_json]
        assert [re.sub(r',"id":\d+}$', "}", line) for line in query_json] == printed.splitlines()
        assert len(set(ids)) == len(ids)

    def test_csv_holds_the_same_rows_as_json(self, store: Path, query_json: list[str]) -> None:
        """The CSV of the query parses with `csv`, has the documented header, and holds the same
        records in the same order as the JSON lines."""
        as_json = [json.loads(line) for line in query_json]
        text = run_export(*QUERY, "--format", "csv", "--store", str(store)).stdout
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        assert len(rows) == len(as_json)
        for row, item in zip(rows, as_json, strict=True):
            assert (int(row["id"]), row["ts"], row["level"], row["service"], row["message"]) == (
                item["id"], item["ts"], item["lvl"], item["svc"], item["msg"],
            )  # fmt: skip
            assert json.loads(row["fields"]) == item["fields"]

    def test_limit_and_output_file(self, store: Path, query_json: list[str], tmp_path: Path) -> None:
        """`--limit 5 -o FILE` writes the newest five matching records, oldest first, to FILE; stdout
        stays empty, stderr names the file, and no partial file is left beside it."""
        out = tmp_path / "five.ndjson"
        result = run_export(*QUERY, "--limit", "5", "-o", str(out), "--store", str(store))
        assert out.read_text().splitlines() == query_json[-5:]
        assert result.stdout == "" and str(out) in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["five.ndjson"]

    def test_a_refused_query_leaves_no_file(self, store: Path, tmp_path: Path) -> None:
        """An unreadable query is one line saying what is wrong, exit 1, and no file (not even partial)."""
        out = tmp_path / "bad.csv"
        result = run_export(
            "level:nope", "--format", "csv", "-o", str(out), "--store", str(store), check=False
        )
        assert result.returncode == 1 and "unknown level 'nope'" in result.stderr
        assert list(tmp_path.iterdir()) == []

    def test_html_report_from_the_store(self, store: Path, tmp_path: Path) -> None:
        """`--format html -o FILE` writes the report: every incident by id, an SVG chart, no script."""
        out = tmp_path / "report.html"
        run_export("--format", "html", "-o", str(out), "--store", str(store))
        document = out.read_text()
        opened = DuckDBStore(store, read_only=True)
        try:
            ids = [i.id for i in replay_range(opened, Config(), None, None).incidents]
        finally:
            opened.close()
        assert len(ids) == 4 and all(f'id="incident-{i}"' in document for i in ids)
        assert document.startswith("<!doctype html>") and "<svg" in document and "<script" not in document


@pytest.fixture(scope="module")
def daemon(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`loglens up` on a copy of the corpus store, with an alert rule that one pushed line fires."""
    folder = tmp_path_factory.mktemp("export-daemon")
    shutil.copy(store, folder / "s.duckdb")
    up = Up(folder, ALERT_RULE)
    try:
        line = json.dumps({"service": "kernel", "level": "error", "message": OOM_LINE})
        answer = up.client.post("/ingest", content=line, headers={"Content-Type": "application/x-ndjson"})
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 20
        while not up.client.get("/api/alerts", params={"state": "all"}).json()["alerts"]:
            assert time.monotonic() < deadline, "the pushed line opened no alert"
            time.sleep(0.1)
        yield up
    finally:
        up.stop()


def daemon_options(up: Up) -> list[str]:
    return ["--store", str(up.store), "--config", str(up.folder / "loglens.toml")]


class TestThroughTheDaemon:
    def test_api_html_is_the_report_as_a_download(self, daemon: Up) -> None:
        """`/api/export?format=html` answers the report as an attachment under a CSP allowing no
        script, with the daemon's incidents and the alert the pushed line opened."""
        answer = daemon.client.get("/api/export", params={"format": "html"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["content-disposition"] == 'attachment; filename="loglens-report.html"'
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        ids = [i["id"] for i in daemon.client.get("/api/incidents").json()]
        assert len(ids) == 4 and all(f'id="incident-{i}"' in answer.text for i in ids)
        (alert,) = daemon.client.get("/api/alerts", params={"state": "all"}).json()["alerts"]
        section = answer.text.split('<section id="alerts">', 1)[1].split("</section>", 1)[0]
        assert alert["title"].replace("'", "&#x27;").replace('"', "&quot;") in section and "oom" in section

    def test_cli_goes_through_the_daemon(self, daemon: Up) -> None:
        """While the daemon holds the store, the CLI's report is the API's document (but for the
        time it was made) and its JSON lines are the API's, the line pushed to the daemon included."""
        from_api = daemon.client.get("/api/export", params={"format": "html", "q": "service:kernel"}).text
        from_cli = run_export("service:kernel", "--format", "html", *daemon_options(daemon)).stdout
        assert GENERATED.sub("", from_cli) == GENERATED.sub("", from_api)
        assert OOM_LINE in from_cli
        exported = run_export("service:kernel", *daemon_options(daemon)).stdout
        from_api = daemon.client.get("/api/export", params={"q": "service:kernel", "limit": 10**6}).text
        assert exported == from_api and len(exported.splitlines()) > 500
        assert OOM_LINE in exported.splitlines()[-1]

    def test_the_daemons_refusal_is_its_sentence(self, daemon: Up) -> None:
        """Too many report lines are refused by the daemon (400) with the sentence saying why, exit 1."""
        many = run_export("--format", "html", "--limit", "20000", *daemon_options(daemon), check=False)
        assert many.returncode == 1 and "lists 0 to 10,000 lines" in many.stderr


class TestMemory:
    def test_three_times_the_records_take_no_more_memory(self, store: Path, tmp_path: Path) -> None:
        """JSON lines of every record of the corpus, and of three times it: the CLI's peak RSS grows
        by less than the store's own memory cap ([store] memory_limit, 64 MB here), so loglens holds
        no record beyond a chunk (holding them all, as a list, grew it by ~150 MB when measured)."""
        config = tmp_path / "loglens.toml"
        config.write_text('[store]\nmemory_limit = "64MB"\n')
        tripled = tmp_path / "tripled.duckdb"
        shutil.copy(store, tripled)
        with duckdb.connect(str(tripled)) as con:
            top, rows = con.execute("SELECT max(id), count(*) FROM records").fetchone() or (0, 0)
            for copy in (1, 2):
                con.execute(f"INSERT INTO records SELECT * REPLACE (id + {copy * top} AS id) FROM records "
                            f"WHERE id <= {top}")  # fmt: skip
            assert con.execute("SELECT count(*) FROM records").fetchone() == (3 * rows,)
        out = tmp_path / "all.ndjson"
        once = run_export("--config", str(config), "-o", str(out), "--store", str(store), measure=True)
        assert len(out.read_text().splitlines()) == rows > 29_000
        thrice = run_export("--config", str(config), "-o", os.devnull, "--store", str(tripled), measure=True)
        grown_mb = (peak_rss_kb(thrice) - peak_rss_kb(once)) / 1024
        assert grown_mb < 64, f"peak RSS grew by {grown_mb:.0f} MB for twice as many records more"
