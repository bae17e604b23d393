"""Tests for loglens.formats.multiline: joining continuation lines onto their event."""

from __future__ import annotations

from typing import ClassVar

from loglens.formats.base import SourceContext
from loglens.formats.multiline import EventFramer
from loglens.record import Record


class StampFormat:
    """A minimal multi-line format: an event starts at a line beginning with a digit."""

    name: ClassVar[str] = "stamp"
    multiline: ClassVar[bool] = True

    def sniff(self, line: str) -> bool:
        return line[:1].isdigit()

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        return []


class SingleFormat(StampFormat):
    multiline: ClassVar[bool] = False


class TestEventFramer:
    def test_joins_continuations_and_holds_last(self) -> None:
        """Continuation lines join the event before them; the last event waits for flush."""
        framer = EventFramer(StampFormat())
        assert framer.feed(["1 a", "  at x", "", "2 b", "Traceback"]) == ["1 a\n  at x\n"]
        assert framer.pending_bytes() == len("2 b\nTraceback\n")
        assert framer.feed(["  more"]) == []
        assert framer.flush() == ["2 b\nTraceback\n  more"]
        assert framer.flush() == []

    def test_leading_continuation_is_its_own_event(self) -> None:
        """Lines before the first event start (mid-trace resume) are kept, not dropped."""
        framer = EventFramer(StampFormat())
        assert framer.feed(["  at y", "1 a"]) == ["  at y"]

    def test_bounds_a_runaway_trace(self) -> None:
        """An event over the line cap is closed with a truncation mark and counts what it dropped."""
        framer = EventFramer(StampFormat(), max_event_lines=3)
        framer.feed(["1 start"] + [f"  at f{i}" for i in range(10)])
        (event,) = framer.flush()
        assert event.split("\n")[:3] == ["1 start", "  at f0", "  at f1"]
        assert "truncated" in event.split("\n")[3]
        assert framer.dropped_lines == 8

    def test_single_line_format_drops_blank_lines(self) -> None:
        """Single-line formats get one event per non-empty line."""
        framer = EventFramer(SingleFormat())
        assert framer.feed(["a", "", "b"]) == ["a", "b"]
        assert framer.pending_bytes() == 0
