"""Tests for loglens.sources.syslog: TCP framing as senders really frame it."""

from __future__ import annotations

from loglens.formats.multiline import TRUNCATION_MARK
from loglens.sources.syslog import SyslogFramer


def framed(*pieces: bytes, max_bytes: int = 64 * 1024) -> list[str]:
    framer = SyslogFramer(max_bytes)
    return [message for piece in pieces for message in framer.feed(piece)]


class TestSyslogFramer:
    def test_newline_delimited_across_reads(self) -> None:
        """`logger --tcp`: newline-ended messages, split anywhere between reads."""
        assert framed(b"<13>a: one\n<13>a: t", b"wo\n<13>a: three\n") == [
            "<13>a: one",
            "<13>a: two",
            "<13>a: three",
        ]

    def test_nul_delimited(self) -> None:
        """Python's SysLogHandler over TCP ends each message with NUL only."""
        assert framed(b"<12>first\x00<12>second\x00") == ["<12>first", "<12>second"]

    def test_octet_counting(self) -> None:
        """RFC 6587 octet counting, the length and the message split between reads."""
        one, two = b"<11>1 - h app - - - hello\nworld", b"<11>1 - h app - - - bye"
        data = b"%d %s%d %s" % (len(one), one, len(two), two)
        assert framed(data[:5], data[5:40], data[40:]) == [one.decode(), two.decode()]

    def test_long_messages_are_cut_and_marked(self) -> None:
        """A message over the limit is cut with a mark, in either framing; the next one is intact."""
        long = b"<13>" + b"x" * 5000
        delimited = framed(long + b"\n<13>next\n", max_bytes=1024)
        counted = framed(b"%d %s3 abc" % (len(long), long), max_bytes=1024)
        for messages in (delimited, counted):
            assert messages[0].endswith(TRUNCATION_MARK.format(len(long) - 1024))
            assert len(messages) == 2
        assert delimited[1] == "<13>next" and counted[1] == "abc"

    def test_long_line_arriving_in_pieces_is_one_cut_message(self) -> None:
        """An over-long delimited line read in pieces gives one cut message, not its tail as another."""
        long = b"<13>" + b"y" * 5000
        pieces = [long[i : i + 700] for i in range(0, len(long), 700)] + [b"\n<13>after\n"]
        messages = framed(*pieces, max_bytes=1024)
        assert len(messages) == 2 and messages[1] == "<13>after"
        assert TRUNCATION_MARK.split("{")[0] in messages[0]
