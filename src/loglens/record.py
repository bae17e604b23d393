"""The one data model every stage shares: `Record`, its severity `Level`, and `Batch`.

Everything in loglens imports these from here; no stage invents its own record shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol


class Level(IntEnum):
    """Severity, ordered so that `>=` comparisons mean "at least as severe".

    The numbers are OpenTelemetry's severity numbers (the first of each range), so that
    a record shipped over OTLP keeps its order without a table.
    """

    TRACE = 1
    DEBUG = 5
    INFO = 9
    NOTICE = 10
    WARNING = 13
    ERROR = 17
    CRITICAL = 21
    FATAL = 24

    @property
    def label(self) -> str:
        """The lower-case name used in storage, output and the query language."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Level:
        """Inverse of `label` (exact enum names only; free-form names go through formats.level)."""
        return cls[label.upper()]


LEVEL_LABELS: tuple[str, ...] = tuple(level.label for level in Level)
LABEL_OF: dict[Level, str] = {level: level.label for level in Level}
"""Level → label as a plain dict: the store writer looks this up once per record."""


@dataclass(slots=True)
class Record:
    """One log event after parsing.

    `ts` and `observed_ts` are nanoseconds since the Unix epoch, UTC. `raw` is the event as read
    (all physical lines of a multi-line event joined with ``\\n``); `message` is the human part of it.
    `parse_error` is set, with `message == raw`, when the source's format did not recognise the event:
    the event is still stored, so nothing readable is lost.
    """

    ts: int
    observed_ts: int
    service: str
    source: str
    message: str
    raw: str
    level: Level = Level.INFO
    host: str | None = None
    pid: int | None = None
    fields: dict[str, Any] | None = None
    trace_id: str | None = None
    span_id: str | None = None
    template_id: str | None = None
    params: list[str] | None = None
    category: str | None = None
    parse_error: str | None = None
    id: int | None = None
    tenant: str = ""
    """Who the record belongs to ('' no tenant: see loglens.tenants); reads of a tenant see only its
    own records, and its templates are mined apart from every other tenant's."""


Batch = list[Record]
"""Records travel between stages in batches, never one call per line through every stage."""


def stamp_tenant(records: list[Record], tenant: str) -> list[Record]:
    """Gives `records` the tenant of the source they came from (parsers know formats, not tenants)."""
    if tenant:
        for record in records:
            record.tenant = tenant
    return records


class MessageRecord(Protocol):
    """What template-based views (dedupe, patterns) read of a record, stored or freshly parsed."""

    @property
    def ts(self) -> int: ...
    @property
    def service(self) -> str: ...
    @property
    def message(self) -> str: ...
