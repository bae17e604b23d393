"""Tests for loglens.store.retention: settings, which days expire, and real passes over a DuckDB store —
rows really deleted, archived to Parquet exactly, restored with their ids, safe to rerun after a crash."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import duckdb
import orjson
import pytest
from click.testing import CliRunner

from loglens.commands.retention import retention
from loglens.errors import ConfigError, StoreError
from loglens.mining.drain import TemplateChange
from loglens.pipeline import StoreWriter
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore
from loglens.store.retention import (
    DAY_NS,
    DaySize,
    RetentionSettings,
    RetentionTask,
    archive_path,
    day_bounds,
    expired_days,
    parse_retention,
    parse_size,
    run_retention,
)

TODAY = date(2026, 3, 20)
NOW = day_bounds(TODAY)[0] + 12 * 3600 * 10**9
"""Noon UTC: passes in these tests run at a fixed time, so no test depends on the clock."""
PER_DAY = 40


def day_records(day: date, count: int = PER_DAY, first: int = 0) -> list[Record]:
    """`count` records spread over a UTC day, with every column filled that a round trip could lose."""
    start = day_bounds(day)[0]
    return [
        Record(
            ts=start + (first + i) % 86_400 * 10**9 + 7,  # ns precision is kept, not rounded to µs
            observed_ts=start + 1,
            service="api" if i % 2 else "db",
            source="/var/log/app.log",
            message=f"user {i} logged in",
            raw=f"{day} user {i} logged in\nsecond line",
            level=Level.ERROR if i % 5 == 0 else Level.INFO,
            host="web-1",
            pid=100 + i,
            fields={"status": 200 + i, "nested": {"a": [1, None, "x"]}} if i % 3 else None,
            trace_id="t" * 32 if i % 4 == 0 else None,
            template_id="api-1" if i % 2 else "db-1",
            params=[str(i)],
        )
        for i in range(count)
    ]


def make_store(path: Path, days: Sequence[date], per_day: int = PER_DAY) -> DuckDBStore:
    """A store holding `per_day` records for each day, written one day per commit (oldest first)."""
    store = DuckDBStore(path)
    store.save_templates(
        [
            TemplateChange("api-1", "api", "user <*> logged in", False),
            TemplateChange("db-1", "db", "user <*> logged in", False),
        ]
    )
    for day in days:
        store.write(day_records(day, per_day))
    return store


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def counts_by_day(store: DuckDBStore) -> dict[date, int]:
    return {d.day: d.records for d in store.day_sizes()}


def rows_of_day(store: DuckDBStore, day: date) -> list[tuple[object, ...]]:
    _, rows = store.sql(f"SELECT * FROM records WHERE CAST(ts AS DATE) = DATE '{day}' ORDER BY id")
    return rows


def parquet_rows(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute("SELECT * FROM read_parquet(?) ORDER BY id", [str(path)]).fetchall()


AGE_10D = RetentionSettings(max_age_ns=10 * DAY_NS)


class TestParseRetention:
    def test_absent_table_means_no_retention(self) -> None:
        """Without a [retention] table nothing is configured, so no pass ever deletes anything."""
        assert parse_retention(None, "loglens.toml") is None

    def test_empty_table_keeps_thirty_days_and_archives(self) -> None:
        """An empty table keeps 30 days, archives to `archive/` beside the store, and checks hourly."""
        settings = parse_retention({}, "loglens.toml")
        assert settings == RetentionSettings(
            max_age_ns=30 * DAY_NS, max_bytes=None, archive=Path("archive"), archive_enabled=True
        )
        assert settings.check_every_ns == 3600 * 10**9
        assert settings.archive_folder(Path("/data/loglens.duckdb")) == Path("/data/archive")

    def test_every_setting_read(self) -> None:
        """Durations, sizes, an absolute archive folder and the archive switch are all read."""
        settings = parse_retention(
            {"max_age": "90d", "max_bytes": "10GB", "archive": "/srv/old", "archive_enabled": False,
             "check_every": "15m"},
            "loglens.toml",
        )  # fmt: skip
        assert settings == RetentionSettings(
            90 * DAY_NS, 10 * 10**9, Path("/srv/old"), False, 15 * 60 * 10**9
        )
        assert settings.archive_folder(Path("/data/s.duckdb")) == Path("/srv/old")

    def test_size_limit_alone(self) -> None:
        """`max_age = "off"` with a size limit keeps records by size only."""
        settings = parse_retention({"max_age": "off", "max_bytes": 5_000_000}, "x.toml")
        assert settings is not None and settings.max_age_ns is None and settings.max_bytes == 5_000_000

    @pytest.mark.parametrize(
        ("table", "words"),
        [
            ({"max_days": 3}, "no setting 'max_days'"),
            ({"max_age": "a month"}, "max_age must be a duration"),
            ({"max_bytes": "lots"}, "max_bytes must be a size"),
            ({"max_bytes": True}, "max_bytes must be a size"),
            ({"archive_enabled": "yes"}, "archive_enabled must be true or false"),
            ({"max_age": "off"}, "limits nothing"),
            ({"check_every": "off"}, "check_every must be a duration"),
        ],
    )
    def test_mistakes_named(self, table: dict[str, object], words: str) -> None:
        """Each wrong value is refused with the file, the key and what to write instead."""
        with pytest.raises(ConfigError, match=words) as caught:
            parse_retention(table, "loglens.toml")
        assert "loglens.toml: [retention]" in str(caught.value)


class TestParseSize:
    def test_decimal_and_binary_units(self) -> None:
        """KB/MB/GB count in thousands, KiB/MiB/GiB in 1024s, a bare number in bytes."""
        assert parse_size("10GB") == 10 * 10**9
        assert parse_size("1.5 mb") == 1_500_000
        assert parse_size("2GiB") == 2 * 2**30
        assert parse_size("4096") == 4096

    def test_unreadable_size_refused(self) -> None:
        """A size without a number is refused with an example of one."""
        with pytest.raises(ConfigError, match="such as 500MB"):
            parse_size("GB")


def day_size(offset: int, records: int = 100, bytes_: int = 1000) -> DaySize:
    first = (30 - offset) * 1000
    return DaySize(ago(offset), records, first, first + records - 1, bytes_)


class TestExpiredDays:
    def test_only_whole_days_older_than_max_age(self) -> None:
        """A day goes once all of it is older than max_age: at noon, 10d takes 11 days ago, not 10."""
        days = [day_size(n) for n in (12, 11, 10, 0)]
        expired = expired_days(days, AGE_10D, NOW)
        assert [(e.day.day, e.reason) for e in expired] == [(ago(12), "age"), (ago(11), "age")]

    def test_size_cap_takes_oldest_first_until_under(self) -> None:
        """Over max_bytes, the oldest days go one by one until the estimate is under the cap."""
        days = [day_size(n) for n in (5, 4, 3, 2, 1, 0)]
        settings = RetentionSettings(max_age_ns=None, max_bytes=3500)
        expired = expired_days(days, settings, NOW)
        assert [(e.day.day, e.reason) for e in expired] == [
            (ago(5), "size"),
            (ago(4), "size"),
            (ago(3), "size"),
        ]

    def test_age_counts_towards_the_cap(self) -> None:
        """Days going for age free room first; the cap then takes only what is still needed."""
        days = [day_size(n) for n in (20, 3, 2, 1, 0)]
        settings = RetentionSettings(max_age_ns=10 * DAY_NS, max_bytes=3000)
        expired = expired_days(days, settings, NOW)
        assert [(e.day.day, e.reason) for e in expired] == [(ago(20), "age"), (ago(3), "size")]

    def test_day_with_newest_id_is_kept(self) -> None:
        """The day holding the highest id stays, even when it is old: ids must never be given twice."""
        old_but_newest = DaySize(ago(40), 10, 900_000, 900_009, 1000)
        days = [day_size(50), old_but_newest]
        expired = expired_days(days, RetentionSettings(max_age_ns=DAY_NS, max_bytes=1), NOW)
        assert [e.day.day for e in expired] == [ago(50)]

    def test_nothing_stored_nothing_expires(self) -> None:
        """An empty store has nothing to delete."""
        assert expired_days([], RetentionSettings(max_bytes=1), NOW) == []


class TestRetentionPass:
    def test_old_days_deleted_and_archived_exactly(self, tmp_path: Path) -> None:
        """Days past max_age leave `records`, and each archive reads back as exactly the deleted rows."""
        days = [ago(14), ago(12), ago(11), ago(3), TODAY]
        store = make_store(tmp_path / "s.duckdb", days)
        before = {day: rows_of_day(store, day) for day in days}
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert counts_by_day(store) == {ago(3): PER_DAY, TODAY: PER_DAY}
        assert report.deleted == 3 * PER_DAY
        assert [a.day for a in report.archived] == [ago(14), ago(12), ago(11)]
        for day in (ago(14), ago(12), ago(11)):
            path = tmp_path / "archive" / f"records-{day.isoformat()}.parquet"
            assert parquet_rows(path) == before[day]
            with duckdb.connect() as con:
                codecs = con.execute(
                    "SELECT DISTINCT compression FROM parquet_metadata(?)", [str(path)]
                ).fetchall()
            assert codecs == [("ZSTD",)]
        assert sorted(p.name for p in (tmp_path / "archive").iterdir()) == [
            f"records-{d.isoformat()}.parquet" for d in (ago(14), ago(12), ago(11))
        ]
        store.close()

    def test_rerun_does_nothing(self, tmp_path: Path) -> None:
        """A second pass finds nothing to do and leaves the archives byte for byte as they were."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), ago(1), TODAY])
        run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        archive = archive_path(tmp_path / "archive", ago(20))
        written = archive.read_bytes()
        again = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert again.expired == [] and again.archived == [] and again.deleted == 0
        assert archive.read_bytes() == written
        assert counts_by_day(store) == {ago(1): PER_DAY, TODAY: PER_DAY}
        store.close()

    def test_restore_puts_rows_back_with_their_ids_once(self, tmp_path: Path) -> None:
        """A restore brings the archived rows back unchanged, ids included; a second adds nothing."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        original = rows_of_day(store, ago(20))
        run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert rows_of_day(store, ago(20)) == []
        archive = archive_path(tmp_path / "archive", ago(20))
        first = store.restore(archive)
        assert (first.rows, first.inserted) == (PER_DAY, PER_DAY)
        assert rows_of_day(store, ago(20)) == original
        second = store.restore(archive)
        assert (second.rows, second.inserted) == (PER_DAY, 0)
        assert rows_of_day(store, ago(20)) == original
        store.close()

    def test_restore_skips_rows_still_stored(self, tmp_path: Path) -> None:
        """Restoring a day some of whose rows are still stored adds only the missing ones: no id twice."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        original = rows_of_day(store, ago(20))
        run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        archive = archive_path(tmp_path / "archive", ago(20))
        store.restore(archive)
        store._con.execute("DELETE FROM records WHERE id % 3 = 0")  # a partial loss, then a restore
        restored = store.restore(archive)
        assert restored.inserted == sum(1 for row in original if int(str(row[0])) % 3 == 0)
        assert rows_of_day(store, ago(20)) == original
        store.close()

    def test_ids_continue_after_a_restore_into_an_emptier_store(self, tmp_path: Path) -> None:
        """Records written after a restore get ids above the restored ones."""
        source = make_store(tmp_path / "a.duckdb", [ago(20), TODAY])
        run_retention(source, AGE_10D, tmp_path / "archive", NOW)
        source.close()
        fresh = DuckDBStore(tmp_path / "b.duckdb")
        fresh.restore(archive_path(tmp_path / "archive", ago(20)))
        fresh.write(day_records(TODAY, 3))
        _, rows = fresh.sql("SELECT count(DISTINCT id), count(*), min(id) FROM records")
        assert rows == [(PER_DAY + 3, PER_DAY + 3, 1)]
        fresh.close()

    def test_restore_refuses_other_parquet(self, tmp_path: Path) -> None:
        """A Parquet file that is not an archive of records is refused, naming what it lacks."""
        other = tmp_path / "other.parquet"
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT 1 AS id, 'x' AS message) TO '{other}' (FORMAT parquet)")
        store = DuckDBStore(tmp_path / "s.duckdb")
        with pytest.raises(StoreError, match="not an archive of loglens records"):
            store.restore(other)
        assert store.count() == 0
        store.close()

    def test_size_cap_removes_oldest_days_first(self, tmp_path: Path) -> None:
        """Over max_bytes, the oldest days go and the newest stay; a rerun takes no more, though
        DuckDB frees no block of a row group it has not rewritten."""
        days = [ago(n) for n in (6, 5, 4, 3, 2, 1, 0)]
        store = make_store(tmp_path / "s.duckdb", days, per_day=3000)
        store.reclaim_space()  # as the pass does first: sizes are of blocks, not of the log
        cap = sum(d.bytes for d in store.day_sizes()) * 55 // 100
        settings = RetentionSettings(max_age_ns=None, max_bytes=cap)
        report = run_retention(store, settings, tmp_path / "archive", NOW)
        gone = [e.day.day for e in report.expired]
        assert {e.reason for e in report.expired} == {"size"}
        assert gone == days[:4] and report.over_cap_bytes == 0
        assert sorted(counts_by_day(store)) == days[4:]
        assert sum(d.bytes for d in store.day_sizes()) <= cap
        again = run_retention(store, settings, tmp_path / "archive", NOW)
        assert again.expired == [] and sorted(counts_by_day(store)) == days[4:]
        store.close()

    def test_dry_run_changes_nothing(self, tmp_path: Path) -> None:
        """A dry run reports the days it would delete and leaves records and archive folder untouched."""
        store = make_store(tmp_path / "s.duckdb", [ago(30), ago(20), TODAY])
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW, dry_run=True)
        assert [e.day.day for e in report.expired] == [ago(30), ago(20)]
        assert report.deleted == 0 and report.after is None
        assert counts_by_day(store) == {ago(30): PER_DAY, ago(20): PER_DAY, TODAY: PER_DAY}
        assert not (tmp_path / "archive").exists()
        store.close()

    def test_leftover_temporary_archive_is_replaced(self, tmp_path: Path) -> None:
        """A half-written archive left by a crash is neither trusted nor in the way: it is rewritten."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        original = rows_of_day(store, ago(20))
        final = archive_path(tmp_path / "archive", ago(20))
        final.parent.mkdir()
        leftover = final.with_name(final.name + ".tmp")
        leftover.write_bytes(b"PAR1 half a file")
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert report.deleted == PER_DAY
        assert parquet_rows(final) == original
        assert not leftover.exists()
        store.close()

    def test_crash_between_archive_and_delete_archives_once(self, tmp_path: Path) -> None:
        """A day archived but not yet deleted (a crash in between) is deleted by the rerun, and its
        archive still holds each record once."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        original = rows_of_day(store, ago(20))
        path = archive_path(tmp_path / "archive", ago(20))
        store.archive_day(ago(20), path)  # where the interrupted run stopped
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert report.deleted == PER_DAY
        assert [(a.rows, a.added) for a in report.archived] == [(PER_DAY, 0)]
        assert parquet_rows(path) == original
        assert counts_by_day(store) == {TODAY: PER_DAY}
        store.close()

    def test_late_records_join_the_days_archive(self, tmp_path: Path) -> None:
        """Records of an archived day stored later are added to the same archive by the next pass."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        store.write(day_records(ago(20), 5, first=500))
        store.write(day_records(TODAY, 1, first=900))  # the newest id is today's again
        late = rows_of_day(store, ago(20))
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert report.deleted == 5
        rows = parquet_rows(archive_path(tmp_path / "archive", ago(20)))
        assert len(rows) == PER_DAY + 5 and len({row[0] for row in rows}) == PER_DAY + 5
        assert all(row in rows for row in late)
        store.close()

    def test_without_archive_days_are_only_deleted(self, tmp_path: Path) -> None:
        """With archive_enabled false, expired days are deleted and no file is written."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        settings = RetentionSettings(max_age_ns=10 * DAY_NS, archive_enabled=False)
        report = run_retention(store, settings, tmp_path / "archive", NOW)
        assert report.deleted == PER_DAY and report.archived == []
        assert counts_by_day(store) == {TODAY: PER_DAY}
        assert not (tmp_path / "archive").exists()
        store.close()

    def test_template_counts_are_lifetime(self, tmp_path: Path) -> None:
        """Deleting old days leaves `templates` as it was: counts and first_seen cover every record ever."""
        store = make_store(tmp_path / "s.duckdb", [ago(20), TODAY])
        _, before = store.sql("SELECT id, count, first_seen FROM templates ORDER BY id")
        run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        _, after = store.sql("SELECT id, count, first_seen FROM templates ORDER BY id")
        assert after == before and sum(int(str(row[1])) for row in after) == 2 * PER_DAY
        store.close()


def insert_generated(store: DuckDBStore, day: date, count: int, first_id: int) -> None:
    """`count` records of a day made by DuckDB itself: enough rows for several row groups, fast."""
    start = day_bounds(day)[0]
    store._con.execute(
        "INSERT INTO records SELECT ? + range, make_timestamp_ns(? + range * ?), make_timestamp_ns(?), "
        "'api', NULL, 'gen', NULL, 'info', 9, 'request ' || md5(range::VARCHAR), "
        "'raw ' || md5(range::VARCHAR) || md5((range + ?)::VARCHAR), "
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, '' FROM range(?)",
        [first_id, start, DAY_NS // count, start, first_id, count],
    )
    store.reclaim_space()


class TestReclaimedSpace:
    def test_freed_blocks_are_reused_not_returned(self, tmp_path: Path) -> None:
        """Deleting the oldest days frees their blocks without shrinking the file, and the next days
        stored fill those blocks instead of growing it."""
        store = DuckDBStore(tmp_path / "s.duckdb")
        rows = 130_000  # more than a row group (122,880) per day
        for number, day in enumerate((ago(14), ago(2), ago(1))):
            insert_generated(store, day, rows, number * rows + 1)
        report = run_retention(store, AGE_10D, tmp_path / "archive", NOW)
        assert report.deleted == rows and report.after is not None
        assert report.after.used_bytes < report.before.used_bytes * 0.8
        assert report.after.file_bytes == report.before.file_bytes
        insert_generated(store, TODAY, rows, 3 * rows + 1)
        assert store.storage_size().file_bytes <= report.before.file_bytes * 1.1
        store.close()


class TestRetentionTask:
    def test_pass_runs_beside_a_live_writer(self, tmp_path: Path) -> None:
        """A pass on its own thread deletes old days while the store writer commits live records:
        no commit fails and every live record is stored."""
        store = make_store(tmp_path / "s.duckdb", [ago(n) for n in (15, 14, 13, 12)], per_day=20_000)
        writer = StoreWriter(store, max_batches=64)
        task = RetentionTask(store, RetentionSettings(max_age_ns=10 * DAY_NS), tmp_path / "archive")
        failures: list[BaseException] = []
        stop = threading.Event()
        written = 0

        def committed(done: threading.Event, error: BaseException | None) -> None:
            if error is not None:
                failures.append(error)
            done.set()

        def ingest() -> None:
            nonlocal written
            while not stop.is_set():
                writer.put(day_records(TODAY, 500, first=written), source="live")
                written += 500
                done = threading.Event()
                writer.commit_then(partial(committed, done))
                done.wait()

        live = threading.Thread(target=ingest)
        live.start()
        while written < 2000:
            time.sleep(0.01)
        assert task.tick(NOW)
        assert task.wait(60)
        stop.set()
        live.join()
        writer.close()
        assert failures == [] and task.last_error is None
        assert task.last_report is not None and task.last_report.deleted == 4 * 20_000
        assert counts_by_day(store) == {TODAY: written}
        store.close()

    def test_passes_paced_by_check_every(self, tmp_path: Path) -> None:
        """The first tick starts a pass; the next starts only once check_every has passed."""
        store = make_store(tmp_path / "s.duckdb", [TODAY])
        task = RetentionTask(store, RetentionSettings(check_every_ns=60 * 10**9), tmp_path / "archive")
        assert task.tick(NOW)
        task.wait(10)
        assert not task.tick(NOW + 59 * 10**9)
        assert task.tick(NOW + 60 * 10**9)
        task.close(10)
        assert task.passes == 2 and not task.tick(NOW + 3600 * 10**9)  # closed: no more passes
        store.close()


class TestRetentionCommand:
    def config(self, tmp_path: Path, table: str) -> Path:
        path = tmp_path / "loglens.toml"
        path.write_text(f"[retention]\n{table}\n")
        return path

    def invoke(self, *args: str) -> object:
        result = CliRunner().invoke(retention, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return orjson.loads(result.output) if "--json" in args else result.output

    def test_status_run_and_restore(self, tmp_path: Path) -> None:
        """`status` says which days would go, `run --dry-run` deletes nothing, `run` archives and
        deletes them, and `restore` puts them back."""
        store_path = tmp_path / "s.duckdb"
        today = datetime.now(UTC).date()
        make_store(store_path, [today - timedelta(days=n) for n in (10, 9, 8, 2, 1)]).close()
        config = str(self.config(tmp_path, 'max_age = "5d"'))
        common = ("--store", str(store_path), "--config", config)
        old = [(today - timedelta(days=n)).isoformat() for n in (10, 9, 8)]

        status = self.invoke("status", "--json", *common)
        assert isinstance(status, dict)
        assert [d["day"] for d in status["days"] if d["expires"] == "age"] == old
        dry = self.invoke("run", "--dry-run", "--json", *common)
        assert isinstance(dry, dict) and [e["day"] for e in dry["expired"]] == old and dry["deleted"] == 0
        done = self.invoke("run", "--json", *common)
        assert isinstance(done, dict) and done["deleted"] == 3 * PER_DAY
        status = self.invoke("status", "--json", *common)
        assert isinstance(status, dict) and len(status["days"]) == 2
        assert status["archives"] == [f"records-{day}.parquet" for day in old]

        archives = [str(tmp_path / "archive" / f"records-{day}.parquet") for day in old]
        text = self.invoke("restore", *archives, *common)
        assert isinstance(text, str) and text.count(f"restored {PER_DAY} of {PER_DAY} records") == 3
        status = self.invoke("status", "--json", *common)
        assert isinstance(status, dict) and len(status["days"]) == 5

    def test_run_without_configuration_refused(self, tmp_path: Path) -> None:
        """`run` with no [retention] and no limit on the command line deletes nothing and says why."""
        store_path = tmp_path / "s.duckdb"
        make_store(store_path, [ago(400)]).close()
        empty = tmp_path / "empty.toml"
        empty.write_text("")
        result = CliRunner().invoke(retention, ["run", "--store", str(store_path), "--config", str(empty)])
        assert result.exit_code != 0 and "retention is not configured" in str(result.exception)
        reopened = DuckDBStore(store_path, read_only=True)
        assert reopened.count() == PER_DAY
        reopened.close()
