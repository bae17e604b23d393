"""Deduplication: repeats of one template with the same (normalised) values, close in time, as one.

Two records are the same event when they come from one service and one template and their values
agree once digits are blanked out (`retry 3 of 5` and `retry 4 of 5` differ only in numbers: one
line), and each follows the previous one of its group within the window. Output keeps the order of
first occurrence. Template ids and values are the ones mined at ingest and stored with each record.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from loglens.record import MessageRecord

_DIGITS = re.compile(r"\d+")
DEFAULT_WINDOW_NS = 60 * 10**9


class MinedMessage(MessageRecord, Protocol):
    """A record with the template its message was mined to, and that template's values."""

    @property
    def template_id(self) -> str | None: ...
    @property
    def params(self) -> list[str] | None: ...


R = TypeVar("R", bound=MinedMessage)
RunKey = tuple[str, str | None, tuple[str, ...]]
"""Service, template id (None: unmined) and the values up to digits: what makes two records one event."""


@dataclass(slots=True)
class DedupGroup(Generic[R]):
    """One printed line: the first record of a run of repeats, how many, and when the run spanned."""

    record: R
    count: int
    first_ts: int
    last_ts: int
    key: RunKey = ("", None, ())


def normalise(params: list[str]) -> tuple[str, ...]:
    """Values with their digits blanked out: counters and ids do not split a group."""
    return tuple(_DIGITS.sub("#", value) for value in params)


def dedupe(records: Iterable[R], window_ns: int = DEFAULT_WINDOW_NS) -> Iterator[DedupGroup[R]]:
    """Groups records (oldest first) into runs of the same event; see the module docstring.

    Groups come out in order of first occurrence as soon as they, and every group before them, can
    no longer grow (the records have moved on by more than the window), so `logs --dedupe --lines
    all` over millions of records holds only the runs still open, not every run seen.

    A record without a template id (a store written before templates were kept) is its own event
    text: only exact repeats of its message merge.
    """
    pending: deque[DedupGroup[R]] = deque()  # in order of first occurrence, not yet given out
    open_runs: dict[RunKey, DedupGroup[R]] = {}
    for record in records:
        key: RunKey
        if record.template_id is None:
            key = (record.service, None, (record.message,))
        else:
            key = (record.service, record.template_id, normalise(record.params or []))
        run = open_runs.get(key)
        if run is not None and record.ts - run.last_ts <= window_ns:
            run.count += 1
            run.last_ts = record.ts
        else:
            run = open_runs[key] = DedupGroup(record, 1, record.ts, record.ts, key)
            pending.append(run)
        while pending and record.ts - pending[0].last_ts > window_ns:
            done = pending.popleft()
            if open_runs.get(done.key) is done:
                del open_runs[done.key]
            yield done
    yield from pending
