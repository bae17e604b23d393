"""The daemon's inbox: batches pushed over HTTP (or by the demo) waiting for the single pipeline thread.

A push is acknowledged only once its records are committed: the pipeline thread takes every job
waiting, stores them, commits once for all of them (a group commit), and only then completes each
job. The inbox is bounded in records: when it is full a push is refused at once (HTTP 429 with
Retry-After) instead of queueing without limit — a slow disk slows the senders, it never grows memory.
A pipe wakes the pipeline thread as soon as a job arrives, so a push does not wait for a poll.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from loglens.record import Record

DEFAULT_MAX_RECORDS = 200_000


@dataclass(slots=True)
class IngestJob:
    """One push: either structured records (a shipper's protocol, decoded) or raw text lines that
    the pipeline frames and parses like a file's (`source` names them; `service` and `format` may be
    given, else they are found as for a file). `tenant` is the pushing request's: its records get it."""

    records: list[Record] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    source: str = "http"
    service: str | None = None
    format: str | None = None
    fields: dict[str, Any] | None = None
    timezone: tzinfo | None = None
    tenant: str = ""
    on_done: Callable[[IngestJob], None] | None = None
    stored: int = 0
    error: BaseException | None = None

    @property
    def size(self) -> int:
        """Records or lines it holds (what the inbox bound counts)."""
        return len(self.records) + len(self.lines)


class Inbox:
    """A bounded queue of jobs with a file descriptor that becomes readable when one arrives."""

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.max_records = max_records
        self._jobs: deque[IngestJob] = deque()
        self._held = 0
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.refused = 0

    @property
    def fd(self) -> int:
        """Readable while jobs wait (for select)."""
        return self._wake_read

    @property
    def depth(self) -> int:
        """Records and lines pushed and not yet committed (waiting here, or taken and on their way)."""
        return self._held

    def admits_more(self) -> bool:
        """False, counting a refusal, when nothing more fits (a push now would be refused whatever
        its size): the server asks before reading a body, so shedding load costs little."""
        if self._held >= self.max_records:
            self.refused += 1
            return False
        return True

    def submit(self, job: IngestJob) -> bool:
        """Queues `job`; False (and nothing queued) when it would take the inbox past its bound."""
        with self._lock:
            if self._held and self._held + job.size > self.max_records:
                self.refused += 1
                return False
            self._jobs.append(job)
            self._held += job.size
        with contextlib.suppress(BlockingIOError):  # a full pipe of wake-ups: the reader is awake
            os.write(self._wake_write, b"\0")
        return True

    def take(self) -> list[IngestJob]:
        """Every job waiting, oldest first; they count against the bound until `release`d."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, 4096):
                pass
        with self._lock:
            jobs = list(self._jobs)
            self._jobs.clear()
        return jobs

    def release(self, jobs: list[IngestJob]) -> None:
        """Jobs committed (or failed): their room is free again. Until then a taken job still
        counts, so the bound holds for everything acknowledged-to-be, wherever it waits."""
        with self._lock:
            self._held = max(self._held - sum(job.size for job in jobs), 0)

    def close(self) -> None:
        """Fails what still waits and frees the pipe."""
        jobs = self.take()
        self.release(jobs)
        for job in jobs:
            job.error = RuntimeError("loglens is stopping")
            if job.on_done is not None:
                job.on_done(job)
        os.close(self._wake_read)
        os.close(self._wake_write)
