"""Pipes as live sources: stdin (`… | loglens tail -`) and a wrapped command's stdout and stderr.

A pipe is read only when it has data (select), a bounded amount per poll, and only as fast as the
pipeline takes it: while the store or the terminal is behind, nothing more is read, the pipe fills
and its writer blocks. That is the backpressure — memory held here is one read and one partial line.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable

from loglens.sources.lines import DEFAULT_MAX_LINE_BYTES, LineChunk, LineSplitter, waiting_since

PIPE_READ_BYTES = 64 * 1024


class PipeSource:
    """One pipe's lines as they arrive; `done` once its writer has closed it and all is handed out.

    Args:
        fd: the pipe's read end (not closed here).
        display: the record source (`-`, `make:stdout`).
        read_bytes: bytes read per poll, at most.
        partial_timeout: seconds a line without its newline waits before it is taken as it is.
        clean: applied to every line (a command's colour codes stripped, say).
    """

    def __init__(
        self,
        fd: int,
        display: str,
        read_bytes: int = 1024 * 1024,
        partial_timeout: float = 5.0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        clean: Callable[[str], str] | None = None,
    ) -> None:
        self.fd = fd
        self._clean = clean
        self.display = display
        self.done = False
        self._read_bytes = read_bytes
        self._partial_timeout = partial_timeout
        self._splitter = LineSplitter(0, max_line_bytes)
        self._waiting_since: float | None = None

    @property
    def truncated(self) -> int:
        """Lines cut because they were over the limit."""
        return self._splitter.truncated

    def poll(self, now: float) -> list[LineChunk]:
        """What the pipe holds now (never blocks); at its end, the last partial line too."""
        chunks = self._read(now)
        clean = self._clean
        if clean is not None:
            for chunk in chunks:
                chunk.lines = [clean(line) for line in chunk.lines]
        return chunks

    def _read(self, now: float) -> list[LineChunk]:
        out: list[LineChunk] = []
        if self.done:
            return out
        budget = self._read_bytes
        splitter = self._splitter
        while budget > 0 and _readable(self.fd):
            try:
                data = os.read(self.fd, min(budget, PIPE_READ_BYTES))
            except BlockingIOError:
                break
            if not data:
                tail = splitter.finish()
                out.extend([tail] if tail is not None else [])
                self.done = True
                return out
            budget -= len(data)
            completed = splitter.feed(data)
            out.extend(completed)
            self._waiting_since = waiting_since(self._waiting_since, bool(completed), splitter.held, now)
        if self._waiting_since is not None and now - self._waiting_since >= self._partial_timeout:
            tail = splitter.finish()
            out.extend([tail] if tail is not None else [])
            self._waiting_since = None
        return out


def _readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def wait_readable(fds: list[int], timeout: float) -> None:
    """Sleeps until one of `fds` has data (or is closed) or `timeout` seconds pass."""
    if fds:
        select.select(fds, [], [], timeout)
    elif timeout > 0:
        select.select([], [], [], timeout)
