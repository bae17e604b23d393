"""Tests for loglens.sources.pipe: real OS pipes read without blocking, in bounded amounts."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator

import pytest

from loglens.sources.command import strip_terminal_codes
from loglens.sources.lines import LineChunk
from loglens.sources.pipe import PipeSource, wait_readable

MIB = 1024 * 1024


class Pipe:
    """Both ends of an os.pipe(); `close_writer` is idempotent, and the fixture closes what is left."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._writer_open = True

    def write(self, data: bytes) -> None:
        os.write(self.write_fd, data)

    def close_writer(self) -> None:
        if self._writer_open:
            os.close(self.write_fd)
            self._writer_open = False

    def close(self) -> None:
        self.close_writer()
        os.close(self.read_fd)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    p = Pipe()
    try:
        yield p
    finally:
        p.close()


def lines_of(chunks: list[LineChunk]) -> list[str]:
    return [line for chunk in chunks for line in chunk.lines]


class TestPipeSource:
    def test_lines_across_several_writes(self, pipe: Pipe) -> None:
        """Lines split over several writes come out whole and in order, once their newline has arrived."""
        source = PipeSource(pipe.read_fd, "-")
        pipe.write(b"first li")
        assert lines_of(source.poll(0.1)) == []
        pipe.write(b"ne\nsecond ")
        assert lines_of(source.poll(0.2)) == ["first line"]
        pipe.write(b"line\nthird line\n")
        assert lines_of(source.poll(0.3)) == ["second line", "third line"]
        assert not source.done

    def test_end_offsets_count_bytes_read(self, pipe: Pipe) -> None:
        """Each chunk's end offset is the byte count of the pipe up to its last line's newline."""
        source = PipeSource(pipe.read_fd, "-")
        pipe.write("héllo\nab".encode())
        first = source.poll(0.0)
        pipe.write(b"c\n")
        second = source.poll(0.0)
        assert [c.end_offset for c in first] == [len("héllo\n".encode())]
        assert [c.end_offset for c in second] == [len("héllo\nabc\n".encode())]

    def test_empty_pipe_returns_at_once(self, pipe: Pipe) -> None:
        """Polling a pipe whose writer is open but silent returns nothing without waiting for data."""
        source = PipeSource(pipe.read_fd, "-")
        started = time.monotonic()
        chunks = source.poll(0.0)
        elapsed = time.monotonic() - started
        assert chunks == []
        assert elapsed < 0.5
        assert not source.done

    def test_read_budget_bounds_each_poll(self, pipe: Pipe) -> None:
        """3 MB written into a pipe is taken over at least three polls of at most read_bytes each."""
        try:
            fcntl.fcntl(pipe.write_fd, fcntl.F_SETPIPE_SZ, MIB)
        except (AttributeError, OSError):
            pytest.skip("cannot enlarge the pipe buffer to 1 MiB here")
        line = b"x" * 99 + b"\n"  # 100 bytes with its newline
        total_lines = 3 * 1000 * 1000 // len(line)
        payload = line * total_lines

        def write_all() -> None:
            view = memoryview(payload)
            while view:
                view = view[os.write(pipe.write_fd, view) :]
            pipe.close_writer()

        writer = threading.Thread(target=write_all)
        writer.start()
        source = PipeSource(pipe.read_fd, "-", read_bytes=MIB)
        per_poll: list[int] = []
        received = 0
        deadline = time.monotonic() + 60
        while not source.done and time.monotonic() < deadline:
            wait_readable([pipe.read_fd], 0.5)
            chunks = source.poll(time.monotonic())
            got = lines_of(chunks)
            received += len(got)
            if got:
                per_poll.append(sum(len(text) + 1 for text in got))
        writer.join(timeout=10)
        assert source.done
        assert received == total_lines
        assert len(per_poll) >= 3
        assert max(per_poll) <= MIB + len(line)

    def test_small_budget_with_data_waiting(self, pipe: Pipe) -> None:
        """With 40 KB already in the pipe and a 4 KB budget, each poll hands out about 4 KB, not all of it."""
        line = b"y" * 39 + b"\n"
        pipe.write(line * 1000)
        source = PipeSource(pipe.read_fd, "-", read_bytes=4096)
        sizes: list[int] = []
        for _ in range(100):
            got = lines_of(source.poll(0.0))
            if not got:
                break
            sizes.append(sum(len(text) + 1 for text in got))
        assert sum(sizes) == 40_000
        assert len(sizes) >= -(-40_000 // 4096)
        assert max(sizes) <= 4096 + len(line)

    def test_partial_line_released_after_timeout(self, pipe: Pipe) -> None:
        """A line without its newline is held until partial_timeout has passed on the `now` clock."""
        source = PipeSource(pipe.read_fd, "-", partial_timeout=5.0)
        pipe.write(b"done\nprompt> ")
        assert lines_of(source.poll(100.0)) == ["done"]
        assert lines_of(source.poll(102.0)) == []
        assert lines_of(source.poll(104.9)) == []
        assert lines_of(source.poll(105.0)) == ["prompt> "]
        assert lines_of(source.poll(200.0)) == []
        assert not source.done

    def test_rest_of_released_line_is_a_new_line(self, pipe: Pipe) -> None:
        """Bytes arriving after a partial line was released by timeout start a line of their own."""
        source = PipeSource(pipe.read_fd, "-", partial_timeout=1.0)
        pipe.write(b"abc")
        assert lines_of(source.poll(10.0)) == []
        assert lines_of(source.poll(11.0)) == ["abc"]
        pipe.write(b"def\n")
        assert lines_of(source.poll(11.5)) == ["def"]

    def test_eof_gives_tail_and_done(self, pipe: Pipe) -> None:
        """When the writer closes, the last line without a newline is returned and the source is done."""
        source = PipeSource(pipe.read_fd, "-", partial_timeout=1000.0)
        pipe.write(b"one\ntwo")
        pipe.close_writer()
        assert lines_of(source.poll(0.0)) == ["one", "two"]
        assert source.done
        assert source.poll(1.0) == []

    def test_eof_without_tail(self, pipe: Pipe) -> None:
        """A pipe closed right after a newline ends with no extra empty line."""
        source = PipeSource(pipe.read_fd, "-")
        pipe.write(b"only\n")
        assert lines_of(source.poll(0.0)) == ["only"]
        assert not source.done
        pipe.close_writer()
        assert lines_of(source.poll(0.0)) == []
        assert source.done

    def test_clean_strips_colour_codes(self, pipe: Pipe) -> None:
        """A `clean` function such as strip_terminal_codes is applied to every line, the tail included."""
        source = PipeSource(pipe.read_fd, "make:stdout", clean=strip_terminal_codes)
        pipe.write(b"\x1b[31merror\x1b[0m: bad\n\x1b[1;33mwarn\x1b[0m")
        pipe.close_writer()
        assert lines_of(source.poll(0.0)) == ["error: bad", "warn"]

    def test_without_clean_codes_are_kept(self, pipe: Pipe) -> None:
        """Without `clean`, escape sequences reach the lines as they were written."""
        source = PipeSource(pipe.read_fd, "-")
        pipe.write(b"\x1b[31merror\x1b[0m\n")
        assert lines_of(source.poll(0.0)) == ["\x1b[31merror\x1b[0m"]

    def test_over_long_line_is_cut_and_counted(self, pipe: Pipe) -> None:
        """A line over max_line_bytes is cut with a mark and counted; the next line is intact."""
        source = PipeSource(pipe.read_fd, "-", max_line_bytes=1024)
        pipe.write(b"z" * 5000 + b"\nnext\n")
        got = lines_of(source.poll(0.0))
        assert len(got) == 2
        assert got[0].startswith("z" * 1024) and "truncated 3976 bytes" in got[0]
        assert got[1] == "next"
        assert source.truncated == 1


class TestWaitReadable:
    def test_returns_when_data_arrives(self, pipe: Pipe) -> None:
        """wait_readable returns as soon as one of the pipes has data, well before its timeout."""
        other = Pipe()
        try:
            pipe.write(b"x\n")
            started = time.monotonic()
            wait_readable([other.read_fd, pipe.read_fd], 5.0)
            assert time.monotonic() - started < 1.0
        finally:
            other.close()

    def test_returns_when_writer_closes(self, pipe: Pipe) -> None:
        """A pipe whose writer has closed counts as readable, so the waiter wakes up to see the end."""
        pipe.close_writer()
        started = time.monotonic()
        wait_readable([pipe.read_fd], 5.0)
        assert time.monotonic() - started < 1.0

    def test_sleeps_for_timeout_when_silent(self, pipe: Pipe) -> None:
        """With no data, wait_readable sleeps for about its timeout (also with no descriptors at all)."""
        started = time.monotonic()
        wait_readable([pipe.read_fd], 0.1)
        assert time.monotonic() - started >= 0.09
        started = time.monotonic()
        wait_readable([], 0.1)
        assert time.monotonic() - started >= 0.09


class TestPartialLineClock:
    def test_each_partial_line_waits_its_own_time(self) -> None:
        """The wait restarts when a line completes and a new partial one is left over."""
        read_end, write_end = os.pipe()
        pipe = PipeSource(read_end, "-", partial_timeout=5.0)
        os.write(write_end, b"abc")
        pipe.poll(100.0)
        os.write(write_end, b"def\nxyz")
        assert [ln for c in pipe.poll(104.0) for ln in c.lines] == ["abcdef"]
        assert pipe.poll(105.0) == []
        assert [ln for c in pipe.poll(109.0) for ln in c.lines] == ["xyz"]
        os.close(write_end)
        os.close(read_end)

    def test_time_zero_is_a_time(self) -> None:
        """A partial line that began waiting at now=0.0 is released 5 s later, not later still."""
        read_end, write_end = os.pipe()
        pipe = PipeSource(read_end, "-", partial_timeout=5.0)
        os.write(write_end, b"abc")
        pipe.poll(0.0)
        os.write(write_end, b"def")
        pipe.poll(3.0)
        assert [ln for c in pipe.poll(5.5) for ln in c.lines] == ["abcdef"]
        os.close(write_end)
        os.close(read_end)
