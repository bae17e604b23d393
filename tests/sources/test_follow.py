"""Tests for loglens.sources.follow: one watched name through growth, rotation, truncation, restarts."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from loglens.sources.file import Checkpoint
from loglens.sources.follow import (
    FileChunk,
    FollowedPaths,
    FollowSettings,
    TailedFile,
    rotated_siblings,
    rotation_age,
    rotation_base,
)

FAST = FollowSettings(poll_interval=0.01, rotate_wait=0.0, partial_timeout=0.5)


def lines_of(chunks: list[FileChunk]) -> list[str]:
    return [line for chunk in chunks for line in chunk.lines]


def poll_all(tailed: TailedFile, rounds: int = 5) -> list[FileChunk]:
    """Polls until nothing more comes (a few rounds: a rotation takes one to notice, one to finish)."""
    out: list[FileChunk] = []
    for _ in range(rounds):
        out.extend(tailed.poll(time.monotonic()))
    return out


def append(path: Path, *lines: str) -> None:
    with path.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def started(path: Path, previous: Checkpoint | None = None, settings: FollowSettings = FAST) -> TailedFile:
    tailed = TailedFile(path, str(path), settings)
    tailed.start(previous)
    return tailed


class TestGrowing:
    def test_appended_lines_come_in_order(self, tmp_path: Path) -> None:
        """Lines appended between polls are returned once each, in order, with their end offsets."""
        log = tmp_path / "app.log"
        append(log, "a", "b")
        tailed = started(log)
        first = poll_all(tailed)
        append(log, "c")
        second = poll_all(tailed)
        assert lines_of(first) == ["a", "b"]
        assert lines_of(second) == ["c"]
        assert second[-1].end_offset == log.stat().st_size

    def test_partial_line_waits_for_its_newline(self, tmp_path: Path) -> None:
        """A line without its newline is held; once the newline comes it is returned whole."""
        log = tmp_path / "app.log"
        log.write_text("complete\npart")
        tailed = started(log)
        assert lines_of(poll_all(tailed)) == ["complete"]
        with log.open("a") as fh:
            fh.write("ial line\n")
        assert lines_of(poll_all(tailed)) == ["partial line"]

    def test_partial_line_taken_after_timeout(self, tmp_path: Path) -> None:
        """A partial line is returned as it is once it has waited `partial_timeout`."""
        log = tmp_path / "app.log"
        log.write_text("no newline yet")
        tailed = started(log)
        now = time.monotonic()
        assert tailed.poll(now) == []
        assert tailed.poll(now + 0.2) == []
        late = tailed.poll(now + 0.6)
        assert lines_of(late) == ["no newline yet"] and late[0].end_offset == 14

    def test_read_is_bounded_per_poll(self, tmp_path: Path) -> None:
        """A big backlog is read a budget at a time, never all at once."""
        log = tmp_path / "app.log"
        append(log, *(f"line {i:06d} " + "x" * 90 for i in range(30_000)))  # ~3 MB
        tailed = started(log, settings=replace(FAST, read_bytes=256 * 1024))
        sizes = []
        while chunks := tailed.poll(time.monotonic()):
            sizes.append(sum(len(line) + 1 for line in lines_of(chunks)))
        assert len(sizes) >= 10
        assert max(sizes) <= 256 * 1024
        assert sum(sizes) == log.stat().st_size

    def test_from_end_skips_what_is_there(self, tmp_path: Path) -> None:
        """`from_end` starts a file with no checkpoint at its end, like `tail -f`."""
        log = tmp_path / "app.log"
        append(log, "old")
        tailed = TailedFile(log, "app.log", FAST)
        tailed.start(None, from_end=True)
        append(log, "new")
        assert lines_of(poll_all(tailed)) == ["new"]


class TestRotation:
    def test_rename_and_create(self, tmp_path: Path) -> None:
        """After a rename, the old file's tail comes first, then the new file from its start."""
        log = tmp_path / "app.log"
        append(log, "1")
        tailed = started(log)
        assert lines_of(poll_all(tailed)) == ["1"]
        append(log, "2")
        log.rename(tmp_path / "app.log.1")
        append(log, "3")
        chunks = poll_all(tailed)
        assert lines_of(chunks) == ["2", "3"]
        ended = [c for c in chunks if c.ends_file]
        assert len(ended) == 1 and ended[0].file.path.name == "app.log"
        assert tailed.retired and tailed.current is not None and tailed.current.start_offset == 0

    def test_delete_and_recreate(self, tmp_path: Path) -> None:
        """A deleted file is still read to its end through the open descriptor before the new one."""
        log = tmp_path / "app.log"
        append(log, "1")
        tailed = started(log)
        poll_all(tailed)
        append(log, "2", "3")
        log.unlink()
        append(log, "4")
        assert lines_of(poll_all(tailed)) == ["2", "3", "4"]
        held = tailed.retired[0]
        tailed.release()
        assert held.stream.closed

    def test_two_rotations_between_polls(self, tmp_path: Path) -> None:
        """A file opened when first seen cannot vanish unread when rotated again soon after."""
        log = tmp_path / "app.log"
        append(log, "a")
        tailed = started(log, settings=replace(FAST, rotate_wait=0.2))
        poll_all(tailed, 1)
        log.rename(tmp_path / "app.log.1")
        append(log, "b")
        got = poll_all(tailed, 1)  # sees the new file, keeps the old one for rotate_wait
        (tmp_path / "app.log.1").rename(tmp_path / "app.log.2")
        log.rename(tmp_path / "app.log.1")
        append(log, "c")
        time.sleep(0.25)
        got += poll_all(tailed, 3)
        time.sleep(0.25)
        got += poll_all(tailed, 3)
        assert lines_of(got) == ["b", "c"]

    def test_rotate_wait_reads_late_writes_to_the_old_file(self, tmp_path: Path) -> None:
        """A writer that has not reopened yet still gets its lines read within `rotate_wait`."""
        log = tmp_path / "app.log"
        append(log, "a")
        tailed = started(log, settings=replace(FAST, rotate_wait=5.0))
        poll_all(tailed)
        with log.open("a") as late_writer:
            log.rename(tmp_path / "app.log.1")
            append(log, "new")
            poll_all(tailed)
            late_writer.write("late\n")
        assert lines_of(poll_all(tailed)) == ["late"]  # the new file waits behind the old one

    def test_copytruncate_reads_the_rest_from_the_copy(self, tmp_path: Path) -> None:
        """When the file is copied and truncated, what was not read yet comes from the copy."""
        log = tmp_path / "app.log"
        append(log, "1", "2")
        tailed = started(log)
        assert lines_of(poll_all(tailed)) == ["1", "2"]
        append(log, "3", "4")
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "5")
        assert lines_of(poll_all(tailed)) == ["3", "4", "5"]
        assert any("truncated" in note for note in tailed.notes)

    def test_copytruncate_noticed_after_regrowth(self, tmp_path: Path) -> None:
        """A truncated file that grew past the old offset before the next poll is still noticed."""
        log = tmp_path / "app.log"
        append(log, "first line of the first file")
        tailed = started(log)
        poll_all(tailed)
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, *(f"second file line {i}" for i in range(10)))
        assert lines_of(poll_all(tailed)) == [f"second file line {i}" for i in range(10)]

    def test_copytruncate_of_a_file_not_reached_yet(self, tmp_path: Path) -> None:
        """A new file copytruncated while an older one is still being read: its copy is not lost."""
        log = tmp_path / "app.log"
        append(log, "old")
        tailed = started(log, settings=replace(FAST, rotate_wait=5.0))
        now = time.monotonic()
        assert lines_of(tailed.poll(now)) == ["old"]
        log.rename(tmp_path / "app.log.1")
        log.touch()
        assert tailed.poll(now) == []  # the new, empty file is opened; the old one waits
        append(log, "first")
        assert tailed.poll(now) == []  # still behind the old one
        shutil.copyfile(log, tmp_path / "app.log.2")
        os.truncate(log, 0)
        append(log, "second")
        later = now + 10
        got = tailed.poll(later) + tailed.poll(later) + tailed.poll(later)
        assert lines_of(got) == ["first", "second"]


def stopped_after(log: Path, *lines: str) -> Checkpoint:
    """Writes `lines`, follows them, and stops: the checkpoint a follower would have committed."""
    append(log, *lines)
    first = started(log)
    last = poll_all(first)[-1]
    point = last.file.checkpoint(first.key, last.end_offset)
    first.close()
    return point


def restarted(log: Path, point: Checkpoint) -> tuple[TailedFile, list[str]]:
    """A follower started again at `point`, and every line it then reads."""
    again = TailedFile(log, log.name, FAST)
    again.start(point)
    return again, lines_of(poll_all(again, 8))


class TestRestart:
    def test_resumes_the_same_file(self, tmp_path: Path) -> None:
        """A checkpoint of the file still at the name resumes at its offset, with its skip count."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "1", "2")
        append(log, "3")
        again = TailedFile(log, "app.log", FAST)
        assert again.start(replace(point, skip=2)).skip == 2
        assert lines_of(poll_all(again)) == ["3"]

    def test_finds_the_renamed_file_and_every_later_one(self, tmp_path: Path) -> None:
        """Rotated twice while down: the rest of the checkpoint's file, the next one, then the current."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "1")
        append(log, "2")
        log.rename(tmp_path / "app.log.1")
        append(log, "3")
        (tmp_path / "app.log.1").rename(tmp_path / "app.log.2")
        log.rename(tmp_path / "app.log.1")
        append(log, "4")
        again = TailedFile(log, "app.log", FAST)
        assert again.start(point).lost is None
        assert lines_of(poll_all(again, 8)) == ["2", "3", "4"]

    def test_finds_a_compressed_rotation(self, tmp_path: Path) -> None:
        """A rotated file compressed while down is found by its content and read from the offset."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "1")
        append(log, "2")
        with gzip.open(tmp_path / "app.log.1.gz", "wb") as gz:
            gz.write(log.read_bytes())
        log.unlink()
        append(log, "3")
        assert restarted(log, point)[1] == ["2", "3"]

    def test_finds_a_copytruncate_copy(self, tmp_path: Path) -> None:
        """Copied and truncated while down: the copy is found by its first bytes."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "the first line")
        append(log, "second")
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "third")
        assert restarted(log, point)[1] == ["second", "third"]

    def test_empty_file_copies_are_found_by_time(self, tmp_path: Path) -> None:
        """A checkpoint of an empty file has no fingerprint: copies written after it are read."""
        log = tmp_path / "app.log"
        log.touch()
        first = started(log)
        current = first.current
        assert current is not None
        point = replace(current.checkpoint(first.key, 0), committed_ns=time.time_ns())
        first.close()
        time.sleep(0.02)
        append(log, "copied away")
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "after")
        assert restarted(log, point)[1] == ["copied away", "after"]

    def test_a_deleted_file_is_reported_lost(self, tmp_path: Path) -> None:
        """When the checkpoint's file is gone, the restart says so and reads the current file."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "1")
        append(log, "2")
        log.unlink()
        append(log, "new one")
        again = TailedFile(log, "app.log", FAST)
        resumed = again.start(point)
        assert resumed.lost is not None and "not read" in resumed.lost
        assert lines_of(poll_all(again)) == ["new one"]

    def test_a_new_file_with_a_reused_inode_is_not_resumed(self, tmp_path: Path) -> None:
        """Same inode, other first bytes (inode numbers are reused): read from the start."""
        log = tmp_path / "app.log"
        point = stopped_after(log, "original content")
        log.write_text("replaced in place with other text\n")
        assert restarted(log, point)[1] == ["replaced in place with other text"]


class TestNames:
    def test_rotation_names(self) -> None:
        """Rotation suffixes are recognised; their age orders numbered ones."""
        assert rotation_base("app.log.1") == "app.log"
        assert rotation_base("app.log.2.gz") == "app.log"
        assert rotation_base("app.log-20261127") == "app.log"
        assert rotation_base("app.log") is None
        assert rotation_age("app.log.3.gz") == 3 and rotation_age("app.log-20261127") == 0

    def test_siblings(self, tmp_path: Path) -> None:
        """Only files named as rotations of the name are its siblings."""
        for name in ("app.log", "app.log.1", "app.log.2.gz", "app.log-20261127", "app.logger", "other.log.1"):
            (tmp_path / name).write_text("x\n")
        names = [p.name for p in rotated_siblings(tmp_path / "app.log")]
        assert names == ["app.log-20261127", "app.log.1", "app.log.2.gz"]

    def test_glob_picks_up_new_files_but_not_rotations(self, tmp_path: Path) -> None:
        """A later scan finds new matching files; `app.log.1` beside `app.log` is not a log of its own."""
        append(tmp_path / "a.log", "x")
        paths = FollowedPaths([str(tmp_path / "*.log*")])
        assert [p.name for p, _ in paths.scan()] == ["a.log"]
        append(tmp_path / "b.log", "y")
        append(tmp_path / "a.log.1", "rotated")
        assert [p.name for p, _ in paths.scan()] == ["b.log"]
        assert paths.scan() == []

    def test_missing_explicit_path_is_followed(self, tmp_path: Path) -> None:
        """A named file that does not exist yet is watched, and read once created."""
        log = tmp_path / "later.log"
        paths = FollowedPaths([str(log)])
        found = paths.scan()
        assert [p for p, _ in found] == [log.resolve()]
        tailed = TailedFile(found[0][0], found[0][1], FAST)
        tailed.start(None)
        assert poll_all(tailed) == []
        append(log, "created")
        assert lines_of(poll_all(tailed)) == ["created"]
