"""The `Store` protocol every backend implements, so commands never depend on one engine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from loglens.mining.drain import TemplateChange
from loglens.record import Record
from loglens.sources.file import Checkpoint


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as read back from a store: the columns `loglens logs` prints."""

    id: int
    ts: int
    service: str
    host: str | None
    pid: int | None
    level: str
    message: str
    raw: str
    source: str
    template_id: str | None
    fields: dict[str, Any] | None
    parse_error: str | None
    params: list[str] | None = None


@dataclass(frozen=True, slots=True)
class PatternStats:
    """One template's figures over a query's records, as a store adds them up (see
    `Store.pattern_stats`); times in ns. `span_start`/`span_end` bound the matching records of the
    template's service."""

    template_id: str
    template: str | None
    service: str
    count: int
    first_ts: int
    last_ts: int
    level: str
    sample: str
    recent: int
    span_start: int
    span_end: int


class Store(Protocol):
    """Where records and file checkpoints live. One writer per store; readers may be many."""

    def write(self, batch: Sequence[Record], checkpoint: Checkpoint | None = None) -> None:
        """Appends `batch` and saves `checkpoint` in one transaction (acknowledged = on disk)."""
        ...

    def prepare(self, batch: Sequence[Record]) -> pa.Table:
        """Converts records into an Arrow table in the `records` layout without `id`; thread-safe
        (runs in the producer). Every backend takes Arrow: the writer slices these tables and the
        mining process fills in their `template_id` and `params` columns."""
        ...

    def combine(self, prepared: Sequence[pa.Table]) -> pa.Table:
        """Several prepared batches as one, in order (for one bigger insert)."""
        ...

    def append(self, batch: Any) -> None:
        """Adds a batch (records, or what `prepare` made of them) to the open transaction.

        Nothing is durable until `commit`.
        """
        ...

    def commit(self, checkpoints: Sequence[Checkpoint] = ()) -> None:
        """Makes everything appended since the last commit durable, with these checkpoints."""
        ...

    @property
    def uncommitted(self) -> int:
        """Records appended since the last commit."""
        ...

    def rows_to_next_commit(self) -> int:
        """How many more rows a bulk load should append before it commits (≥ 1)."""
        ...

    def checkpoint(self, path: str) -> Checkpoint | None:
        """The last checkpoint saved for a file path, if any."""
        ...

    def save_templates(self, changes: Sequence[TemplateChange]) -> None:
        """Adds new and generalised templates to the open transaction (counts come with `commit`)."""
        ...

    def templates(self) -> list[TemplateChange]:
        """Every stored template, to resume mining with the same ids."""
        ...

    def pattern_stats(self, where: str, params: Sequence[object], recent_share: float) -> list[PatternStats]:
        """Per-template figures over the records matching a compiled query."""
        ...

    def search(self, where: str, params: Sequence[object], limit: int | None) -> Iterator[StoredRecord]:
        """The newest `limit` (None: all) records matching a compiled query, returned oldest first."""
        ...

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Runs one read-only SQL statement; raises ReadOnlyError for anything that would write."""
        ...

    def close(self) -> None:
        """Flushes and releases the store."""
        ...
