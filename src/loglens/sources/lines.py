"""Bytes → lines: chunked reading that bounds line length and never fails on bad bytes.

Lines are decoded as UTF-8; a chunk with invalid bytes keeps them visible as `\\xNN` escapes, NUL
bytes become `\\x00`, and a line longer than the limit is cut with a mark saying how much was dropped,
so a 50 MB line or a binary blob costs bounded memory and loses nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from loglens.formats.multiline import TRUNCATION_MARK

DEFAULT_CHUNK_BYTES = 512 * 1024
DEFAULT_MAX_LINE_BYTES = 256 * 1024


class ByteStream(Protocol):
    """Anything with a binary `read(size)`: a file, gzip, stdin, a socket's file."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(slots=True)
class LineChunk:
    """Lines read from one chunk and the stream offset just past the last of them.

    `exact` is False when decoding changed the bytes (invalid UTF-8, NUL, CR), in which case the
    characters of a line no longer tell its byte length; checkpoints must then use `end_offset` only.
    """

    lines: list[str]
    end_offset: int
    exact: bool


def decode_lines(data: bytes) -> tuple[list[str], bool]:
    """Splits complete lines (no trailing newline in `data`) and decodes them; returns (lines, exact)."""
    exact = True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "backslashreplace")
        exact = False
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
        exact = False
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        exact = False
    return text.split("\n"), exact


class LineSplitter:
    """Bytes in, complete lines out: holds a partial last line until its end, cuts over-long lines.

    A line ends at LF, CRLF or a lone CR (old Mac files, progress bars), as `decode_lines` splits
    them; a CR that ends the bytes so far waits for the next byte, which says whether it was CRLF.
    One splitter serves a one-shot read (`LineReader`, which takes the partial line at end of input)
    and a live follow (which holds it until its newline arrives or a timeout says it never will).
    `consumed` is the stream offset just past the last line handed out; `truncated` counts cut lines.
    """

    __slots__ = ("_carry", "_cr", "_dropped", "_max", "consumed", "truncated")

    def __init__(self, start_offset: int = 0, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._carry = b""
        self._dropped = 0  # bytes thrown away from the over-long line in progress (0: not in one)
        self._cr = False  # the over-long line in progress ended in a CR, which may be half a CRLF
        self.consumed = start_offset
        self.truncated = 0

    @property
    def held(self) -> int:
        """Bytes read past `consumed` and not handed out yet (a line still waiting for its end)."""
        return len(self._carry) + self._dropped + self._cr

    def feed(self, chunk: bytes) -> list[LineChunk]:
        """The lines `chunk` completes (none, one chunk, or two when it ends an over-long line)."""
        out: list[LineChunk] = []
        max_line = self._max
        if self._dropped:
            chunk = self._end_long_line(chunk, out)
            if self._dropped:
                return out
        data = self._carry + chunk if self._carry else chunk
        last = last_line_end(data)
        if last < 0:
            self._carry = data
        else:
            self._carry = data[last + 1 :]
            # The CR of a CRLF ending the last line is part of its line end, not an empty line of its own.
            crlf = data[last] == 0x0A and data[last - 1 : last] == b"\r"
            complete = data[: last - 1] if crlf else data[:last]
            lines, exact = decode_lines(complete)
            exact = exact and data[last] == 0x0A and not crlf
            # A line of n characters has at most 4n bytes: most chunks need no byte-level look.
            if last > max_line and max(map(len, lines)) * 4 > max_line:
                lines, cut = self._cut_long(complete)
                exact = exact and not cut
            self.consumed += last + 1
            out.append(LineChunk(lines, self.consumed, exact))
        line = self._carry[:-1] if self._carry.endswith(b"\r") else self._carry
        if len(line) > max_line:
            keep = char_boundary(line, max_line)
            self._dropped = len(line) - keep
            self._cr = len(line) < len(self._carry)
            self._carry = line[:keep]
        return out

    def finish(self) -> LineChunk | None:
        """The held partial line as a line of its own (end of input, or waited for long enough)."""
        carry, dropped = self._carry, self._dropped
        if not carry and not dropped:
            return None
        if dropped:
            lines, exact = [self._cut(carry, dropped)], False
        else:
            # A CR whose LF has not come yet ends this line; it is no second, empty line.
            lines, exact = decode_lines(carry[:-1] if carry.endswith(b"\r") else carry)
        self.consumed += len(carry) + dropped + self._cr
        self._carry, self._dropped, self._cr = b"", 0, False
        return LineChunk(lines, self.consumed, exact)

    def _end_long_line(self, chunk: bytes, out: list[LineChunk]) -> bytes:
        """Drops `chunk`'s bytes of the over-long line in progress; once its end is found, hands the
        cut line out and returns the rest of `chunk` (before then, b"")."""
        if self._cr:  # the line ended in a CR: a LF first in this chunk makes it a CRLF
            if not chunk:
                return chunk
            ending = 2 if chunk[0] == 0x0A else 1
            rest = chunk[ending - 1 :]
        else:
            found = LINE_END.search(chunk)
            if found is None:
                self._dropped += len(chunk)
                return b""
            at = found.start()
            self._dropped += at
            if chunk[at] == 0x0D and at == len(chunk) - 1:  # a CR last: wait for the next byte
                self._cr = True
                return b""
            ending = 2 if chunk[at : at + 2] == b"\r\n" else 1
            rest = chunk[at + ending :]
        line = self._cut(self._carry, self._dropped)
        self.consumed += len(self._carry) + self._dropped + ending
        self._carry, self._dropped, self._cr = b"", 0, False
        out.append(LineChunk([line], self.consumed, False))
        return rest

    def _cut(self, head: bytes, dropped: int) -> str:
        self.truncated += 1
        text = head.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
        return text + TRUNCATION_MARK.format(dropped)

    def _cut_long(self, complete: bytes) -> tuple[list[str], bool]:
        """Decodes complete lines, cutting each one over the limit in bytes (at a character start)."""
        max_line = self._max
        out: list[str] = []
        cut = False
        for raw in LINE_BREAK.split(complete):
            if len(raw) > max_line:
                keep = char_boundary(raw, max_line)
                out.append(self._cut(raw[:keep], len(raw) - keep))
                cut = True
            else:
                out.extend(decode_lines(raw)[0])
        return out, cut


LINE_END = re.compile(rb"[\r\n]")
"""The first byte of a line's end (a LF, or the CR of a CRLF or of a lone CR)."""
LINE_BREAK = re.compile(rb"\r\n|\r|\n")
"""A line's end, as `decode_lines` splits lines."""


def last_line_end(data: bytes) -> int:
    """Where the last complete line of `data` ends: its LF, or its lone CR. -1 when there is none;
    a CR that is the last byte is not yet known to be an end of its own (a LF may follow it)."""
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))


def waiting_since(since: float | None, completed: bool, held: int, now: float) -> float | None:
    """When the partial line held now began to wait: `now` for a line that just began (nothing was
    held, or a line was just completed), else the time it already had; None when nothing is held."""
    if not held:
        return None
    if completed or since is None:
        return now
    return since


def char_boundary(data: bytes, limit: int) -> int:
    """The largest cut ≤ `limit` that does not split a UTF-8 character (continuation bytes are 10xxxxxx)."""
    cut = limit
    while cut > 0 and limit - cut < 3 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if data[cut] & 0xC0 != 0x80 else limit


class LineReader:
    """Iterates a binary stream as `LineChunk`s, starting at `start_offset` (already positioned).

    A final line without a newline is returned at end of input: a one-shot ingest should not leave
    the last line of a file unread. Lines over `max_line_bytes` are cut and marked; `truncated` counts them.
    """

    def __init__(
        self,
        stream: ByteStream,
        start_offset: int = 0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self._stream = stream
        self._chunk = chunk_bytes
        self._splitter = LineSplitter(start_offset, max_line_bytes)

    @property
    def consumed(self) -> int:
        """Stream offset just past the last line handed out."""
        return self._splitter.consumed

    @property
    def truncated(self) -> int:
        """Lines cut because they were over the limit."""
        return self._splitter.truncated

    def __iter__(self) -> Iterator[LineChunk]:
        read, size, splitter = self._stream.read, self._chunk, self._splitter
        while chunk := read(size):
            yield from splitter.feed(chunk)
        tail = splitter.finish()
        if tail is not None:
            yield tail
