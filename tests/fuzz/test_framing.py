"""Fuzzing the byte-level framing: file and pipe bytes into lines, syslog TCP streams into messages.

Any bytes, in any chunking, must come out as bounded text with nothing lost but what a cut counts.
"""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzzing import fuzz
from fuzz.payloads import BYTE_FRAGMENTS, raw_bodies
from loglens.formats.multiline import TRUNCATION_MARK
from loglens.sources.lines import LineReader, LineSplitter
from loglens.sources.syslog import SyslogFramer

MARK_ROOM = len(TRUNCATION_MARK.format(10**12))
stream_bytes = st.one_of(
    raw_bodies,
    st.binary(max_size=400),
    st.lists(st.sampled_from(BYTE_FRAGMENTS) | st.binary(max_size=6)).map(b"".join),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` split at the given offsets (taken modulo its length, in order)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


class TestLineSplitter:
    @fuzz()
    @given(
        data=stream_bytes,
        cuts=st.lists(st.integers(0, 10**6), max_size=8),
        limit=st.sampled_from([8, 64, 4096]),
    )
    def test_lines_are_bounded_and_independent_of_chunking(
        self, data: bytes, cuts: list[int], limit: int
    ) -> None:
        """Lines are the same however the bytes arrive, at most `limit` bytes plus a cut mark each,
        and `consumed` ends at the end of the input."""
        splitter = LineSplitter(max_line_bytes=limit)
        lines: list[str] = []
        for piece in chunked(data, cuts):
            for chunk in splitter.feed(piece):
                lines += chunk.lines
        tail = splitter.finish()
        if tail is not None:
            lines += tail.lines
        assert splitter.consumed == len(data)
        whole = [
            line
            for chunk in LineReader(io.BytesIO(data), max_line_bytes=limit, chunk_bytes=1 << 20)
            for line in chunk.lines
        ]
        assert lines == whole
        assert all(len(line.encode("utf-8", "surrogatepass")) <= 4 * limit + MARK_ROOM for line in lines)
        assert not any("\n" in line or "\x00" in line for line in lines)


class TestSyslogFramer:
    @fuzz()
    @given(
        data=stream_bytes,
        cuts=st.lists(st.integers(0, 10**6), max_size=8),
        limit=st.sampled_from([16, 64 * 1024]),
    )
    def test_messages_are_bounded_text(self, data: bytes, cuts: list[int], limit: int) -> None:
        """Any TCP byte stream, in any chunking, frames into non-empty messages of bounded size."""
        framer = SyslogFramer(max_bytes=limit)
        messages = [message for piece in chunked(data, cuts) for message in framer.feed(piece)]
        assert all(messages)
        assert all(
            len(message.encode("utf-8", "surrogatepass")) <= 4 * limit + MARK_ROOM for message in messages
        )
        assert framer.cut <= len(messages)


class TestFoundByFuzzing:
    def test_a_crlf_split_from_its_line_by_a_chunk_boundary_makes_no_empty_line(self) -> None:
        """Chunks ending in CRLF give their lines and no empty line after each chunk."""
        splitter = LineSplitter()
        lines = [
            line
            for piece in (b"first\r\n", b"second\r\n")
            for chunk in splitter.feed(piece)
            for line in chunk.lines
        ]
        assert lines == ["first", "second"]
        assert splitter.consumed == 15

    def test_crlf_lines_beside_an_over_long_one_make_no_empty_lines(self) -> None:
        """A chunk cut for an over-long line keeps its short CRLF lines whole, without empty ones."""
        chunks = LineReader(io.BytesIO(b"x" * 20 + b"\r\nshort\r\nend\r\n"), max_line_bytes=8)
        lines = [line for chunk in chunks for line in chunk.lines]
        assert lines[1:] == ["short", "end"]
        assert lines[0].startswith("x" * 8) and "truncated" in lines[0]

    def test_short_lines_ended_by_lone_crs_are_not_one_over_long_line(self) -> None:
        """Lines ended by lone CRs, arriving in pieces past the limit, are the lines a whole read
        gives, not one over-long line cut at the limit."""
        data = b"".join(b"line %d\r" % i for i in range(20)) + b"end\n"
        splitter = LineSplitter(max_line_bytes=16)
        lines = [line for piece in (data[:50], data[50:]) for c in splitter.feed(piece) for line in c.lines]
        assert lines == [f"line {i}" for i in range(20)] + ["end"]
        assert splitter.consumed == len(data) and splitter.truncated == 0

    def test_an_over_long_line_ends_at_a_lone_cr_or_a_crlf_split_by_a_chunk(self) -> None:
        """The end of a line already cut may be a lone CR, or a CRLF whose halves come apart."""
        for pieces, ending in (([b"x" * 30 + b"\r", b"next\n"], 1), ([b"x" * 30 + b"\r", b"\nnext\n"], 2)):
            splitter = LineSplitter(max_line_bytes=8)
            chunks = [c for piece in pieces for c in splitter.feed(piece)]
            lines = [line for c in chunks for line in c.lines]
            assert lines[0].startswith("x" * 8) and "truncated" in lines[0] and lines[1:] == ["next"]
            assert chunks[0].end_offset == 30 + ending
            assert splitter.consumed == sum(map(len, pieces))

    def test_an_octet_count_too_long_to_be_one_is_delimited_text(self) -> None:
        """A run of digits longer than any message length reads as a delimited message, not as a
        count whose cut mark would name a 76-digit number of bytes dropped."""
        framer = SyslogFramer(max_bytes=16)
        assert framer.feed(b"1" * 76 + b" \n") == ["1" * 16 + TRUNCATION_MARK.format(61)]

    def test_a_lone_cr_is_no_syslog_message(self) -> None:
        """A delimited or octet-counted message of nothing but a CR is not handed on as an empty one."""
        assert SyslogFramer().feed(b"\r\n") == []
        assert SyslogFramer().feed(b"1 \r3 abc") == ["abc"]
