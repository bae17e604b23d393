"""Framing: physical lines → events, joining the continuation lines of multi-line formats.

A multi-line format (Python tracebacks, Java stack traces) says which lines start an event through
`sniff`; every other line belongs to the event before it. The last event stays open until the next
one starts or the input ends, because a stack trace may continue in the next chunk read.
"""

from __future__ import annotations

from loglens.formats.base import LogFormat

TRUNCATION_MARK = "…[truncated {} bytes]"


class EventFramer:
    """Joins continuation lines onto their event; bounded by `max_event_bytes` and `max_event_lines`.

    An event that would grow past either bound is closed with a truncation mark and the rest of its
    continuation lines are dropped (counted in `dropped_lines`), so one runaway trace cannot hold the
    whole file in memory.
    """

    __slots__ = (
        "_fmt",
        "_max_bytes",
        "_max_lines",
        "_pending",
        "_pending_chars",
        "_skipping",
        "dropped_lines",
    )

    def __init__(
        self, fmt: LogFormat, max_event_bytes: int = 256 * 1024, max_event_lines: int = 2000
    ) -> None:
        self._fmt = fmt
        self._max_bytes = max_event_bytes
        self._max_lines = max_event_lines
        self._pending: list[str] = []
        self._pending_chars = 0
        self._skipping = 0
        self.dropped_lines = 0

    def feed(self, lines: list[str]) -> list[str]:
        """Frames `lines`; returns the events they completed (the last one may stay pending)."""
        fmt = self._fmt
        if not fmt.multiline:
            return [line for line in lines if line]
        events: list[str] = []
        sniff = fmt.sniff
        pending = self._pending
        for line in lines:
            if sniff(line):
                if pending:
                    events.append(self._close())
                    pending = self._pending
                pending.append(line)
                self._pending_chars = len(line)
            elif not pending:
                if not line:
                    continue
                # Continuation with nothing before it (start of file): keep it as its own event.
                pending.append(line)
                self._pending_chars = len(line)
            else:
                size = self._pending_chars + len(line) + 1
                if size > self._max_bytes or len(pending) >= self._max_lines:
                    self._skipping += len(line) + 1
                    self.dropped_lines += 1
                    continue
                pending.append(line)
                self._pending_chars = size
        return events

    def flush(self) -> list[str]:
        """Closes the pending event, if any (end of input, or a quiet period when following)."""
        return [self._close()] if self._pending else []

    def pending_bytes(self) -> int:
        """Bytes of input held in the open event: a checkpoint must stop before them."""
        if not self._pending:
            return 0
        return sum(len(line.encode("utf-8")) + 1 for line in self._pending) + self._skipping

    def _close(self) -> str:
        pending = self._pending
        event = pending[0] if len(pending) == 1 else "\n".join(pending)
        if self._skipping:
            event += "\n" + TRUNCATION_MARK.format(self._skipping)
            self._skipping = 0
        self._pending = []
        self._pending_chars = 0
        return event
