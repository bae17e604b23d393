"""Tests for loglens.pipeline: the single writer's commits, checkpoints and failure handling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loglens import pipeline
from loglens.config import Config
from loglens.pipeline import Ingestor, StoreWriter
from loglens.record import Record
from loglens.sources.file import Checkpoint
from loglens.store import duckdb as duckdb_store
from loglens.store.duckdb import DuckDBStore


def records(n: int, start: int = 0) -> list[Record]:
    return [
        Record(ts=10**18 + i, observed_ts=10**18, service="s", source="f", message=f"m{i}", raw=f"m{i}")
        for i in range(start, start + n)
    ]


class SpyStore(DuckDBStore):
    """A real DuckDB store that records what each commit contained."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits: list[tuple[int, list[int]]] = []

    def commit(self, checkpoints: Any = ()) -> None:
        self.commits.append((self.uncommitted, [c.offset for c in checkpoints]))
        super().commit(checkpoints)


class TestStoreWriter:
    def test_commits_on_row_group_boundaries(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bulk commits end exactly on the store's boundary; checkpoints wait for their records."""
        monkeypatch.setattr(duckdb_store, "ROW_GROUP_ROWS", 100)
        store = SpyStore(tmp_path / "s.duckdb")
        writer = StoreWriter(store, stage_records=30)
        offset = 0
        for i in range(9):
            offset += 1000
            writer.put(records(30, i * 30), Checkpoint("/f", 1, offset, "fp", 4))
        writer.close()
        sizes = [size for size, _ in store.commits]
        assert sizes == [100, 100, 70]
        # The first commit holds records 1–100: only the checkpoints of batches wholly inside it
        # (the third batch ends at record 90) may commit with it.
        assert store.commits[0][1] == [3000]
        assert store.commits[-1][1] == [9000]
        assert store.count() == 270
        assert store.checkpoint("/f") == Checkpoint("/f", 1, 9000, "fp", 4)
        store.close()

    def test_batch_spanning_several_boundaries(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A staged batch bigger than the commit unit is cut at every boundary it crosses."""
        monkeypatch.setattr(duckdb_store, "ROW_GROUP_ROWS", 10)
        store = SpyStore(tmp_path / "s.duckdb")
        writer = StoreWriter(store, stage_records=35)
        writer.put(records(35), Checkpoint("/f", 1, 35, "fp", 4))
        writer.close()
        assert [size for size, _ in store.commits] == [10, 10, 10, 5]
        assert [offsets for _, offsets in store.commits] == [[], [], [], [35]]
        store.close()

    def test_writer_failure_reaches_the_producer(self, tmp_path: Path) -> None:
        """A failing store raises in put/close instead of blocking the producer forever."""

        class Broken(DuckDBStore):
            def append(self, batch: Any) -> None:
                raise RuntimeError("disk on fire")

        store = Broken(tmp_path / "s.duckdb")
        writer = StoreWriter(store, stage_records=1)
        with pytest.raises(RuntimeError, match="disk on fire"):
            try:
                for i in range(50):
                    writer.put(records(5, i * 5))
            finally:
                writer.close()
        store.close()


class TestIngestor:
    def test_an_over_long_service_name_is_cut_before_mining(self, tmp_path: Path) -> None:
        """A hostile service name of 100 KB is stored cut to MAX_SERVICE_CHARS, and so is the template
        id made from it (PostgreSQL refuses index entries past ~2.7 KB: a whole commit would fail)."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        ingestor = Ingestor(store, Config())
        ingestor.start_mining(0)
        record = Record(ts=1, observed_ts=1, service="s" * 100_000, source="push", message="m 1", raw="m 1")
        ingestor.mine([record])
        assert record.service == "s" * pipeline.MAX_SERVICE_CHARS
        assert record.template_id is not None and len(record.template_id) < pipeline.MAX_SERVICE_CHARS + 20
        store.close()

    def test_checkpoint_only_covers_what_was_stored(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After a multi-line file is ingested in small chunks, the checkpoint is the file's size."""
        log = tmp_path / "worker.log"
        lines = []
        for i in range(300):
            lines.append(f"2026-11-21 10:00:{i % 60:02d},000 ERROR [jobs] job {i} failed")
            lines += ["Traceback (most recent call last):", '  File "x.py", line 1, in f', "ValueError: bad"]
        log.write_text("\n".join(lines) + "\n")
        monkeypatch.setattr(pipeline, "LineReader", _small_chunks(pipeline.LineReader))
        store = DuckDBStore(tmp_path / "s.duckdb")
        report = Ingestor(store, Config()).ingest_paths([str(log)])
        assert report.records == 300
        cp = store.checkpoint(str(log.resolve()))
        assert cp is not None and cp.offset == log.stat().st_size
        # Every stored event kept its whole traceback, even across chunk boundaries.
        _, rows = store.sql("SELECT count(*) FROM records WHERE raw LIKE '%ValueError: bad'")
        assert rows == [(300,)]
        store.close()

    def test_records_carry_templates_and_ids_survive_restarts(self, tmp_path: Path) -> None:
        """Every stored record has a template id and values; the `templates` table's counts equal the
        records'; a second run (a new process would do the same) maps known messages to known ids."""
        log = tmp_path / "app.log"
        log.write_text("".join(f"2026-11-21 10:00:{i % 60:02d} INFO job {i} done in {i * 3}ms\n"
                               for i in range(200)))  # fmt: skip
        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        Ingestor(store, Config()).ingest_paths([str(log)])
        _, before = store.sql("SELECT id, template FROM templates")
        store.close()
        with log.open("a") as f:  # the file grows; the next run resumes from its checkpoint
            for i in range(50):
                f.write(f"2026-11-21 11:00:{i % 60:02d} INFO job {i} done in {i}ms\n")
                f.write("2026-11-21 11:00:00 ERROR disk full on /dev/sda1\n")
        store = DuckDBStore(path)  # a new run starts from what the store holds
        Ingestor(store, Config()).ingest_paths([str(log)])
        _, rows = store.sql("SELECT count(*), count(template_id), count(params) FROM records")
        assert rows == [(300, 300, 300)]
        _, templates = store.sql("SELECT id, template, count, level FROM templates ORDER BY id")
        assert [t[:2] for t in templates if t[:2] in before] == before  # kept, not renumbered
        assert {t[1]: t[2:] for t in templates} == {
            "job <*> done in <*>": (250, "info"),
            "disk full on <*>": (50, "error"),
        }
        _, orphans = store.sql(
            "SELECT count(*) FROM records r LEFT JOIN templates t ON t.id = r.template_id WHERE t.id IS NULL"
        )
        assert orphans == [(0,)]
        _, params = store.sql("SELECT params FROM records WHERE message LIKE 'job 7 %' ORDER BY id")
        assert params == [(["7", "21ms"],), (["7", "7ms"],)]
        store.close()

    @pytest.mark.parametrize(("crash_at", "use_process"), [(1, False), (2, False), (5, False), (3, True)])
    def test_crash_after_a_commit_resumes_exactly(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int, use_process: bool
    ) -> None:
        """The process dies right after commit N (commits end inside read chunks); the next run stores
        exactly the records that were not committed: none lost, none twice."""
        monkeypatch.setattr(duckdb_store, "ROW_GROUP_ROWS", 700)
        monkeypatch.setattr(pipeline, "LineReader", _small_chunks(pipeline.LineReader))
        log = tmp_path / "app.log"
        lines = []
        for i in range(5000):
            lines.append(f"2026-11-21 10:00:{i % 60:02d},000 INFO [jobs] job {i} done")
            if i % 7 == 0:
                lines.append('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad')
        log.write_text("\n".join(lines) + "\n")

        class Crash(BaseException):
            pass

        class CrashingStore(DuckDBStore):
            commits = 0

            def commit(self, checkpoints: Any = ()) -> None:
                super().commit(checkpoints)
                CrashingStore.commits += 1
                if CrashingStore.commits == crash_at:
                    raise Crash  # the process "dies" here: nothing after this commit reaches the file

        path = tmp_path / "s.duckdb"
        store = CrashingStore(path)
        with pytest.raises(Crash):
            Ingestor(store, Config(), mining_process=use_process).ingest_paths([str(log)])
        store.rollback()
        store.close()
        store = DuckDBStore(path)
        assert 0 < store.count() < 5000
        Ingestor(store, Config(), mining_process=use_process).ingest_paths([str(log)])
        _, rows = store.sql("SELECT count(*), count(DISTINCT message) FROM records")
        assert rows == [(5000, 5000)]
        _, counts = store.sql("SELECT sum(count) FROM templates")
        assert counts == [(5000,)]  # template counts agree with the records after the crash too
        store.close()

    @pytest.mark.parametrize("use_process", [False, True])
    def test_template_cap_from_config(self, tmp_path: Path, use_process: bool) -> None:
        """`[mining] max_templates` bounds the templates made, in-process and in a mining process."""
        log = tmp_path / "a.log"
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
        log.write_text("".join(f"{a} {b} {c} event\n" for a in words for b in words for c in words[:3]))
        store = DuckDBStore(tmp_path / "s.duckdb")
        Ingestor(store, Config(max_templates=100), mining_process=use_process).ingest_paths([str(log)])
        _, rows = store.sql("SELECT count(*) FILTER (NOT catch_all), count(*), sum(count) FROM templates")
        assert rows[0][0] == 100 and rows[0][1] <= 101 and rows[0][2] == 300
        store.close()

    def test_reingesting_the_same_lines_creates_no_templates(self, tmp_path: Path) -> None:
        """Reading the same file again from its start adds records, never templates."""
        log = tmp_path / "a.log"
        log.write_text("".join(f"user u{i % 13} logged in from 10.0.0.{i % 250}\n" for i in range(500)))
        store = DuckDBStore(tmp_path / "s.duckdb")
        for _ in range(3):
            Ingestor(store, Config()).ingest_paths([str(log)], from_start=True)
        assert store.sql("SELECT count(*), sum(count) FROM templates")[1] == [(1, 1500)]
        store.close()


def _small_chunks(reader: type) -> type:
    class SmallChunks(reader):  # type: ignore[misc, valid-type]
        def __init__(self, stream: Any, start_offset: int = 0, max_line_bytes: int = 4096, **_: Any) -> None:
            super().__init__(stream, start_offset, max_line_bytes, chunk_bytes=997)

    return SmallChunks


@pytest.mark.parametrize("use_process", [False, True])
def test_a_sources_tenant_reaches_its_records_and_templates(tmp_path: Path, use_process: bool) -> None:
    """A file whose `[[sources]]` entry names a tenant is stored as that tenant's, its templates mined
    apart (ids `acme/<service>-<n>`), in-process and in a mining process; other files keep none."""
    from loglens.config import SourceRule

    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "app.log").write_text("".join(f"job {i} done\n" for i in range(20)))
    (tmp_path / "other.log").write_text("".join(f"job {i} done\n" for i in range(10)))
    config = Config(sources=(SourceRule(str(tmp_path / "acme"), service="app", tenant="acme"),))
    store = DuckDBStore(tmp_path / "s.duckdb")
    Ingestor(store, config, mining_process=use_process).ingest_paths([str(tmp_path)])
    _, rows = store.sql("SELECT tenant, template_id, count(*) FROM records GROUP BY ALL ORDER BY 1")
    assert rows == [("", "other-1", 10), ("acme", "acme/app-1", 20)]
    assert {(t.id, t.tenant) for t in store.templates()} == {("other-1", ""), ("acme/app-1", "acme")}
    store.close()
