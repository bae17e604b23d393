"""End to end: a 6 h × 100k-line demo corpus through loglens's real pipeline and detectors.

Ingested with `Ingestor` into a DuckDB store (as `loglens ingest DIR` does), then replayed with
`analysis.watch.replay` (as `loglens incidents` does); every claim is checked against truth.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loglens.analysis.watch import Replay, replay
from loglens.config import Config
from loglens.demo.stream import history_spec
from loglens.demo.writer import write_corpus
from loglens.formats import registry
from loglens.formats.detect import detect_format
from loglens.pipeline import DETECT_BYTES, Ingestor, IngestReport
from loglens.sources.file import read_head
from loglens.sources.lines import decode_lines
from loglens.store.duckdb import DuckDBStore

SEEDS = (42, 7)
MINUTE_NS = 60 * 10**9


def ns(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1e9)


@dataclass
class Ingested:
    """A corpus, its truth, and what loglens made of it."""

    corpus: Path
    truth: dict[str, Any]
    report: IngestReport
    found: Replay
    services: dict[str, set[str]]
    continuation_lines: dict[str, int]

    def relative(self, display: str) -> str:
        return str(Path(display).relative_to(self.corpus))


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def ingested(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    root = tmp_path_factory.mktemp(f"demo-{request.param}")
    corpus = root / "corpus"
    write_corpus(corpus, history_spec(hours=6, lines=100_000, seed=request.param), 100_000)
    store = DuckDBStore(root / "loglens.duckdb")
    try:
        # The demo writes UTC; the zone is given so the test does not depend on the machine's.
        report = Ingestor(store, Config(timezone=UTC)).ingest_paths([str(corpus)])
        found = replay(store)
        _, rows = store.sql("SELECT source, service FROM records GROUP BY ALL")
        _, extra = store.sql(
            "SELECT source, sum(length(raw) - length(replace(raw, chr(10), ''))) FROM records GROUP BY 1"
        )
    finally:
        store.close()
    services: dict[str, set[str]] = {}
    for source, service in rows:
        services.setdefault(str(Path(source).relative_to(corpus)), set()).add(service)
    continuation = {str(Path(source).relative_to(corpus)): int(n) for source, n in extra}
    truth = json.loads((corpus / "truth.json").read_text())
    return Ingested(corpus, truth, report, found, services, continuation)


class TestIngest:
    def test_formats_detected_as_intended(self, ingested: Ingested) -> None:
        """loglens's own detector picks each file's intended format, in the pipeline and on its head."""
        chosen = {ingested.relative(s.display): s.format for s in ingested.report.sources}
        assert chosen == {path: entry["format"] for path, entry in ingested.truth["files"].items()}
        formats = list(registry().values())
        for path, entry in ingested.truth["files"].items():
            head = read_head(ingested.corpus / path, DETECT_BYTES)
            lines, _ = decode_lines(head[: head.rfind(b"\n")])
            assert detect_format(lines, formats, registry()["plain"]).fmt.name == entry["format"], path

    def test_every_event_stored_once_without_errors(self, ingested: Ingested) -> None:
        """Each file stores exactly truth's event count, with no parse error, nothing truncated."""
        assert [s.display for s in ingested.report.skipped] == [str(ingested.corpus / "truth.json")]
        for source in ingested.report.sources:
            entry = ingested.truth["files"][ingested.relative(source.display)]
            assert (source.records, source.parse_errors, source.truncated, source.error) == (
                entry["events"],
                0,
                0,
                None,
            ), source.display

    def test_traces_are_framed_as_one_event(self, ingested: Ingested) -> None:
        """Every continuation line of a traceback or stack trace is inside its event's record."""
        for path, entry in ingested.truth["files"].items():
            assert ingested.continuation_lines[path] == entry["lines"] - entry["events"], path
        assert ingested.continuation_lines["checkout/checkout.log"] > 0
        assert ingested.continuation_lines["inventory/inventory.log"] > 1_000

    def test_services_are_named_as_truth_says(self, ingested: Ingested) -> None:
        """Records get the services truth.json names (syslog: one per program)."""
        for path, entry in ingested.truth["files"].items():
            assert ingested.services[path] == set(entry["services"]), path


class TestDetection:
    def test_each_incident_found_with_its_root_cause(self, ingested: Ingested) -> None:
        """Each injected incident is reported within 3 minutes of its start, its root cause ranked first."""
        for true in ingested.truth["incidents"]:
            start, end = ns(true["start"]), ns(true["end"])
            matches = [
                i for i in ingested.found.incidents
                if i.start_ns <= end and i.end_ns >= start and abs(i.start_ns - start) <= 3 * MINUTE_NS
            ]  # fmt: skip
            assert len(matches) == 1, true["id"]
            (incident,) = matches
            assert incident.candidates()[0].service == true["root_cause"], true["id"]
            assert incident.detected_ns - start <= 3 * MINUTE_NS
            assert incident.services[0] == true["root_cause"]
            assert set(true["services"]) - {"systemd"} <= set(incident.services)

    def test_no_incident_outside_the_injected_ones(self, ingested: Ingested) -> None:
        """Baseline noise (scanners, rare errors, the night's ebb) opens no incident of its own."""
        windows = [
            (ns(t["start"]) - 3 * MINUTE_NS, ns(t["end"]) + 5 * MINUTE_NS)
            for t in ingested.truth["incidents"]
        ]
        stray = [
            i.id for i in ingested.found.incidents if not any(lo <= i.start_ns <= hi for lo, hi in windows)
        ]
        assert stray == []
        assert len(ingested.found.incidents) == len(ingested.truth["incidents"])
