"""Bytes → lines: chunked reading that bounds line length and never fails on bad bytes.

Lines are decoded as UTF-8; a chunk with invalid bytes keeps them visible as `\\xNN` escapes, NUL
bytes become `\\x00`, and a line longer than the limit is cut with a mark saying how much was dropped,
so a 50 MB line or a binary blob costs bounded memory and loses nothing else.
"""

from __future__ import annotations

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
        self._offset = start_offset
        self._max = max_line_bytes
        self._chunk = chunk_bytes
        self.truncated = 0
        self.consumed = start_offset  # stream offset just past the last line handed out

    def __iter__(self) -> Iterator[LineChunk]:
        read = self._stream.read
        max_line = self._max
        carry = b""
        dropped = 0  # bytes thrown away from the over-long line in progress (0: not in one)
        consumed = self._offset
        while True:
            chunk = read(self._chunk)
            if not chunk:
                break
            if dropped:
                newline = chunk.find(b"\n")
                if newline < 0:
                    dropped += len(chunk)
                    continue
                dropped += newline
                line = self._cut(carry, dropped)
                consumed += len(carry) + dropped + 1
                carry, dropped = b"", 0
                self.consumed = consumed
                yield LineChunk([line], consumed, False)
                chunk = chunk[newline + 1 :]
            data = carry + chunk if carry else chunk
            last = data.rfind(b"\n")
            if last < 0:
                carry = data
            else:
                complete = data[:last]
                carry = data[last + 1 :]
                lines, exact = decode_lines(complete)
                if last > max_line:
                    lines, cut = self._cut_long(lines)
                    exact = exact and not cut
                consumed += last + 1
                self.consumed = consumed
                yield LineChunk(lines, consumed, exact)
            if len(carry) > max_line:
                dropped = len(carry) - max_line
                carry = carry[:max_line]
        if carry or dropped:
            tail = [self._cut(carry, dropped)] if dropped else decode_lines(carry)[0]
            consumed += len(carry) + dropped
            self.consumed = consumed
            yield LineChunk(tail, consumed, False)

    def _cut(self, head: bytes, dropped: int) -> str:
        self.truncated += 1
        text = head.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
        return text + TRUNCATION_MARK.format(dropped)

    def _cut_long(self, lines: list[str]) -> tuple[list[str], bool]:
        max_line = self._max
        if max(map(len, lines)) <= max_line:
            return lines, False
        out: list[str] = []
        for line in lines:
            if len(line) > max_line:
                self.truncated += 1
                dropped = len(line.encode("utf-8", "backslashreplace")) - max_line
                line = line[:max_line] + TRUNCATION_MARK.format(dropped)
            out.append(line)
        return out, True
