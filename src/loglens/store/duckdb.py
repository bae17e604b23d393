"""The embedded default store: one DuckDB file, written through Arrow batches by a single writer.

DuckDB takes an exclusive lock on a file opened read-write, so exactly one process (the CLI command
or, later, the daemon) owns a store at a time. `memory_limit` keeps a long ingest's memory bounded.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import orjson
import pyarrow as pa

from loglens.analysis.buckets import MIN_FIELD_VALUES, WATCHED_FIELD
from loglens.errors import ReadOnlyError, StoreError
from loglens.json_text import dumps_any
from loglens.mining.drain import TemplateChange
from loglens.record import LABEL_OF, Level, Record
from loglens.sources.file import Checkpoint
from loglens.store.base import (
    FIELD_SAMPLE_ROWS,
    WINDOW_ORIGIN_NS,
    Annotation,
    Document,
    PatternStats,
    RecordCounts,
    SeriesDialect,
    SeriesQuery,
    StoredRecord,
    check_document_kind,
    hit_column,
    series_statement,
    stale_offset,
    template_stats_sql,
    watched_values,
)
from loglens.store.retention import ArchivedDay, DaySize, RestoredFile, StoreSize, day_bounds
from loglens.store.rows import (
    annotation_row,
    checkpoint_row,
    document_row,
    stamped_document,
    template_row,
    to_annotation,
    to_checkpoint,
    to_document,
    to_hits,
    to_record_counts,
    to_stored_record,
    to_template_change,
)
from loglens.store.schema import CURRENT_VERSION, MIGRATIONS, RECORD_COLUMNS, SCHEMA_VERSION_KEY

DEFAULT_MEMORY_LIMIT = "32MB"
READER_MEMORY_LIMIT = "256MB"
"""A read-only open (logs, sql) writes nothing, so its sorts and scans get more room."""
ROW_GROUP_ROWS = 122_880
"""DuckDB's row group size: bulk commits end on a row-group boundary (see `rows_to_next_commit`)."""
WAL_CAP = "256MB"
"""Write-ahead log size past which DuckDB checkpoints on its own. The store checkpoints itself once per
row group filled (see `commit`); this cap only matters for rows so wide that a row group's worth of log
would pass it."""
DEFAULT_COMPRESSION = "zstd"
COMPRESSIONS = ("zstd", "auto")
_READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
_SEARCH_COLUMNS = (
    "id, epoch_ns(ts) AS ts, service, host, pid, level, message, raw, source, template_id, fields, "
    "parse_error, params, tenant"
)
_TEMPLATE_STATS = template_stats_sql("""(
        SELECT template_id, count(*) AS n, min(ts) AS first_seen, max(ts) AS last_seen,
               max(severity) AS severity, arg_max(level, severity) AS level
        FROM records WHERE id >= ? AND template_id IS NOT NULL GROUP BY template_id
    ) AS d""")
"""Adds the records appended since the last commit to their templates' counts, times and level."""
_FETCH_ROWS = 10_000
_SERIES_DIALECT = SeriesDialect(
    ts_ns="epoch_ns(ts)",
    step_points="unnest(range({first}, {stop}, k.s))",
    quantile="quantile_cont(v, ?)",
    finite="isfinite(v)",
    group_order="g NULLS FIRST",
)
_RECORD_LIST = ", ".join(RECORD_COLUMNS)
_LATER_COLUMNS = {"tenant": "''"}
"""Columns added after archives were first written, with the value an older archive's rows take."""
_IN_DAY = "ts >= make_timestamp_ns(?) AND ts < make_timestamp_ns(?)"
"""A UTC day of `records` as [start, end) in ns: the zone maps on `ts` skip the other row groups."""

_ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ts", pa.timestamp("ns")),
        ("observed_ts", pa.timestamp("ns")),
        ("service", pa.string()),
        ("host", pa.string()),
        ("source", pa.string()),
        ("pid", pa.int32()),
        ("level", pa.string()),
        ("severity", pa.uint8()),
        ("message", pa.string()),
        ("raw", pa.string()),
        ("fields", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("template_id", pa.string()),
        ("params", pa.list_(pa.string())),
        ("category", pa.string()),
        ("parse_error", pa.string()),
        ("tenant", pa.string()),
    ]
)
assert tuple(_ARROW_SCHEMA.names) == RECORD_COLUMNS
_PREPARED_SCHEMA = _ARROW_SCHEMA.remove(0)

PreparedBatch: TypeAlias = pa.Table
"""Records already converted by `DuckDBStore.prepare`: what `append` takes fastest."""


def _fields_column(batch: Sequence[Record]) -> pa.Array:
    """The `fields` column as JSON text, written into one buffer.

    Each record's JSON is appended to a bytearray and dropped at once rather than kept as a bytes
    object per row until the batch is done: keeping them cost twice as much (allocations that cannot
    reuse freed memory; measured on access-log batches, 1.26 → 0.60 µs a record). The buffer becomes
    an Arrow binary column cast (validated) to UTF-8 in C.
    """
    dumps = orjson.dumps
    data = bytearray()
    ends = [0]
    present: list[bool] = []
    for record in batch:
        fields = record.fields
        if fields:
            try:
                data += dumps(fields, default=str)
            except orjson.JSONEncodeError:  # nesting, integers or text orjson cannot write
                data += dumps_any(fields)
            present.append(True)
        else:
            present.append(False)
        ends.append(len(data))
    validity = pa.array(present, pa.bool_()).buffers()[1]  # a bool array's values are a bitmap
    # int32 offsets: a batch is one read chunk (512 KB of input), its JSON far below 2 GB.
    offsets = pa.array(ends, pa.int32()).buffers()[1]
    column = pa.Array.from_buffers(pa.binary(), len(batch), [validity, offsets, pa.py_buffer(data)])
    return column.cast(pa.string())


def _text_column(values: list[str | None]) -> pa.Array:
    """A string column; one repeated value (source, service, host of a batch) is built in C."""
    if values and values.count(first := values[0]) == len(values):
        if first is None:
            return pa.nulls(len(values), pa.string())
        return pa.repeat(pa.scalar(first, pa.string()), len(values))
    return pa.array(values, pa.string())


# Severity number → label, for Arrow's `take`: the label column is built in C from the numbers.
_LABEL_BY_SEVERITY = pa.array([LABEL_OF.get(i) for i in range(256)], pa.string())  # type: ignore[call-overload]


def records_to_arrow(batch: Sequence[Record]) -> pa.Table:
    """Columns of `batch` as an Arrow table in the `records` layout, without the `id` column.

    This is the expensive, GIL-holding part of a write: the pipeline calls it in the parsing thread
    (through `DuckDBStore.prepare`) so that the writer thread spends its time inside DuckDB, where
    the GIL is released.
    """
    severity = pa.array([r.level for r in batch], pa.uint8())
    observed = [r.observed_ts for r in batch]
    columns = [
        pa.array([r.ts for r in batch], pa.timestamp("ns")),
        pa.array(observed, pa.timestamp("ns")),
        _text_column([r.service for r in batch]),
        _text_column([r.host for r in batch]),
        _text_column([r.source for r in batch]),
        pa.array([r.pid for r in batch], pa.int32()),
        _LABEL_BY_SEVERITY.take(severity),
        severity,
        pa.array([r.message for r in batch], pa.string()),
        pa.array([r.raw for r in batch], pa.string()),
        _fields_column(batch),
        pa.array([r.trace_id for r in batch], pa.string()),
        pa.array([r.span_id for r in batch], pa.string()),
        pa.array([r.template_id for r in batch], pa.string()),
        pa.array([r.params for r in batch], pa.list_(pa.string())),
        pa.array([r.category for r in batch], pa.string()),
        pa.array([r.parse_error for r in batch], pa.string()),
        _text_column([r.tenant for r in batch]),
    ]
    return pa.Table.from_arrays(columns, schema=_PREPARED_SCHEMA)


def _first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a query, reading the result to its end.

    A result left half-read (`fetchone`) keeps its connection's transaction open, and while any
    transaction older than the writer's updates is open, DuckDB cannot checkpoint: live ingest,
    which commits every second and updates template counts each time, grew its write-ahead log
    without bound (1.8 GB after 4 minutes) until this was found.
    """
    rows = result.fetchall()
    return rows[0] if rows else None


def with_ids(table: pa.Table, first_id: int) -> pa.Table:
    """A prepared table with its `id` column, counting from `first_id`."""
    ids = pa.array(range(first_id, first_id + table.num_rows), pa.int64())
    return table.add_column(0, _ARROW_SCHEMA.field("id"), ids)


class DuckDBStore:
    """A loglens store in one DuckDB file (see docs/store.md for its tables).

    Args:
        path: the database file; its folder is created when missing.
        read_only: open without the write lock (fails while another process writes the file).
        memory_limit: DuckDB's own cap on buffers and caches, so that RSS stays bounded.
        compression: how new rows are compressed: "zstd" (default) or "auto" (DuckDB's own choice).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        compression: str = DEFAULT_COMPRESSION,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": READER_MEMORY_LIMIT
            if read_only and memory_limit == DEFAULT_MEMORY_LIMIT
            else memory_limit,
            "preserve_insertion_order": "false",
            "threads": "1",
            # A bulk insert otherwise buffers 5 row groups (~60 MB of log text each) before writing
            # them; freed memory goes back to the system sooner (defaults keep 128 and 512 MB around).
            "write_buffer_row_group_count": "1",
            "allocator_flush_threshold": "32MB",
            "allocator_bulk_deallocation_flush_threshold": "32MB",
        }
        if not read_only:
            config["checkpoint_threshold"] = WAL_CAP
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.exists():
                raise StoreError(
                    f"no loglens store at {self.path}: ingest something first (`loglens ingest PATH`)"
                )
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.path.parent}: {exc.strerror}") from None
        if read_only:
            self._check_version()
        else:
            self._migrate()
        self._next_id = self._max_id() + 1
        self._committed_rows = self.count() if not read_only else 0
        # DuckDB connections refuse concurrent calls: the writer thread gets its own, readers take cursors.
        self._writer = self._con.cursor()
        if not read_only and compression != "auto":
            # Measured on log rows (bench/store_compression.py): zstd writes 1.4x faster than DuckDB's
            # default string compression (dict+FSST) and makes a 30% smaller file; scans cost ~20% more.
            self._writer.execute(f"SET force_compression = '{compression}'")
        self._in_transaction = False
        self._uncommitted = 0
        self._template_ids: set[str] | None = None  # loaded on first save
        self._offsets: dict[str, int] = {}  # bus offsets as last read or written (advance_offset)

    # -- schema ----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        row = _first(con.execute("SELECT value FROM meta WHERE key = ?", [SCHEMA_VERSION_KEY]))
        version = int(row[0]) if row else 0
        if version > CURRENT_VERSION:
            raise StoreError(
                f"the store {self.path} has schema version {version}, newer than this loglens "
                f"understands ({CURRENT_VERSION}): upgrade loglens"
            )
        for number, statements in MIGRATIONS:
            if number <= version:
                continue
            con.execute("BEGIN TRANSACTION")
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [SCHEMA_VERSION_KEY, str(number)])
            con.execute("COMMIT")

    def _check_version(self) -> None:
        try:
            row = _first(self._con.execute("SELECT value FROM meta WHERE key = ?", [SCHEMA_VERSION_KEY]))
        except duckdb.CatalogException:
            raise StoreError(f"{self.path} is not a loglens store (no meta table)") from None
        if row is None or int(row[0]) != CURRENT_VERSION:
            found = row[0] if row else "none"
            raise StoreError(
                f"the store {self.path} has schema version {found}, this loglens expects {CURRENT_VERSION}: "
                "open it once with a writing command (`loglens ingest`) to migrate it"
            )

    @property
    def schema_version(self) -> int:
        """The migration number the store is at."""
        row = _first(self._con.execute("SELECT value FROM meta WHERE key = ?", [SCHEMA_VERSION_KEY]))
        return int(row[0]) if row else 0

    def _max_id(self) -> int:
        row = _first(self._con.execute("SELECT COALESCE(max(id), 0) FROM records"))
        return int(row[0]) if row else 0

    # -- writing ---------------------------------------------------------------------------------

    def write(self, batch: Sequence[Record], checkpoint: Checkpoint | None = None) -> None:
        """Appends `batch` and saves `checkpoint` in one transaction: both land, or neither."""
        self.append(batch)
        self.commit([checkpoint] if checkpoint is not None else [])

    def prepare(self, batch: Sequence[Record]) -> PreparedBatch:
        """Converts records for `append`; thread-safe, so producers can do it off the writer thread."""
        table: PreparedBatch = records_to_arrow(batch)
        return table

    def combine(self, prepared: Sequence[PreparedBatch]) -> PreparedBatch:
        """Several prepared batches as one (no copy), so that they go in with one insert."""
        table: PreparedBatch = prepared[0] if len(prepared) == 1 else pa.concat_tables(prepared)
        return table

    def append(self, batch: Sequence[Record] | PreparedBatch) -> None:
        """Adds `batch` to the open transaction (opening one if needed); durable only after `commit`.

        Bulk loads append many batches per commit: DuckDB then writes whole compressed row groups
        straight to the file instead of every row to the write-ahead log first, at half the cost.
        """
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        prepared = batch if isinstance(batch, pa.Table) else records_to_arrow(batch)
        n = prepared.num_rows
        if not n:
            return
        con = self._writer
        table = with_ids(prepared, self._next_id)
        if not self._in_transaction:
            con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
        try:
            # Not register()/unregister(): a view dropped inside a transaction lives on until the
            # commit and keeps every batch's Arrow buffers alive with it (~100 MB per row group).
            con.from_arrow(table).insert_into("records")
        except BaseException:
            self.rollback()
            raise
        self._next_id += n
        self._uncommitted += n

    @property
    def uncommitted(self) -> int:
        """Records appended since the last commit."""
        return self._uncommitted

    def rows_to_next_commit(self) -> int:
        """How many more rows a bulk load should append before committing.

        Commits that end exactly on a row-group boundary leave no half-filled row group behind:
        otherwise each commit's remainder is written to the log and merged again at the next
        checkpoint, which cost 9 s when closing a 2M-row load.
        """
        return ROW_GROUP_ROWS - (self._committed_rows + self._uncommitted) % ROW_GROUP_ROWS

    def commit(self, checkpoints: Sequence[Checkpoint] = ()) -> None:
        """Saves `checkpoints` with everything appended since the last commit, atomically."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        con = self._writer
        if not self._in_transaction:
            if not checkpoints:
                return
            con.execute("BEGIN TRANSACTION")
        try:
            if self._uncommitted:
                con.execute(_TEMPLATE_STATS, [self._next_id - self._uncommitted])
            committed_ns = time.time_ns()
            for checkpoint in checkpoints:
                con.execute(
                    'INSERT OR REPLACE INTO checkpoints (path, inode, "offset", fingerprint, '
                    "fingerprint_len, updated_at, skip_records) "
                    "VALUES (?, ?, ?, ?, ?, make_timestamp_ns(?), ?)",
                    checkpoint_row(checkpoint, committed_ns),
                )
            con.execute("COMMIT")
        except BaseException:
            self._in_transaction = True
            self.rollback()
            raise
        self._in_transaction = False
        groups_before = self._committed_rows // ROW_GROUP_ROWS
        self._committed_rows += self._uncommitted
        self._uncommitted = 0
        if self._committed_rows // ROW_GROUP_ROWS != groups_before:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Moves the write-ahead log into the file, once per row group filled.

        DuckDB's own trigger (every 16 MB of log) compresses the row group being filled again at each
        checkpoint: a 5,000-row-commit stream was checkpointed every ~40k rows, so each row group was
        compressed three times. Measured on 600k log rows: 36k rows/s and commits stalling up to 3 s,
        against 58k rows/s and a 27% smaller file when checkpointing on row-group boundaries.
        A reader's open transaction makes DuckDB refuse: the next boundary (or the log cap) will do.
        """
        with contextlib.suppress(duckdb.TransactionException):
            self._writer.execute("CHECKPOINT")

    def rollback(self) -> None:
        """Drops everything appended since the last commit."""
        if self._in_transaction:
            # A COMMIT that failed has ended the transaction already.
            with contextlib.suppress(duckdb.TransactionException):
                self._writer.execute("ROLLBACK")
            self._in_transaction = False
            self._next_id -= self._uncommitted
            self._uncommitted = 0
            self._template_ids = None  # templates saved in the dropped transaction are gone too
            self._offsets.clear()  # and the offsets moved in it: read again before moving them

    def applied_offset(self, stream: str) -> int:
        """The last bus sequence of `stream` committed (0: none); remembered for `advance_offset`."""
        row = self._writer.execute("SELECT seq FROM bus_offsets WHERE stream = ?", [stream]).fetchone()
        seq = int(row[0]) if row else 0
        self._offsets[stream] = seq
        return seq

    def advance_offset(self, stream: str, through_seq: int) -> None:
        """Moves `stream`'s offset to `through_seq` in the open transaction, if it is still where this
        store last saw it (one writer per DuckDB file: the check guards against a caller's mistake)."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        expected = self._offsets.get(stream)
        con = self._writer
        if not self._in_transaction:
            con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
        row = con.execute("SELECT seq FROM bus_offsets WHERE stream = ?", [stream]).fetchone()
        current = int(row[0]) if row else 0
        if expected is None or current != expected or through_seq <= current:
            self.rollback()
            raise stale_offset(stream, current, expected, through_seq)
        con.execute("INSERT OR REPLACE INTO bus_offsets (stream, seq) VALUES (?, ?)", [stream, through_seq])
        self._offsets[stream] = through_seq

    def save_templates(self, changes: Sequence[TemplateChange]) -> None:
        """Adds new templates and the new text of generalised ones to the open transaction.

        Counts, times and level are not taken from the miner: `commit` adds them up from the
        records it commits, so that they always agree with what is stored.
        """
        if not changes:
            return
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        con = self._writer
        if self._template_ids is None:
            self._template_ids = {row[0] for row in con.execute("SELECT id FROM templates").fetchall()}
        known = self._template_ids
        changes = list({c.id: c for c in changes}.values())  # the newest text of each template
        new = [template_row(c) for c in changes if c.id not in known]
        changed = [(c.text, c.id) for c in changes if c.id in known]
        if not self._in_transaction:
            con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
        try:
            if new:
                con.executemany(
                    "INSERT INTO templates (id, service, template, catch_all, tenant) VALUES (?, ?, ?, ?, ?)",
                    new,
                )
            if changed:
                con.executemany("UPDATE templates SET template = ? WHERE id = ?", changed)
        except BaseException:
            self.rollback()
            raise
        known.update(c.id for c in changes)

    def checkpoint(self, path: str) -> Checkpoint | None:
        """The last checkpoint saved for `path` (as resolved by discovery)."""
        row = _first(
            self._con.cursor().execute(
                'SELECT path, inode, "offset", fingerprint, fingerprint_len, skip_records, '
                "epoch_ns(updated_at) FROM checkpoints WHERE path = ?",
                [path],
            )
        )
        return None if row is None else to_checkpoint(row)

    # -- reading ---------------------------------------------------------------------------------

    def templates(self) -> list[TemplateChange]:
        """Every stored template (id, service, text, catch-all, tenant), to resume mining where it
        stopped."""
        rows = (
            self._con.cursor()
            .execute("SELECT id, service, template, catch_all, tenant FROM templates ORDER BY id")
            .fetchall()
        )
        return [to_template_change(row) for row in rows]

    def template_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """The text of each of these template ids that is stored."""
        wanted = list(ids)
        if not wanted:
            return {}
        rows = (
            self._con.cursor()
            .execute("SELECT id, template FROM templates WHERE list_contains(?, id)", [wanted])
            .fetchall()
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]:
        """(service, id) of every template whose first committed record is older than `ts_ns`."""
        rows = (
            self._con.cursor()
            .execute(
                "SELECT service, id FROM templates WHERE first_seen < make_timestamp_ns(?) ORDER BY ALL",
                [ts_ns],
            )
            .fetchall()
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def pattern_stats(self, where: str, params: Sequence[object], recent_share: float) -> list[PatternStats]:
        """Per template of the records matching `where`: count, first/last, most severe level, the
        oldest record's first line as a sample, and how many fall in the last `recent_share` of its
        service's time span among the matching records (one service's odd clock does not skew the
        others' trends). Grouped by the stored template ids: no mining at query time.
        """
        rows = (
            self._con.cursor()
            .execute(
                f"""
            WITH hits AS (
                SELECT template_id, epoch_ns(ts) AS ts, service, level, severity, raw
                FROM records WHERE ({where}) AND template_id IS NOT NULL
            ), span AS (SELECT service, min(ts) AS lo, max(ts) AS hi FROM hits GROUP BY service)
            SELECT h.template_id, any_value(t.template), h.service, count(*),
                   min(h.ts), max(h.ts), arg_max(h.level, h.severity),
                   split_part(arg_min(h.raw, h.ts), chr(10), 1),
                   count(*) FILTER (WHERE h.ts > span.hi - CAST((span.hi - span.lo) * ? AS BIGINT)),
                   any_value(span.lo), any_value(span.hi)
            FROM hits AS h JOIN span USING (service) LEFT JOIN templates AS t ON t.id = h.template_id
            GROUP BY h.template_id, h.service
            """,
                [*params, recent_share],
            )
            .fetchall()
        )
        return [PatternStats(*row) for row in rows]

    def counts(self, where: str, params: Sequence[object]) -> RecordCounts:
        """The records matching `where` counted per (template id, service), with each template's text
        and most severe level, and per (service, level); records without a template id count per
        level only."""
        con = self._con.cursor()
        templates = con.execute(
            f"""
            WITH hits AS (
                SELECT template_id, service, level, severity, message, ts
                FROM records WHERE ({where}) AND template_id IS NOT NULL
            )
            SELECT h.template_id, h.service,
                   COALESCE(any_value(t.template), split_part(arg_min(h.message, h.ts), chr(10), 1)),
                   arg_max(h.level, h.severity), count(*)
            FROM hits AS h LEFT JOIN templates AS t ON t.id = h.template_id
            GROUP BY h.template_id, h.service
            """,
            list(params),
        ).fetchall()
        levels = con.execute(
            f"SELECT level, max(severity), count(*), service FROM records WHERE ({where}) GROUP BY ALL",
            list(params),
        ).fetchall()
        return to_record_counts(templates, levels)

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The records matching `where` folded per service, minute, template and severity — what the
        detectors read (`analysis.buckets.buckets_from_rows`) — and the p95 per service, minute and
        watched numeric field (names in `watched_fields`; None: the field names in a sample of the
        records that `analysis.buckets.WATCHED_FIELD` matches). Minutes are UTC, nanoseconds.
        """
        con = self._con.cursor()
        templates = con.execute(
            f"""
            SELECT service, epoch_ns(time_bucket(INTERVAL 1 MINUTE, ts)) AS minute,
                   COALESCE(template_id, ''), severity, count(*), epoch_ns(min(ts)), arg_min(id, ts)
            FROM records WHERE ({where})
            GROUP BY ALL ORDER BY minute, service
            """,
            list(params),
        ).fetchall()
        if watched_fields is None:
            watched_fields = self._watched_field_names(con, where, params)
        fields: list[tuple[Any, ...]] = []
        for name, value, value_params in watched_values(watched_fields):
            fields.extend(
                con.execute(
                    f"""
                    SELECT service, epoch_ns(time_bucket(INTERVAL 1 MINUTE, ts)) AS minute, ?,
                           quantile_cont(v, 0.95), count(v)
                    FROM (SELECT service, ts, {value} AS v
                          FROM records WHERE ({where}) AND fields IS NOT NULL)
                    WHERE v IS NOT NULL AND isfinite(v)
                    GROUP BY ALL HAVING count(v) >= ?
                    """,
                    [name, *value_params, *params, MIN_FIELD_VALUES],
                ).fetchall()
            )
        return templates, fields

    @staticmethod
    def _watched_field_names(
        con: duckdb.DuckDBPyConnection, where: str, params: Sequence[object]
    ) -> list[str]:
        """The field names `WATCHED_FIELD` matches in a sample of each service's records (the live
        detectors watch every record's names; a sample of the whole table missed a service whose
        rows came after it — nginx's request_time, when api's lines filled the sample)."""
        services = [row[0] for row in con.execute(
            f"SELECT DISTINCT service FROM records WHERE ({where}) AND fields IS NOT NULL", list(params)
        ).fetchall()]  # fmt: skip
        names: set[str] = set()
        for service in services:
            keys = con.execute(
                f"""SELECT DISTINCT unnest(json_keys(fields)) FROM
                    (SELECT fields FROM records WHERE ({where}) AND fields IS NOT NULL AND service = ?
                     LIMIT {FIELD_SAMPLE_ROWS})""",
                [*params, service],
            ).fetchall()
            names.update(str(k[0]) for k in keys if WATCHED_FIELD.search(str(k[0])))
        return sorted(names)

    def last_errors(self, where: str, params: Sequence[object]) -> dict[str, tuple[int, str]]:
        """Per service, its newest record matching `where` at error level or worse, as (ts_ns, first
        line of the message)."""
        rows = (
            self._con.cursor()
            .execute(
                f"""SELECT service, epoch_ns(max(ts)), split_part(arg_max(message, ts), chr(10), 1)
                    FROM records WHERE ({where}) AND severity >= ? GROUP BY service""",
                [*params, int(Level.ERROR)],
            )
            .fetchall()
        )
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def count(self) -> int:
        """How many records the store holds."""
        row = _first(self._con.cursor().execute("SELECT count(*) FROM records"))
        return int(row[0]) if row else 0

    def search(
        self, where: str, params: Sequence[object], limit: int | None, oldest: bool = False
    ) -> Iterator[StoredRecord]:
        """Records matching `where` oldest first: the newest `limit` of them (the oldest, with
        `oldest`), or all when None.

        Rows are streamed in chunks, so `--lines all` or a large export over millions of records
        does not materialise them.
        """
        con = self._con.cursor()
        if limit is not None and oldest:
            result = con.execute(
                f"SELECT {_SEARCH_COLUMNS} FROM records WHERE {where} ORDER BY ts, id LIMIT ?",
                [*params, limit],
            )
        elif limit is not None:
            result = con.execute(
                f"SELECT * FROM (SELECT {_SEARCH_COLUMNS} FROM records WHERE {where} "
                "ORDER BY ts DESC, id DESC LIMIT ?) ORDER BY ts, id",
                [*params, limit],
            )
        else:
            result = con.execute(
                f"SELECT {_SEARCH_COLUMNS} FROM records WHERE {where} ORDER BY ts, id", list(params)
            )
        while True:
            chunk = result.fetchmany(_FETCH_ROWS)
            if not chunk:
                break
            yield from map(to_stored_record, chunk)

    def hits(
        self, where: str, params: Sequence[object], bucket_ns: int, by: str
    ) -> list[tuple[int, str, int]]:
        """Records matching `where` counted per time bucket (`bucket_ns` long, counted from
        WINDOW_ORIGIN_NS) and per `by` (level, service, template or category): (bucket start ns, key,
        count), in order. Records without a template (or category) count under the empty key."""
        by = hit_column(by)
        rows = (
            self._con.cursor()
            .execute(
                # The bucket's start is a floor, also before the origin (`//` rounds toward zero).
                f"SELECT epoch_ns(ts) - (((epoch_ns(ts) - ?) % ?) + ?) % ? AS bucket, {by}, count(*) "
                f"FROM records WHERE {where} GROUP BY ALL ORDER BY bucket, {by}",
                [WINDOW_ORIGIN_NS, bucket_ns, bucket_ns, bucket_ns, *params],
            )
            .fetchall()
        )
        return to_hits(rows)

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Runs one read-only statement (SELECT, EXPLAIN) and returns (column names, rows)."""
        try:
            statements = duckdb.extract_statements(statement)
        except duckdb.Error as exc:
            raise StoreError(f"SQL error: {exc}") from None
        if len(statements) != 1:
            raise ReadOnlyError(f"give exactly one SQL statement (got {len(statements)})")
        kind = statements[0].type
        if kind not in _READ_STATEMENTS:
            raise ReadOnlyError(
                f"`loglens sql` is read-only: {kind.name} statements are refused; "
                "use SELECT (see docs/store.md)"
            )
        try:
            cursor = self._con.cursor()
            result = cursor.execute(statement)
            columns = [d[0] for d in (result.description or [])]
            return columns, result.fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"SQL error: {exc}") from None

    def metric_series(self, query: SeriesQuery) -> list[tuple[int, str | None, float]]:
        """(window start in ns, group, value) per window and group, by `query`'s rules (`SeriesQuery`;
        how: `series_statement`)."""
        statement, params = series_statement(query, _SERIES_DIALECT)
        rows = self._con.cursor().execute(statement, params).fetchall()
        return [(int(start), group, value) for start, group, value in rows]

    # -- annotations -------------------------------------------------------------------------------

    def add_annotation(self, annotation: Annotation) -> int:
        """Stores a note or bookmark (on its own cursor, committed at once: it does not wait for the
        writer's batch, and touches no table the writer does)."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        row = _first(
            self._con.cursor().execute(
                "INSERT INTO annotations (created, author, kind, since, until, service, record_id, text) "
                "VALUES (make_timestamp_ns(?), ?, ?, make_timestamp_ns(?), make_timestamp_ns(?), ?, ?, ?) "
                "RETURNING id",
                annotation_row(annotation, time.time_ns()),
            )
        )
        assert row is not None
        return int(row[0])

    def annotations(self, since_ns: int | None, until_ns: int | None) -> list[Annotation]:
        """The annotations overlapping [since, until), oldest first."""
        rows = (
            self._con.cursor()
            .execute(
                "SELECT id, epoch_ns(created), author, kind, epoch_ns(since), epoch_ns(until), service, "
                "record_id, text FROM annotations "
                "WHERE (? IS NULL OR coalesce(until, since) >= make_timestamp_ns(?)) "
                "AND (? IS NULL OR since < make_timestamp_ns(?)) ORDER BY since, id",
                [since_ns, since_ns, until_ns, until_ns],
            )
            .fetchall()
        )
        return [to_annotation(row) for row in rows]

    def delete_annotation(self, annotation_id: int) -> bool:
        """Removes one annotation; False when there was none with this id."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        row = _first(
            self._con.cursor().execute("DELETE FROM annotations WHERE id = ? RETURNING id", [annotation_id])
        )
        return row is not None

    # -- documents: alerts, silences, rules, signatures, insights ------------------------------------

    def put_document(self, document: Document) -> Document:
        """Stores a document on its own cursor, committed at once (like annotations, it touches no
        table the writer does). An empty id takes the next number of the shared sequence."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        check_document_kind(document.kind)
        cursor = self._con.cursor()
        doc_id = document.id
        if not doc_id:
            row = _first(cursor.execute("SELECT nextval('document_ids')"))
            assert row is not None
            doc_id = str(row[0])
        stored = stamped_document(document, doc_id, time.time_ns())
        cursor.execute(
            "INSERT OR REPLACE INTO documents (kind, id, created, updated, state, body) "
            "VALUES (?, ?, make_timestamp_ns(?), make_timestamp_ns(?), ?, ?)",
            document_row(stored),
        )
        return stored

    def documents(
        self, kind: str, state: str | None = None, since_ns: int | None = None, limit: int | None = None
    ) -> list[Document]:
        """Documents of a kind, newest update first (ties: the higher id first)."""
        rows = (
            self._con.cursor()
            .execute(
                "SELECT kind, id, body, state, epoch_ns(created), epoch_ns(updated) FROM documents "
                "WHERE kind = ? AND (? IS NULL OR state = ?) "
                "AND (? IS NULL OR updated >= make_timestamp_ns(?)) "
                "ORDER BY updated DESC, TRY_CAST(id AS BIGINT) DESC NULLS LAST, id DESC LIMIT ?",
                [kind, state, state, since_ns, since_ns, limit if limit is not None else 2**62],
            )
            .fetchall()
        )
        return [to_document(row) for row in rows]

    def document(self, kind: str, document_id: str) -> Document | None:
        """One document, or None."""
        row = _first(
            self._con.cursor().execute(
                "SELECT kind, id, body, state, epoch_ns(created), epoch_ns(updated) FROM documents "
                "WHERE kind = ? AND id = ?",
                [kind, document_id],
            )
        )
        return None if row is None else to_document(row)

    def delete_document(self, kind: str, document_id: str) -> bool:
        """Removes one document; False when there was none."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        row = _first(
            self._con.cursor().execute(
                "DELETE FROM documents WHERE kind = ? AND id = ? RETURNING id", [kind, document_id]
            )
        )
        return row is not None

    # -- retention: sizes, whole days archived and deleted, archives restored -----------------------
    # On cursors of their own, beside the writer's: they delete rows the writer never touches and leave
    # `templates` alone, so they never conflict with its transaction (store/retention.py says more).

    def storage_size(self) -> StoreSize:
        """How big the store is: the file, the blocks in use and free (reused before the file grows),
        and the write-ahead log."""
        row = _first(
            self._con.cursor().execute(
                "SELECT block_size, used_blocks, free_blocks FROM pragma_database_size() "
                "WHERE database_name = current_database()"
            )
        )
        block, used, free = (int(v) for v in row) if row else (0, 0, 0)
        wal = self.path.with_name(self.path.name + ".wal")
        return StoreSize(_file_size(self.path), used * block, free * block, _file_size(wal))

    def day_sizes(self) -> list[DaySize]:
        """The records of each UTC day, oldest first, with their id range and an estimate of their
        bytes: the store's data bytes per row its row groups hold, times the day's records.

        Rows its row groups hold, not rows stored: a deleted row keeps its place until a checkpoint
        rewrites its row group, so dividing by the rows left would make each day look bigger after
        every delete, and a size cap would take day after day for blocks that were never freed.
        """
        cursor = self._con.cursor()
        rows = cursor.execute(
            "SELECT CAST(ts AS DATE) AS day, count(*), min(id), max(id) FROM records "
            "GROUP BY day ORDER BY day"
        ).fetchall()
        held = _first(
            cursor.execute(
                "SELECT estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'records'"
            )
        )
        stored = sum(int(r[1]) for r in rows)
        slots = max(int(held[0]) if held else 0, stored)
        data = self.storage_size().data_bytes if rows else 0
        return [DaySize(r[0], int(r[1]), int(r[2]), int(r[3]), data * int(r[1]) // slots) for r in rows]

    def archive_day(self, day: date, path: Path) -> ArchivedDay:
        """Writes the records of a UTC day to the Parquet file `path` (zstd), with what an earlier run
        left in it, and returns once the file is complete, checked and on disk.

        The file is written as `path` + `.tmp` (a leftover from a crash is overwritten), read back —
        as many rows as were written, no id twice — synced, and only then renamed over `path`, so
        `path` is always a whole archive. When the store holds nothing of the day that `path` lacks,
        `path` is left as it is.
        """
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        start, end = day_bounds(day)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write archives in {path.parent}: {exc.strerror}") from None
        previous = path.exists()
        fresh = f"SELECT {_RECORD_LIST} FROM records WHERE {_IN_DAY}"
        fresh_params: list[object] = [start, end]
        if previous:
            fresh += " AND id NOT IN (SELECT id FROM read_parquet(?))"
            fresh_params.append(str(path))
        cursor = self._con.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")  # the counts and the copy see the same records
            counted = _first(cursor.execute(f"SELECT count(*) FROM ({fresh})", fresh_params))
            added = int(counted[0]) if counted else 0
            kept = 0
            if previous:
                counted = _first(cursor.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]))
                kept = int(counted[0]) if counted else 0
            if not added:
                cursor.execute("ROLLBACK")
                return ArchivedDay(day, path, kept, 0)
            source, params = fresh, fresh_params
            if previous:
                source = f"SELECT {_RECORD_LIST} FROM read_parquet(?) UNION ALL {fresh}"
                params = [str(path), *fresh_params]
            cursor.execute(
                f"COPY ({source}) TO ? (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE_BYTES '8MB')",
                [*params, str(tmp)],
            )
            cursor.execute("COMMIT")
            written = _first(
                cursor.execute("SELECT count(*), count(DISTINCT id) FROM read_parquet(?)", [str(tmp)])
            )
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise StoreError(f"cannot archive {day} to {path}: {exc}") from None
        finally:
            cursor.close()
        rows, ids = (int(written[0]), int(written[1])) if written else (0, 0)
        if rows != kept + added or ids != rows:
            raise StoreError(
                f"the archive of {day} read back {rows:,} rows with {ids:,} ids, not the {kept + added:,} "
                f"written: nothing was deleted, and {tmp} is left for inspection"
            )
        try:
            _sync_and_rename(tmp, path)
        except OSError as exc:
            raise StoreError(f"cannot put the archive of {day} in place at {path}: {exc.strerror}") from None
        return ArchivedDay(day, path, rows, added)

    def delete_day(self, day: date, archived: Path | None) -> int:
        """Deletes the records of a UTC day, in one transaction, and returns how many went. With
        `archived`, only those whose id is in that archive: a record of the day stored after the
        archive was written stays for the next pass."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        start, end = day_bounds(day)
        statement = f"DELETE FROM records WHERE {_IN_DAY}"
        params: list[object] = [start, end]
        if archived is not None:
            statement += " AND id IN (SELECT id FROM read_parquet(?))"
            params.append(str(archived))
        try:
            row = _first(self._con.cursor().execute(statement, params))
        except duckdb.Error as exc:
            raise StoreError(f"cannot delete the records of {day}: {exc}") from None
        return int(row[0]) if row else 0

    def reclaim_space(self) -> bool:
        """Checkpoints: the blocks of deleted rows go back to DuckDB, which fills them before growing the
        file (the file only shrinks when they are at its end). Never forced — that would abort the
        writer's transaction —, so False when DuckDB declined; a later checkpoint does it."""
        if self.read_only:
            return False
        try:
            self._con.cursor().execute("CHECKPOINT")
        except duckdb.TransactionException:
            return False
        return True

    def restore(self, path: Path) -> RestoredFile:
        """Puts the records of an archive back, with their ids; those whose id is stored already are
        skipped, so a second restore, or a day partly still stored, doubles nothing. `templates` is
        left as it is: its counts include every record ever committed, archived ones too."""
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")
        name = str(path)
        cursor = self._con.cursor()
        try:
            columns = cursor.execute("DESCRIBE SELECT * FROM read_parquet(?)", [name]).fetchall()
            held = {str(row[0]) for row in columns}
            missing = [c for c in RECORD_COLUMNS if c not in held and c not in _LATER_COLUMNS]
            if missing:
                raise StoreError(
                    f"{path} is not an archive of loglens records (it has no {', '.join(missing)}): "
                    "restore takes the records-YYYY-MM-DD.parquet files retention writes"
                )
            cursor.execute("BEGIN TRANSACTION")
            found = _first(cursor.execute(
                "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM read_parquet(?)", [name]
            ))  # fmt: skip
            rows, ids, low, high = found if found and found[0] else (0, 0, 0, 0)
            if rows != ids:
                raise StoreError(
                    f"{path} gives {rows - ids:,} record ids twice: it is not an archive retention wrote"
                )
            picked = ", ".join(
                f"a.{column}" if column in held else f"{_LATER_COLUMNS[column]} AS {column}"
                for column in RECORD_COLUMNS
            )
            # Only the stored ids in the archive's range are compared: ids grow with time, so that is
            # the few row groups of its days, not the whole table.
            done = _first(cursor.execute(
                f"INSERT INTO records ({_RECORD_LIST}) SELECT {picked} FROM read_parquet(?) AS a "
                "ANTI JOIN (SELECT id FROM records WHERE id BETWEEN ? AND ?) AS r ON a.id = r.id",
                [name, low, high],
            )) if rows else None  # fmt: skip
            cursor.execute("COMMIT")
        except (duckdb.Error, StoreError) as exc:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot restore {path}: {exc}") from None
        finally:
            cursor.close()
        self._next_id = max(self._next_id, int(high) + 1)  # restored into a store that had fewer ids
        inserted = int(done[0]) if done else 0
        return RestoredFile(path, rows, inserted)

    def close(self) -> None:
        """Closes the connection (DuckDB folds its WAL into the file); uncommitted appends are dropped."""
        self.rollback()
        self._writer.close()
        self._con.close()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _sync_and_rename(tmp: Path, path: Path) -> None:
    """Makes `tmp` durable, then puts it at `path` and makes the rename durable: records are deleted
    once this returns, so their archive must survive a power cut."""
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def open_store(
    path: str | Path, *, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> DuckDBStore:
    """Opens (creating and migrating when writable) the store at `path`."""
    return DuckDBStore(path, read_only=read_only, memory_limit=memory_limit)
