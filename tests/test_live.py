"""Tests for loglens.live: following files and pipes into a real store, and the rotation torture test."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from loglens.config import Config
from loglens.live import LiveIngest
from loglens.pipeline import Ingestor, StoreWriter
from loglens.record import Record
from loglens.sources.follow import FollowSettings
from loglens.store.duckdb import DuckDBStore
from rotation_scenario import MODES, TortureSettings, run_torture

QUICK = FollowSettings(poll_interval=0.02, rotate_wait=0.1, quiet_flush=0.2, scan_interval=0.1)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class Session:
    """A LiveIngest running in a thread on a real DuckDB store, and what it showed."""

    def __init__(self, store_path: Path, settings: FollowSettings = QUICK) -> None:
        self.store = DuckDBStore(store_path)
        self.ingestor = Ingestor(self.store, Config())
        self.ingestor.start_mining(0)
        self.writer = StoreWriter(self.store)
        self.shown: list[Record] = []
        self.live = LiveIngest(self.ingestor, self.writer, settings, on_records=self.shown.extend)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.live.run, args=(self.stop,))

    def messages(self) -> list[str]:
        return [r.message for r in self.shown]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.writer.close()

    def committed(self) -> list[str]:
        rows = self.store.sql("SELECT message FROM records ORDER BY id")[1]
        return [str(m) for (m,) in rows]


@contextmanager
def following(store_path: Path, *patterns: str, settings: FollowSettings = QUICK) -> Iterator[Session]:
    session = Session(store_path, settings)
    session.live.follow_paths(list(patterns))
    session.thread.start()
    try:
        yield session
    finally:
        session.close()
        session.store.close()


def stored(store_path: Path) -> list[tuple[str, str]]:
    """(message, raw) of every committed record, in the order stored."""
    store = DuckDBStore(store_path, read_only=True)
    try:
        rows = store.sql("SELECT message, raw FROM records ORDER BY id")[1]
    finally:
        store.close()
    return [(str(m), str(r)) for m, r in rows]


def append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


class TestFollowingFiles:
    def test_appended_lines_are_stored_and_shown(self, tmp_path: Path) -> None:
        """Lines written while following are shown and committed, with the file's checkpoint."""
        log = tmp_path / "app.log"
        append(log, "".join(f"2026-11-27 10:00:{i:02d} INFO request {i} done\n" for i in range(3)))
        with following(tmp_path / "s.duckdb", str(log)) as session:
            wait_for(lambda: len(session.shown) == 3)
            append(log, "2026-11-27 10:00:05 ERROR request 9 failed\n")
            wait_for(lambda: len(session.shown) == 4)
            assert session.shown[-1].level.label == "error"
            session.live.commit()
            checkpoint = session.store.checkpoint(str(log.resolve()))
            assert checkpoint is not None and checkpoint.offset == log.stat().st_size
            assert session.committed()[-1] == "request 9 failed"

    def test_multiline_event_closed_after_quiet_period(self, tmp_path: Path) -> None:
        """A traceback that is the last thing written becomes one record once the file goes quiet."""
        log = tmp_path / "app.log"
        trace = (
            "2026-11-27 10:00:00 ERROR job crashed\n"
            "Traceback (most recent call last):\n"
            '  File "job.py", line 3, in run\n'
            "KeyError: 'id'\n"
        )
        with following(tmp_path / "s.duckdb", str(log)) as session:
            append(log, trace)
            wait_for(lambda: len(session.shown) == 1)
            assert session.shown[0].raw == trace.rstrip("\n")

    def test_restart_neither_loses_nor_repeats(self, tmp_path: Path) -> None:
        """Stopped and started again, a follower stores what came in between exactly once."""
        log = tmp_path / "app.log"
        store = tmp_path / "s.duckdb"
        append(log, "".join(f"line {i}\n" for i in range(100)))
        with following(store, str(log)) as session:
            wait_for(lambda: len(session.shown) >= 99)  # the last one waits for the quiet period
        append(log, "".join(f"line {i}\n" for i in range(100, 150)))
        with following(store, str(log)) as session:
            wait_for(lambda: len(session.shown) == 51)
        assert [m for m, _ in stored(store)] == [f"line {i}" for i in range(150)]

    def test_clean_stop_leaves_an_open_event_for_next_time(self, tmp_path: Path) -> None:
        """An event still open at stop is not stored half: the next run reads it whole."""
        log = tmp_path / "app.log"
        store = tmp_path / "s.duckdb"
        slow = replace(QUICK, quiet_flush=60.0)
        append(log, "first event\nsecond event\n  with a continuation\n")
        with following(store, str(log), settings=slow) as session:
            wait_for(lambda: len(session.shown) == 1)
        append(log, "  and another\nthird event\n")
        with following(store, str(log), settings=slow) as session:
            wait_for(lambda: len(session.shown) == 1)
        assert [raw for _, raw in stored(store)] == [
            "first event",
            "second event\n  with a continuation\n  and another",
        ]

    def test_new_files_in_a_folder_are_picked_up(self, tmp_path: Path) -> None:
        """A file created later inside a followed folder is read from its start."""
        folder = tmp_path / "logs"
        folder.mkdir()
        append(folder / "a.log", "from a\n")
        with following(tmp_path / "s.duckdb", str(folder)) as session:
            wait_for(lambda: "from a" in session.messages())
            append(folder / "b.log", "from b\n")
            wait_for(lambda: "from b" in session.messages())
            services = {r.message: r.service for r in session.shown}
        assert services == {"from a": "a", "from b": "b"}

    def test_format_chosen_from_first_lines(self, tmp_path: Path) -> None:
        """A JSON-lines file is parsed as JSON: its fields become record fields."""
        log = tmp_path / "api.jsonl"
        append(log, "".join(f'{{"level":"warn","msg":"slow call {i}","ms":{i}}}\n' for i in range(5)))
        with following(tmp_path / "s.duckdb", str(log)) as session:
            wait_for(lambda: len(session.shown) == 5)
            first = session.shown[0]
        assert first.message == "slow call 0" and first.level.label == "warning"
        assert first.fields is not None and first.fields.get("ms") == 0


class TestFollowingPipes:
    def test_pipe_until_its_writer_closes(self, tmp_path: Path) -> None:
        """A pipe is read as written; the loop ends when it closes; fields are added to each record."""
        read_end, write_end = os.pipe()
        session = Session(tmp_path / "s.duckdb")
        session.live.add_pipe(read_end, "cmd:stdout", "cmd", {"stream": "stdout"}, fmt="plain")
        session.thread.start()
        os.write(write_end, b"one\n")
        wait_for(lambda: len(session.shown) == 1, 5)  # shown before the pipe ends
        os.write(write_end, b"two\nthree without newline")
        os.close(write_end)
        session.thread.join(10)
        assert not session.thread.is_alive()
        session.writer.close()
        os.close(read_end)
        assert session.messages() == ["one", "two", "three without newline"]
        assert all(r.fields == {"stream": "stdout"} and r.service == "cmd" for r in session.shown)
        assert len(session.committed()) == 3
        session.store.close()


@pytest.mark.slow  # ~25 s a mode; `make bench` runs these and bench/follow.py's 12 larger tortures
class TestRotationTorture:
    @pytest.mark.parametrize("mode", MODES)
    def test_rotation_under_load_with_kills(self, tmp_path: Path, mode: str) -> None:
        """Rotated while written at 2,500 lines/s and SIGKILLed at random: stored == written, in order."""
        result = run_torture(tmp_path, TortureSettings(mode=mode, seconds=5.0, seed=len(mode)))
        assert result.follower_errors == []
        assert result.rotations >= 3 and result.kills >= 3
        assert len(result.written) > 8000
        assert result.stored == result.written, result.first_difference()
