"""Tests for loglens.sources.lines: chunked decoding that bounds lines and keeps bad bytes visible."""

from __future__ import annotations

import io

from loglens.formats.multiline import TRUNCATION_MARK
from loglens.sources.lines import LineChunk, LineReader, LineSplitter, decode_lines


def read_all(data: bytes, **kwargs: int) -> tuple[list[str], LineReader]:
    reader = LineReader(io.BytesIO(data), **kwargs)
    lines: list[str] = []
    for chunk in reader:
        lines.extend(chunk.lines)
    return lines, reader


class TestDecodeLines:
    def test_valid_utf8_is_exact(self) -> None:
        """Plain UTF-8 splits on newlines and reports the decoding as exact."""
        assert decode_lines("a\nbé".encode()) == (["a", "bé"], True)

    def test_invalid_bytes_become_escapes(self) -> None:
        """Invalid UTF-8 is kept as visible \\xNN escapes instead of being dropped."""
        lines, exact = decode_lines(b"ok\nbad \xff\xfe end")
        assert lines == ["ok", "bad \\xff\\xfe end"]
        assert not exact

    def test_nul_and_crlf(self) -> None:
        """NUL bytes are escaped and CRLF line ends normalised."""
        lines, _ = decode_lines(b"a\x00b\r\nc")
        assert lines == ["a\\x00b", "c"]


class TestLineReader:
    def test_lines_across_chunk_boundaries(self) -> None:
        """Lines split by the chunk size come out whole, in order."""
        data = b"".join(f"line {i}\n".encode() for i in range(1000))
        lines, reader = read_all(data, chunk_bytes=7)
        assert lines == [f"line {i}" for i in range(1000)]
        assert reader.consumed == len(data)

    def test_last_line_without_newline(self) -> None:
        """A file whose last line lacks a newline still yields that line."""
        lines, reader = read_all(b"a\nb")
        assert lines == ["a", "b"]
        assert reader.consumed == 3

    def test_huge_line_is_truncated_with_mark(self) -> None:
        """A 5 MB line is cut to the limit with a mark, and the lines around it survive."""
        data = b"before\n" + b"x" * 5_000_000 + b"\nafter\n"
        lines, reader = read_all(data, max_line_bytes=4096, chunk_bytes=65536)
        assert lines[0] == "before" and lines[-1] == "after"
        assert len(lines) == 3
        assert lines[1].startswith("x" * 4096)
        assert "truncated 4995904 bytes" in lines[1]
        assert reader.truncated == 1
        assert reader.consumed == len(data)

    def test_long_line_inside_one_chunk(self) -> None:
        """A line over the limit that fits in one chunk is cut too."""
        lines, reader = read_all(b"short\n" + b"y" * 10_000 + b"\n", max_line_bytes=1024)
        assert lines[1].startswith("y" * 1024) and "truncated" in lines[1]
        assert reader.truncated == 1

    def test_resume_offset_counts_from_start(self) -> None:
        """Offsets are absolute: a reader started at 100 reports 100 + bytes consumed."""
        reader = LineReader(io.BytesIO(b"abc\n"), start_offset=100)
        chunks = list(reader)
        assert chunks[-1].end_offset == 104


def split_bytewise(splitter: LineSplitter, data: bytes) -> list[LineChunk]:
    out: list[LineChunk] = []
    for i in range(len(data)):
        out.extend(splitter.feed(data[i : i + 1]))
    return out


class TestLineSplitter:
    DATA = "alpha\nbéta ünïcode\n\ngamma 3\nlast without newline".encode()

    def test_bytewise_feed_matches_whole_feed(self) -> None:
        """Feeding one byte at a time gives the same lines and end offsets as feeding everything at once."""
        whole = LineSplitter(0)
        at_once = whole.feed(self.DATA)
        single = LineSplitter(0)
        bytewise = split_bytewise(single, self.DATA)
        assert [line for c in at_once for line in c.lines] == ["alpha", "béta ünïcode", "", "gamma 3"]
        assert [line for c in bytewise for line in c.lines] == ["alpha", "béta ünïcode", "", "gamma 3"]
        assert at_once[-1].end_offset == bytewise[-1].end_offset == self.DATA.rfind(b"\n") + 1
        newline_ends = [i + 1 for i, byte in enumerate(self.DATA) if byte == ord("\n")]
        assert [c.end_offset for c in bytewise] == newline_ends
        assert all(c.exact for c in bytewise) and all(c.exact for c in at_once)
        assert whole.consumed == single.consumed and whole.held == single.held

    def test_held_counts_partial_line_bytes(self) -> None:
        """`held` is the byte count of the line still waiting for its newline, 0 once it is complete."""
        splitter = LineSplitter(0)
        assert splitter.held == 0
        assert splitter.feed("héllo".encode()) == []
        assert splitter.held == len("héllo".encode())
        splitter.feed(b" world")
        assert splitter.held == len("héllo world".encode())
        splitter.feed(b"\nab")
        assert splitter.held == 2

    def test_consumed_respects_start_offset(self) -> None:
        """`consumed` is start_offset plus the bytes up to the last complete line, not the partial one."""
        splitter = LineSplitter(start_offset=1000)
        assert splitter.consumed == 1000
        chunks = splitter.feed(b"abc\nde")
        assert splitter.consumed == 1004
        assert chunks[-1].end_offset == 1004
        splitter.feed(b"f\n")
        assert splitter.consumed == 1008

    def test_over_long_line_across_feeds(self) -> None:
        """A 5000-byte line fed in pieces is cut to the limit with the mark; the next line is intact."""
        splitter = LineSplitter(start_offset=10, max_line_bytes=1024)
        data = b"head\n" + b"x" * 5000 + b"\nnext line\n"
        out: list[LineChunk] = []
        for start in range(0, len(data), 700):
            out.extend(splitter.feed(data[start : start + 700]))
        lines = [line for c in out for line in c.lines]
        assert lines == ["head", "x" * 1024 + TRUNCATION_MARK.format(3976), "next line"]
        assert splitter.truncated == 1
        assert splitter.consumed == 10 + len(data)
        assert splitter.held == 0
        assert not next(c for c in out if any(line.startswith("x") for line in c.lines)).exact

    def test_over_long_line_held_stays_bounded(self) -> None:
        """While an over-long line waits for its newline, `held` still counts every byte of it."""
        splitter = LineSplitter(0, max_line_bytes=1024)
        for _ in range(10):
            assert splitter.feed(b"q" * 500) == []
        assert splitter.held == 5000
        assert splitter.consumed == 0

    def test_over_long_line_in_one_feed(self) -> None:
        """An over-long line inside one feed is cut the same way as one arriving in pieces."""
        splitter = LineSplitter(0, max_line_bytes=1024)
        lines = [line for c in splitter.feed(b"x" * 5000 + b"\nok\n") for line in c.lines]
        assert lines == ["x" * 1024 + TRUNCATION_MARK.format(3976), "ok"]
        assert splitter.truncated == 1

    def test_finish_returns_clean_partial_line(self) -> None:
        """finish() hands out a held UTF-8 line as exact and moves `consumed` past it."""
        splitter = LineSplitter(5)
        splitter.feed("done\nrésumé".encode())
        tail = splitter.finish()
        assert tail is not None
        assert tail.lines == ["résumé"]
        assert tail.exact
        assert tail.end_offset == splitter.consumed == 5 + len("done\nrésumé".encode())
        assert splitter.held == 0

    def test_finish_invalid_bytes_not_exact(self) -> None:
        """finish() on invalid UTF-8 keeps the bytes as escapes and says the line is not exact."""
        splitter = LineSplitter(0)
        splitter.feed(b"bad \xff")
        tail = splitter.finish()
        assert tail is not None
        assert tail.lines == ["bad \\xff"]
        assert not tail.exact

    def test_finish_over_long_partial_line(self) -> None:
        """finish() on an over-long partial line cuts it with the mark and counts it as truncated."""
        splitter = LineSplitter(0, max_line_bytes=1024)
        splitter.feed(b"w" * 3000)
        tail = splitter.finish()
        assert tail is not None
        assert tail.lines == ["w" * 1024 + TRUNCATION_MARK.format(1976)]
        assert splitter.truncated == 1
        assert splitter.consumed == 3000

    def test_finish_with_nothing_held(self) -> None:
        """finish() returns None when no partial line is held, before any input and after a newline."""
        splitter = LineSplitter(0)
        assert splitter.finish() is None
        splitter.feed(b"line\n")
        assert splitter.finish() is None
        assert splitter.consumed == 5


class TestLineLimitsInBytes:
    def test_cut_is_the_same_however_bytes_arrive(self) -> None:
        """A long multi-byte line is cut in bytes, at a character start, whether read whole or bytewise."""
        data = ("é" * 600 + "\n").encode()  # 1,200 bytes
        whole = LineSplitter(0, 1024)
        at_once = [line for chunk in whole.feed(data) for line in chunk.lines]
        bytewise = LineSplitter(0, 1024)
        one_by_one = [
            line for i in range(len(data)) for c in bytewise.feed(data[i : i + 1]) for line in c.lines
        ]
        assert at_once == one_by_one == ["é" * 512 + TRUNCATION_MARK.format(176)]

    def test_dropped_count_is_in_bytes(self) -> None:
        """The truncation mark says how many bytes were dropped, for text and for invalid bytes."""
        splitter = LineSplitter(0, 1024)
        lines = [
            ln for c in splitter.feed(("é" * 2000 + "\n").encode() + b"\xff" * 2000 + b"\n") for ln in c.lines
        ]
        assert lines[0].endswith(TRUNCATION_MARK.format(4000 - 1024))
        assert lines[1].endswith(TRUNCATION_MARK.format(2000 - 1024))

    def test_cr_waiting_for_its_lf_is_no_second_line(self) -> None:
        """A partial line ending in CR, taken before its LF arrives, is one line."""
        splitter = LineSplitter(0, 1024)
        splitter.feed(b"abc\r")
        tail = splitter.finish()
        assert tail is not None and tail.lines == ["abc"]
