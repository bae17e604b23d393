"""Tests for loglens.demo.writer: corpus files, truth.json, and the live `follow` tail."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC
from pathlib import Path

from loglens.config import Config
from loglens.demo.services import SERVICES
from loglens.demo.stream import DEFAULT_START_NS, history_spec
from loglens.demo.writer import TRUTH_FILE, follow, write_corpus
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class TestWriteCorpus:
    def test_files_and_truth_agree(self, tmp_path: Path) -> None:
        """truth.json's per-file counts are the files' real line and byte counts; mtimes are last lines."""
        summary = write_corpus(tmp_path, history_spec(hours=2, lines=15_000, seed=3), 15_000)
        truth = json.loads((tmp_path / TRUTH_FILE).read_text())
        assert set(truth["files"]) == {s.path for s in SERVICES}
        for path, entry in truth["files"].items():
            data = (tmp_path / path).read_bytes()
            assert entry["lines"] == data.count(b"\n")
            assert entry["bytes"] == len(data)
            assert (tmp_path / path).stat().st_mtime_ns == summary.files[path].last_ns
        assert truth["totals"]["lines"] == summary.lines
        assert truth["lines_requested"] == 15_000
        assert truth["start"] == "2026-01-12T00:00:00Z" and truth["end"] == "2026-01-12T02:00:00Z"
        assert [i["id"] for i in truth["incidents"]] == ["INC-1", "INC-2", "INC-3", "INC-4"]
        chain = next(i for i in truth["incidents"] if i["kind"] == "causal_chain")
        assert chain["root_cause"] == "postgresql"
        assert chain["services"] == ["postgresql", "inventory", "api", "edge"]
        assert chain["injected_events"]["db/postgresql.log"] > 0

    def test_same_arguments_same_bytes(self, tmp_path: Path) -> None:
        """Writing twice with the same spec gives byte-identical folders; another seed does not."""
        write_corpus(tmp_path / "a", history_spec(hours=2, lines=10_000, seed=5))
        write_corpus(tmp_path / "b", history_spec(hours=2, lines=10_000, seed=5))
        write_corpus(tmp_path / "c", history_spec(hours=2, lines=10_000, seed=6))
        assert tree(tmp_path / "a") == tree(tmp_path / "b")
        assert tree(tmp_path / "a")["edge/access.log"] != tree(tmp_path / "c")["edge/access.log"]

    def test_rewrite_replaces(self, tmp_path: Path) -> None:
        """Writing into a folder that holds a corpus replaces its files instead of appending."""
        write_corpus(tmp_path, history_spec(hours=1, lines=5_000, seed=1))
        first = tree(tmp_path)
        write_corpus(tmp_path, history_spec(hours=1, lines=5_000, seed=1))
        assert tree(tmp_path) == first


class TestFollow:
    def test_appends_now_stamped_lines_that_parse(self, tmp_path: Path) -> None:
        """1.5 s at 200 lines/s appends ~300 lines stamped now, which loglens ingests without error."""
        stop = threading.Event()
        result = []
        worker = threading.Thread(target=lambda: result.append(follow(tmp_path, rate=200, seed=1, stop=stop)))
        started = time.time_ns()
        worker.start()
        time.sleep(1.5)
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
        summary = result[0]
        assert 150 < summary.lines < 600
        store = DuckDBStore(tmp_path.parent / f"{tmp_path.name}.duckdb")
        report = Ingestor(store, Config(timezone=UTC)).ingest_paths([str(tmp_path)])
        _, rows = store.sql("SELECT min(epoch_ns(ts)), max(epoch_ns(ts)), count(*) FROM records")
        store.close()
        assert sum(s.parse_errors for s in report.sources) == 0
        assert report.records == summary.events
        low, high, count = rows[0]
        assert count == summary.events
        assert started - 2 * 10**9 <= low and high <= time.time_ns()

    def test_continues_a_history(self, tmp_path: Path) -> None:
        """After a written history, follow appends to the same files and truth.json keeps both."""
        history = write_corpus(tmp_path, history_spec(DEFAULT_START_NS, hours=2, lines=5_000, seed=2))
        before = {path: (tmp_path / path).read_bytes() for path in history.files}
        summary = follow(tmp_path, rate=300, seed=2, duration_s=1.5, incident_every_s=0.2)
        for path, data in before.items():
            assert (tmp_path / path).read_bytes().startswith(data)
        assert sum((tmp_path / p).stat().st_size - len(data) for p, data in before.items()) == summary.bytes
        truth = json.loads((tmp_path / TRUTH_FILE).read_text())
        ids = [i["id"] for i in truth["incidents"]]
        assert ids[:4] == ["INC-1", "INC-2", "INC-3", "INC-4"]
        assert ids[4:] and ids[4] == "INC-5"  # live incidents go on numbering
        assert truth["live"]["totals"]["lines"] == summary.lines
