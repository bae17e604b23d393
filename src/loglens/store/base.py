"""The `Store` protocol every backend implements, so commands never depend on one engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from loglens.errors import QueryError, StaleOffsetError, StoreError
from loglens.mining.drain import TemplateChange
from loglens.query.language import number_expr
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
    tenant: str = ""


WINDOW_ORIGIN_NS = 946_857_600 * 10**9
"""Monday 2000-01-03 00:00 UTC, where metric windows are counted from (DuckDB's `time_bucket` origin):
minutes start on the minute, days at 00:00 UTC and weeks on a Monday."""

SERIES_AGGREGATES = ("count", "sum", "avg", "min", "max", "quantile", "unique")
"""What `Store.metric_series` can compute per window (see `SeriesQuery.aggregate`)."""
NUMERIC_SERIES = frozenset({"sum", "avg", "min", "max", "quantile"})
"""The aggregates of a DOUBLE value: records whose value is not a finite number are skipped."""
_SERIES_SQL = {
    "count": "count(*)",
    "sum": "sum(v)",
    "avg": "avg(v)",
    "min": "min(v)",
    "max": "max(v)",
    "unique": "count(DISTINCT v)",
}
"""`SeriesQuery.aggregate` → its SQL over the value `v`, alike in every engine (`SeriesDialect.quantile`
is not)."""
HIT_KEYS = {"level": "level", "service": "service", "template": "template_id", "category": "category"}
"""What `Store.hits` counts by, and the column each names."""
FIELD_SAMPLE_ROWS = 2_000
"""Records per service whose field names are read to find the watched fields of a replay."""


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """One metric's time series as SQL pieces with their `?` parameters (see `Store.metric_series`).

    Windows are `window_ns` long and counted from `WINDOW_ORIGIN_NS`. Tumbling (`step_ns` None): a
    window holds [start, start + window). Sliding: at every multiple t of `step_ns` a window holds
    (t - window, t], its start is t - window, and the last t is the first at or after the newest
    record. Records whose `value` is NULL (for numeric aggregates: not a finite number) are skipped;
    windows holding no record have no row.

    Attributes:
        where, params: the records to count (a compiled query).
        aggregate: one of `SERIES_AGGREGATES`; `quantile` interpolates linearly (quantile_cont)
            at `quantile` (0..1); `unique` counts distinct values of `value`.
        value, value_params: the SQL value aggregated (a DOUBLE for sum/avg/min/max/quantile).
        group, group_params: SQL of the group a record belongs to (NULL: one series).
    """

    where: str
    params: tuple[object, ...]
    aggregate: str
    window_ns: int
    step_ns: int | None = None
    value: str = "1"
    value_params: tuple[object, ...] = ()
    group: str = "NULL"
    group_params: tuple[object, ...] = ()
    quantile: float | None = None


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


@dataclass(frozen=True, slots=True)
class TemplateCount:
    """How many of a query's records one template has (see `Store.counts`). `template` is the stored
    template text, or the oldest matching message when the `templates` table lacks the id; `level` is
    the most severe level among those records."""

    template_id: str
    service: str
    template: str
    level: str
    count: int


@dataclass(frozen=True, slots=True)
class LevelCount:
    """How many of a query's records of one service carry one level; `severity` orders the levels."""

    level: str
    severity: int
    count: int
    service: str = ""


@dataclass(frozen=True, slots=True)
class RecordCounts:
    """A query's records counted by template and by service and level, as `loglens diff` compares
    two of them and `loglens summary` reports them.

    `total` is every matching record; records without a template id count in `levels` only.
    """

    total: int
    templates: tuple[TemplateCount, ...]
    levels: tuple[LevelCount, ...]


@dataclass(frozen=True, slots=True)
class Annotation:
    """A note or bookmark people leave on a time range or a record, shown to everyone using this
    loglens (the dashboard's timeline and bookmarks). Times are ns; `until` None is an instant."""

    since: int
    text: str
    kind: str = "note"
    until: int | None = None
    service: str | None = None
    record_id: int | None = None
    author: str | None = None
    created: int = 0
    id: int = 0


ANNOTATION_KINDS = ("note", "bookmark")


@dataclass(frozen=True, slots=True)
class Document:
    """Something loglens keeps beside the logs: an alert, one step of its history, a silence, a rule
    made through the API, a learned failure signature, an LLM insight (`kind` says which; the
    fields of each `body` are in docs/store.md). Times are ns; `state` is what lists filter on."""

    kind: str
    id: str
    body: dict[str, Any]
    state: str | None = None
    created: int = 0
    updated: int = 0


DOCUMENT_KINDS = ("alert", "alert_event", "silence", "alert_rule", "signature", "insight")


# -- pieces both backends build their statements and checks from -----------------------------------
# Where the two engines do the same thing, it is written once here, so that they cannot drift apart
# (tests/store/test_postgres.py compares their answers); what differs by dialect stays in each.


@dataclass(frozen=True, slots=True)
class SeriesDialect:
    """How one engine writes the parts of the `metric_series` statement that differ by dialect (see
    `series_statement`).

    Attributes:
        ts_ns: a record's `ts` as ns since the epoch.
        step_points: a set-returning expression of the points from `{first}` up to, not including,
            `{stop}`, every `k.s`.
        quantile: the percentile of `v` at `?` (0..1), interpolating linearly between values.
        finite: the condition that the DOUBLE `v` is a finite number.
        group_order: `g` ordered by its bytes, NULL first.
    """

    ts_ns: str
    step_points: str
    quantile: str
    finite: str
    group_order: str


def series_statement(query: SeriesQuery, dialect: SeriesDialect) -> tuple[str, list[object]]:
    """The statement computing `Store.metric_series`, with its `?` parameters: (window start in ns,
    group, value) rows per window and group, by `query`'s rules (see `SeriesQuery`).

    A sliding window is computed by placing each record in every step point whose window holds it
    (window / step of them) and aggregating per point: exact for every aggregate, percentiles and
    distinct counts included, which running sums over a frame could not give. Raises StoreError for
    an aggregate not in SERIES_AGGREGATES.
    """
    aggregate = dialect.quantile if query.aggregate == "quantile" else _SERIES_SQL.get(query.aggregate)
    if aggregate is None:
        raise StoreError(f"unknown series aggregate {query.aggregate!r}")
    # A field holding "NaN" or "inf" casts to a non-finite DOUBLE that would poison every window.
    finite = f" AND {dialect.finite}" if query.aggregate in NUMERIC_SERIES else ""
    # Times are ns relative to the origin; `((x % n) + n) % n` is a floor modulo (`%` keeps the sign
    # of x), so records before the origin fall in the right window too.
    if query.step_ns is None:
        placed = "SELECT t - ((t % k.w) + k.w) % k.w AS start, g, v FROM hits, k"
    else:
        points = dialect.step_points.format(first="t + ((-t % k.s) + k.s) % k.s", stop="t + k.w")
        placed = f"""
                SELECT p - k.w AS start, g, v FROM (
                    SELECT {points} AS p, g, v
                    FROM hits, k
                ) AS points, k, (SELECT max(t) AS hi FROM hits) AS newest
                WHERE p <= newest.hi + ((-newest.hi % k.s) + k.s) % k.s"""
    statement = f"""
            WITH k AS (SELECT CAST(? AS BIGINT) AS w, CAST(? AS BIGINT) AS s),
            hits AS (
                SELECT * FROM (
                    SELECT {dialect.ts_ns} - CAST(? AS BIGINT) AS t, {query.group} AS g, {query.value} AS v
                    FROM records WHERE ({query.where})
                ) AS q WHERE v IS NOT NULL{finite}
            ),
            placed AS ({placed})
            SELECT start + CAST(? AS BIGINT), g, {aggregate} FROM placed
            GROUP BY start, g ORDER BY start, {dialect.group_order}
        """
    params: list[object] = [
        query.window_ns,
        query.step_ns or query.window_ns,
        WINDOW_ORIGIN_NS,
        *query.group_params,
        *query.value_params,
        *query.params,
        WINDOW_ORIGIN_NS,
    ]
    if query.aggregate == "quantile":
        params.append(query.quantile)
    return statement, params


def hit_column(by: str) -> str:
    """The column `Store.hits` counts by for `by`; QueryError when `by` is not in HIT_KEYS."""
    if by not in HIT_KEYS:
        raise QueryError(f"hits are counted by {', '.join(HIT_KEYS)}, not {by!r}")
    return HIT_KEYS[by]


def watched_values(names: Iterable[str]) -> Iterator[tuple[str, str, list[object]]]:
    """(name, SQL of its value as a DOUBLE, that SQL's parameters) for each watched field name; a
    name no query could write is not watched, so it is skipped."""
    for name in names:
        params: list[object] = []
        try:
            value = number_expr(name, params)
        except QueryError:
            continue
        yield name, value, params


def template_stats_sql(figures: str) -> str:
    """The UPDATE adding a commit's records to their templates' count, first and last seen and most
    severe level. `figures` is a FROM item named `d` with the columns template_id, n (records),
    first_seen, last_seen, severity (the highest) and level (its label)."""
    return f"""
    UPDATE templates AS t SET
        count = t.count + d.n,
        first_seen = least(t.first_seen, d.first_seen),
        last_seen = greatest(t.last_seen, d.last_seen),
        level = CASE WHEN t.level IS NULL OR d.severity > t.severity THEN d.level ELSE t.level END,
        severity = greatest(t.severity, d.severity)
    FROM {figures}
    WHERE t.id = d.template_id
"""


def check_document_kind(kind: str) -> None:
    """Raises StoreError unless `kind` is one of DOCUMENT_KINDS (before anything is written)."""
    if kind not in DOCUMENT_KINDS:
        raise StoreError(f"unknown document kind {kind!r}")


def stale_offset(stream: str, current: int, expected: int | None, through_seq: int) -> StaleOffsetError:
    """What `Store.advance_offset` raises when `stream`'s offset is not where this writer last saw it."""
    return StaleOffsetError(
        f"bus offset of {stream} is {current}, this writer expected {expected} (moving to {through_seq})"
    )


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

    def counts(self, where: str, params: Sequence[object]) -> RecordCounts:
        """The records matching a compiled query counted per template and per service and level."""
        ...

    def template_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """The text of each of these template ids that is stored."""
        ...

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]:
        """(service, id) of every template whose first committed record is older than `ts_ns`."""
        ...

    def last_errors(self, where: str, params: Sequence[object]) -> dict[str, tuple[int, str]]:
        """Per service, its newest record matching a compiled query at error level or worse, as
        (ts_ns, first line of the message)."""
        ...

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The records matching a compiled query folded per service, minute, template and severity,
        and the per-minute p95 of watched numeric fields: what the detectors read."""
        ...

    def search(
        self, where: str, params: Sequence[object], limit: int | None, oldest: bool = False
    ) -> Iterator[StoredRecord]:
        """The newest `limit` (None: all; `oldest`: the oldest `limit`) records matching a compiled
        query, returned oldest first."""
        ...

    def add_annotation(self, annotation: Annotation) -> int:
        """Stores a note or bookmark on a time range (or a record); its new id."""
        ...

    def annotations(self, since_ns: int | None, until_ns: int | None) -> list[Annotation]:
        """The annotations overlapping [since, until), oldest first."""
        ...

    def delete_annotation(self, annotation_id: int) -> bool:
        """Removes one annotation; False when there was none with this id."""
        ...

    def put_document(self, document: Document) -> Document:
        """Stores a document, replacing the one of the same kind and id (an empty id takes the next
        number); returns it as stored, with its id and times."""
        ...

    def documents(
        self, kind: str, state: str | None = None, since_ns: int | None = None, limit: int | None = None
    ) -> list[Document]:
        """Documents of a kind, newest update first: only those in `state`, updated at or after
        `since_ns`, at most `limit`."""
        ...

    def document(self, kind: str, document_id: str) -> Document | None:
        """One document, or None."""
        ...

    def delete_document(self, kind: str, document_id: str) -> bool:
        """Removes one document; False when there was none."""
        ...

    def hits(
        self, where: str, params: Sequence[object], bucket_ns: int, by: str
    ) -> list[tuple[int, str, int]]:
        """Matching records per time bucket and per level or service: (bucket start, key, count)."""
        ...

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Runs one read-only SQL statement; raises ReadOnlyError for anything that would write."""
        ...

    def metric_series(self, query: SeriesQuery) -> list[tuple[int, str | None, float]]:
        """(window start in ns, group, value) for each window and group holding a record, in order."""
        ...

    def rollback(self) -> None:
        """Drops everything appended since the last commit."""
        ...

    def count(self) -> int:
        """Records stored (committed)."""
        ...

    def applied_offset(self, stream: str) -> int:
        """How far a bus stream's messages (a partition of it) are stored: the last stream sequence
        committed with `advance_offset`, 0 when none (scale-out: see bus/processor.py)."""
        ...

    def advance_offset(self, stream: str, through_seq: int) -> None:
        """Records, in the open transaction, that `stream`'s messages up to `through_seq` are stored.

        A compare-and-set against the offset this store last read or wrote for `stream`: the commit
        raises StaleOffsetError (and is rolled back) when another writer moved it meanwhile, so two
        nodes holding one partition can never both store the same messages.
        """
        ...

    def close(self) -> None:
        """Flushes and releases the store."""
        ...
