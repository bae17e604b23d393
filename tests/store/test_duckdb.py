"""Tests for loglens.store.duckdb: a real DuckDB file, migrations, atomic writes, read-only SQL."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from loglens.errors import ReadOnlyError, StoreError
from loglens.mining.drain import TemplateChange
from loglens.record import Level, Record
from loglens.sources.file import Checkpoint
from loglens.store import duckdb as duckdb_store
from loglens.store.duckdb import DuckDBStore
from loglens.store.schema import CURRENT_VERSION


def make_record(i: int, level: Level = Level.INFO, **kw: object) -> Record:
    base = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z
    values: dict[str, object] = {
        "ts": base + i * 1_000_000_123,
        "observed_ts": base,
        "service": "api",
        "source": "api.log",
        "message": f"message {i}",
        "raw": f"raw {i}",
        "level": level,
    }
    values.update(kw)
    return Record(**values)  # type: ignore[arg-type]


class TestDuckDBStore:
    def test_write_and_search_round_trip(self, tmp_path: Path) -> None:
        """Records written come back oldest first with ns timestamps, fields and levels intact."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.write([make_record(i, fields={"a": {"b": i}}, pid=7) for i in range(5)])
        rows = list(store.search("TRUE", [], 3))
        assert [r.message for r in rows] == ["message 2", "message 3", "message 4"]
        assert rows[0].ts == make_record(2).ts
        assert rows[0].fields == {"a": {"b": 2}}
        assert rows[0].pid == 7
        assert [r.id for r in rows] == [3, 4, 5]
        assert len(list(store.search("TRUE", [], None))) == 5
        store.close()

    def test_ids_continue_after_reopen(self, tmp_path: Path) -> None:
        """Ids keep increasing across processes opening the same file."""
        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        store.write([make_record(0), make_record(1)])
        store.close()
        store = DuckDBStore(path)
        store.write([make_record(2)])
        assert [r.id for r in store.search("TRUE", [], None)] == [1, 2, 3]
        store.close()

    def test_checkpoint_saved_with_batch(self, tmp_path: Path) -> None:
        """A checkpoint is stored in the same transaction as its batch, and replaced by later ones."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.write([make_record(0)], Checkpoint("/a.log", 5, 100, "ff", 10))
        store.write([], Checkpoint("/a.log", 5, 200, "ff", 10, skip=3))
        saved = store.checkpoint("/a.log")
        assert saved == Checkpoint("/a.log", 5, 200, "ff", 10, skip=3)
        assert saved is not None and abs(saved.committed_ns - time.time_ns()) < 60 * 10**9
        assert store.checkpoint("/b.log") is None
        store.close()

    def test_schema_version_recorded(self, tmp_path: Path) -> None:
        """A new store is migrated to the current schema version, and read-only opens check it."""
        path = tmp_path / "s.duckdb"
        DuckDBStore(path).close()
        ro = DuckDBStore(path, read_only=True)
        assert ro.schema_version == CURRENT_VERSION
        ro.close()

    def test_newer_schema_refused(self, tmp_path: Path) -> None:
        """A store from a newer loglens is refused with a message saying to upgrade."""
        path = tmp_path / "s.duckdb"
        DuckDBStore(path).close()
        con = duckdb.connect(str(path))
        con.execute("UPDATE meta SET value = '999'")
        con.close()
        with pytest.raises(StoreError, match="upgrade loglens"):
            DuckDBStore(path)

    def test_missing_store_read_only(self, tmp_path: Path) -> None:
        """Reading a store that does not exist says how to make one."""
        with pytest.raises(StoreError, match="ingest something first"):
            DuckDBStore(tmp_path / "none.duckdb", read_only=True)

    def test_sql_is_read_only(self, tmp_path: Path) -> None:
        """SELECT works; writes and multiple statements are refused with a clear error."""
        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        store.write([make_record(0, level=Level.ERROR)])
        store.close()
        ro = DuckDBStore(path, read_only=True)
        columns, rows = ro.sql("SELECT level, severity, count(*) AS n FROM records GROUP BY ALL")
        assert columns == ["level", "severity", "n"]
        assert rows == [("error", 17, 1)]
        for bad in (
            "DELETE FROM records",
            "DROP TABLE records",
            "COPY records TO 'x.csv'",
            "SELECT 1; SELECT 2",
        ):
            with pytest.raises(ReadOnlyError):
                ro.sql(bad)
        with pytest.raises(StoreError, match="SQL error"):
            ro.sql("SELECT nope FROM records")
        ro.close()

    def test_second_writer_gets_clear_error(self, tmp_path: Path) -> None:
        """DuckDB's file lock surfaces as a StoreError naming the file, not a traceback."""
        import subprocess
        import sys

        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        code = (
            "from loglens.store.duckdb import DuckDBStore\n"
            "from loglens.errors import StoreError\n"
            f"try:\n    DuckDBStore({str(path)!r})\nexcept StoreError as e:\n    print('ERR', e)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        store.close()
        assert out.startswith("ERR cannot open the store")


class TestTemplates:
    def test_saved_with_counts_from_committed_records(self, tmp_path: Path) -> None:
        """New templates are inserted, generalised ones re-worded; counts, times and the most severe
        level are added up from the records each commit stores."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.save_templates([TemplateChange("api-1", "api", "user alice in", False)])
        store.write([make_record(0, template_id="api-1"), make_record(1, Level.ERROR, template_id="api-1")])
        store.save_templates([TemplateChange("api-1", "api", "user <*> in", False),
                              TemplateChange("api-2", "api", "<*> <*>", True)])  # fmt: skip
        store.write([make_record(2, Level.WARNING, template_id="api-1"), make_record(3, template_id="api-2")])
        _, rows = store.sql(
            "SELECT id, template, catch_all, count, level, epoch_ns(first_seen), epoch_ns(last_seen) "
            "FROM templates ORDER BY id"
        )
        assert rows == [
            ("api-1", "user <*> in", False, 3, "error", make_record(0).ts, make_record(2).ts),
            ("api-2", "<*> <*>", True, 1, "info", make_record(3).ts, make_record(3).ts),
        ]
        assert store.templates() == [TemplateChange("api-1", "api", "user <*> in", False),
                                     TemplateChange("api-2", "api", "<*> <*>", True)]  # fmt: skip
        store.close()

    def test_rolled_back_with_their_records(self, tmp_path: Path) -> None:
        """Templates saved in a transaction that is rolled back are gone, and can be saved again."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.save_templates([TemplateChange("a-1", "a", "x", False)])
        store.append([make_record(0, template_id="a-1")])
        store.rollback()
        assert store.templates() == []
        store.save_templates([TemplateChange("a-1", "a", "x", False)])
        store.write([make_record(0, template_id="a-1")])
        assert store.sql("SELECT count FROM templates")[1] == [(1,)]
        store.close()

    def test_pattern_stats(self, tmp_path: Path) -> None:
        """Per template over a query: count, first/last, level, first line of the oldest record as
        sample, and the records in the last share of the span."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.save_templates([TemplateChange("api-1", "api", "tick <*>", False)])
        store.write([make_record(i, template_id="api-1", raw=f"tick {i}\nmore") for i in range(10)])
        store.write([make_record(10, service="db", template_id="api-1")])
        (stats,) = store.pattern_stats("service = ?", ["api"], 0.5)
        assert (stats.template_id, stats.template, stats.count, stats.sample) == (
            "api-1",
            "tick <*>",
            10,
            "tick 0",
        )
        assert (stats.first_ts, stats.last_ts) == (make_record(0).ts, make_record(9).ts)
        assert stats.recent == 5  # stamped after the middle of the span: records 5 to 9
        store.close()


class TestCheckpointingWhileLive:
    def test_wal_stays_small_while_template_counts_update(self, tmp_path: Path) -> None:
        """Small commits that also update template counts (live ingest) still let DuckDB checkpoint:
        the write-ahead log is folded into the file instead of growing with everything written."""
        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        store.checkpoint("/any.log")  # a read on the store's own connection, as a follower does
        store._writer.execute("SET checkpoint_threshold = '1MB'")  # the default 16 MB, scaled down
        wal = Path(str(path) + ".wal")
        largest = 0
        for commit in range(30):
            batch = [
                make_record(commit * 2000 + i, template_id=f"t{i % 5}", message=f"job {i} done " + "x" * 60)
                for i in range(2000)
            ]
            templates = [TemplateChange(f"t{n}", "api", f"job <*> done {n}", False) for n in range(5)]
            store.save_templates(templates)
            store.append(batch)
            store.commit()
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
        assert path.stat().st_size > 2_000_000  # rows reached the file itself
        assert largest < 4_000_000, largest  # ~6 MB were written in all
        store.close()

    def test_checkpoints_once_per_row_group_filled(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """DuckDB's own trigger is out of reach (the log cap); the store folds the log into the file
        at the commit that fills a row group, and not before (row groups scaled down to 5,000 rows)."""
        monkeypatch.setattr(duckdb_store, "ROW_GROUP_ROWS", 5_000)
        path = tmp_path / "s.duckdb"
        store = DuckDBStore(path)
        wal = Path(str(path) + ".wal")
        sizes: list[int] = []
        for commit in range(6):
            store.append(
                [make_record(commit * 2000 + i, message=f"job {i} " + "y" * 80) for i in range(2000)]
            )
            store.commit()
            sizes.append(wal.stat().st_size if wal.exists() else 0)
        # 2,000 and 4,000 rows: only logged; 6,000 (a group filled): checkpointed; 8,000: logged again;
        # 10,000: checkpointed; 12,000: logged.
        assert sizes[1] > sizes[0] > 100_000, sizes
        assert sizes[2] < sizes[0] // 10, sizes
        assert sizes[3] > sizes[2], sizes
        assert sizes[4] < sizes[0] // 10, sizes
        assert store.count() == 12_000
        store.close()


class TestMinuteStats:
    def test_watched_fields_of_every_service(self, tmp_path: Path) -> None:
        """A service whose records come after many others' still has its latency field watched (a
        sample of the whole table missed it, so a replay saw less than the live detectors)."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        try:
            early = [make_record(i, service="api", fields={"user": "u"}) for i in range(25_000)]
            late = [make_record(25_000 + i, service="nginx", fields={"request_time": 0.1}) for i in range(60)]
            store.write(early + late)
            _, fields = store.minute_stats("TRUE", [], None)
            assert {(row[0], row[2]) for row in fields} == {("nginx", "request_time")}
        finally:
            store.close()

    def test_documents_round_trip(self, tmp_path: Path) -> None:
        """Documents get ids from one sequence, replace by kind and id, filter by state, and delete."""
        from loglens.store.base import Document

        store = DuckDBStore(tmp_path / "s.duckdb")
        try:
            first = store.put_document(Document("alert", "", {"n": 1}, "open"))
            second = store.put_document(Document("silence", "", {"n": 2}, "active"))
            assert int(second.id) == int(first.id) + 1
            store.put_document(Document("alert", first.id, {"n": 3}, "resolved", created=first.created))
            assert [d.body for d in store.documents("alert")] == [{"n": 3}]
            assert store.documents("alert", state="open") == []
            assert store.document("alert", first.id).state == "resolved"  # type: ignore[union-attr]
            assert store.delete_document("alert", first.id) and not store.delete_document("alert", first.id)
            with pytest.raises(StoreError, match="unknown document kind"):
                store.put_document(Document("nonsense", "", {}))
        finally:
            store.close()


class TestTenantColumn:
    def test_a_store_of_schema_5_is_migrated_with_no_tenant(self, tmp_path: Path) -> None:
        """Migration 6 adds `tenant` to records and templates: rows stored before it belong to no
        tenant (''), and new rows keep theirs."""
        from loglens.store.schema import MIGRATIONS, SCHEMA_VERSION_KEY

        path = tmp_path / "old.duckdb"
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        for number, statements in MIGRATIONS[:5]:
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [SCHEMA_VERSION_KEY, str(number)])
        con.execute(
            "INSERT INTO records (id, ts, observed_ts, service, source, level, severity, message, raw) "
            "VALUES (1, make_timestamp_ns(0), make_timestamp_ns(0), 'api', 'a.log', 'info', 9, 'old', 'old')"
        )
        con.execute("INSERT INTO templates (id, service, template) VALUES ('api-1', 'api', 'old')")
        con.close()
        store = DuckDBStore(path)
        assert store.schema_version == CURRENT_VERSION >= 6
        store.write([make_record(2, tenant="acme")])
        assert [(r.id, r.tenant) for r in store.search("TRUE", [], None)] == [(1, ""), (2, "acme")]
        assert store.templates() == [TemplateChange("api-1", "api", "old", False, "")]
        store.close()

    def test_templates_keep_their_tenant(self, tmp_path: Path) -> None:
        """A tenant's template is stored with its tenant and read back with it (to resume mining)."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.save_templates([TemplateChange("acme/api-1", "api", "user <*> in", False, "acme")])
        store.commit()
        assert store.templates() == [TemplateChange("acme/api-1", "api", "user <*> in", False, "acme")]
        store.close()

    def test_an_archive_from_before_tenants_restores(self, tmp_path: Path) -> None:
        """A retention archive written before migration 6 (no `tenant` column) is restored with ''."""
        from loglens.store.schema import RECORD_COLUMNS

        store = DuckDBStore(tmp_path / "s.duckdb")
        store.write([make_record(i) for i in range(3)])
        archive = tmp_path / "records-2025-11-21.parquet"
        older = ", ".join(c for c in RECORD_COLUMNS if c != "tenant")
        store._con.execute(f"COPY (SELECT {older} FROM records) TO '{archive}' (FORMAT parquet)")
        store._con.execute("DELETE FROM records")
        restored = store.restore(archive)
        assert restored.inserted == 3
        assert {r.tenant for r in store.search("TRUE", [], None)} == {""}
        store.close()
