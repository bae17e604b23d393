"""Deduplication: repeats of one template with the same (normalised) values, close in time, as one.

Two records are the same event when they come from one service and one template and their values
agree once digits are blanked out (`retry 3 of 5` and `retry 4 of 5` differ only in numbers: one
line), and each follows the previous one of its group within the window. Output keeps the order of
first occurrence. Template ids and values are the ones mined at ingest and stored with each record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


@dataclass(slots=True)
class DedupGroup(Generic[R]):
    """One printed line: the first record of a run of repeats, how many, and when the run spanned."""

    record: R
    count: int
    first_ts: int
    last_ts: int


def normalise(params: list[str]) -> tuple[str, ...]:
    """Values with their digits blanked out: counters and ids do not split a group."""
    return tuple(_DIGITS.sub("#", value) for value in params)


def dedupe(records: Iterable[R], window_ns: int = DEFAULT_WINDOW_NS) -> list[DedupGroup[R]]:
    """Groups records (oldest first) into runs of the same event; see the module docstring.

    A record without a template id (a store written before templates were kept) is its own event
    text: only exact repeats of its message merge.
    """
    groups: list[DedupGroup[R]] = []
    open_runs: dict[tuple[str, str | None, tuple[str, ...]], DedupGroup[R]] = {}
    for record in records:
        key: tuple[str, str | None, tuple[str, ...]]
        if record.template_id is None:
            key = (record.service, None, (record.message,))
        else:
            key = (record.service, record.template_id, normalise(record.params or []))
        run = open_runs.get(key)
        if run is not None and record.ts - run.last_ts <= window_ns:
            run.count += 1
            run.last_ts = record.ts
            continue
        run = DedupGroup(record, 1, record.ts, record.ts)
        open_runs[key] = run
        groups.append(run)
    return groups
