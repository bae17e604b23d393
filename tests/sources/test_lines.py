"""Tests for loglens.sources.lines: chunked decoding that bounds lines and keeps bad bytes visible."""

from __future__ import annotations

import io

from loglens.sources.lines import LineReader, decode_lines


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
