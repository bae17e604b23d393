"""A loglens store in a shared PostgreSQL, for scale-out: ingest, process and query nodes — many
processes — write and read one database at once, behind the same `Store` protocol as DuckDB.

Writes are buffered as COPY text until `commit`, which sends them in one short transaction under an
advisory lock: ids come from the sequence inside that lock, so they increase in commit order across
every writer, and nothing of a transaction is visible (or durable) before its COMMIT. Reads translate
the DuckDB SQL the callers write at this boundary (postgres_sql.py); docs/store.md says what differs.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson
import psycopg
import psycopg.errors
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql as pg_sql
from psycopg.conninfo import conninfo_to_dict

from loglens.analysis.buckets import MIN_FIELD_VALUES, WATCHED_FIELD
from loglens.errors import QueryError, ReadOnlyError, StaleOffsetError, StoreError
from loglens.json_text import dumps_any
from loglens.mining.drain import TemplateChange
from loglens.record import Level, Record
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
from loglens.store.duckdb import records_to_arrow
from loglens.store.postgres_schema import (
    CURRENT_VERSION,
    DAY_NS,
    MIGRATIONS,
    PARTITION_PREFIX,
    SCHEMA_VERSION_KEY,
    partition_name,
)
from loglens.store.postgres_sql import to_postgres, translate
from loglens.store.rows import (
    Row,
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

__all__ = ["COMMIT_ROWS", "PostgresStore", "copy_text"]

COMMIT_ROWS = 50_000
"""Rows a bulk load appends per commit: each commit holds the writers' lock while its rows go in."""
SQL_TIMEOUT_MS = 60_000
"""How long one `loglens sql` statement may run on the shared database."""
READERS = 4
"""Reading connections kept open between calls (more are opened while more callers read at once)."""

# Advisory lock keys (per database): 'loglens' in ASCII, then what each lock guards.
_MIGRATE_LOCK = 0x6C6F676C656E_0001
_PARTITION_LOCK = 0x6C6F676C656E_0002
_COMMIT_LOCK = 0x6C6F676C656E_0003

_COPY_COLUMNS = (
    "ts", "observed_ts", "service", "host", "source", "pid", "level", "severity", "message", "raw",
    "fields", "trace_id", "span_id", "template_id", "params", "category", "parse_error", "tenant",
)  # fmt: skip
"""What `append` buffers for COPY, in this order; `id` is the column's default, taken at commit."""
_COPY_SQL = f"COPY records ({', '.join(_COPY_COLUMNS)}) FROM STDIN (FORMAT csv)"
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
_SEARCH_COLUMNS = (
    "id, ts, service, host, pid, level, message, raw, source, template_id, fields::text, "
    "parse_error, params, tenant"
)
_FETCH_ROWS = 10_000
_MINUTE_NS = 60 * 10**9
_MINUTE = f"ts - ((ts % {_MINUTE_NS}) + {_MINUTE_NS}) % {_MINUTE_NS}"
"""The UTC minute a record's `ts` falls in (a floor, also before 1970)."""
_MOST_SEVERE_LEVEL = "substr(max(lpad(severity::text, 3, '0') || level), 4)"
"""DuckDB's arg_max(level, severity): the label of the most severe level (a label per severity)."""
_FINITE = "v > '-Infinity'::float8 AND v < 'Infinity'::float8"
"""DuckDB's isfinite(v): PostgreSQL orders NaN above Infinity, so both bounds exclude it."""
_SERIES_DIALECT = SeriesDialect(
    ts_ns="ts",
    step_points="generate_series({first}, {stop} - 1, k.s)",
    quantile="percentile_cont(?) WITHIN GROUP (ORDER BY v)",  # interpolates as DuckDB's quantile_cont
    finite=_FINITE,
    group_order='g COLLATE "C" NULLS FIRST',  # DuckDB orders text by its bytes
)
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_LABELS = {int(level): level.label for level in Level}
_READ_KEYWORDS = frozenset({"select", "with", "values", "table", "explain", "show"})
_TEMPLATE_UPSERT = (
    "INSERT INTO templates (id, service, template, catch_all, tenant) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET template = EXCLUDED.template"
)
_TEMPLATE_STATS = template_stats_sql(
    "unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::smallint[], %s::text[])\n"
    "        AS d(template_id, n, first_seen, last_seen, severity, level)"
)
"""Adds a commit's records to their templates' counts, times and level (figures added up by `append`)."""

Connection = psycopg.Connection[Row]


def copy_text(table: pa.Table) -> bytes:
    """A prepared table (`records_to_arrow`'s layout) as CSV rows for `COPY records (_COPY_COLUMNS)`.

    Built by Arrow in C, column by column: the writer's lock is then held only while PostgreSQL reads
    the rows. Text PostgreSQL cannot hold is made storable as loglens does when reading files: a NUL
    character becomes the text `\\x00` (in `fields` too, where JSONB refuses `\\u0000`).
    """
    n = table.num_rows
    names = table.column_names
    columns: list[pa.ChunkedArray] = []
    for name in _COPY_COLUMNS:
        if name == "tenant" and name not in names:
            columns.append(pa.chunked_array([pa.repeat(pa.scalar("", pa.string()), n)]))
            continue
        column = table.column(name)
        if name in ("ts", "observed_ts"):
            column = column.cast(pa.int64())
        elif name == "fields":
            column = pa.chunked_array([_storable_json(column)])
        elif name == "params":
            column = pa.chunked_array([_array_literals(column)])
        elif pa.types.is_string(column.type):
            column = pc.replace_substring(column, "\x00", "\\x00")
        columns.append(column)
    out = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_arrays(columns, names=list(_COPY_COLUMNS)), out, _CSV_OPTIONS)
    return out.getvalue()


def _storable_json(column: pa.ChunkedArray) -> pa.Array:
    """The `fields` JSON with NUL characters as the text `\\x00`; only the rare rows holding one are
    parsed and written again."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    holding = pc.fill_null(pc.match_substring(values, "\\u0000"), False)
    if not pc.any(holding).as_py():
        return values
    texts: list[str | None] = values.to_pylist()
    for i in pc.indices_nonzero(holding).to_pylist():
        text = texts[i]
        if text is not None:
            texts[i] = dumps_any(_without_nul(orjson.loads(text))).decode()
    return pa.array(texts, pa.string())


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _array_literals(column: pa.ChunkedArray) -> pa.Array:
    """A list<string> column as PostgreSQL array literals (`{"a","b"}`), NULL lists kept NULL."""
    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not isinstance(lists, pa.ListArray):
        lists = lists.cast(pa.list_(pa.string()))
    values = lists.values
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    escaped = pc.replace_substring(escaped, "\x00", "\\\\x00")
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    quoted = pc.if_else(pc.is_null(values), pa.scalar("NULL", pa.string()), quoted)
    rebuilt = pa.ListArray.from_arrays(lists.offsets, quoted, mask=lists.is_null())
    return pc.binary_join_element_wise("{", pc.binary_join(rebuilt, ","), "}", "")


def _days(table: pa.Table) -> set[int]:
    """The UTC day numbers the records of a prepared table fall on."""
    ts = table.column("ts").cast(pa.int64())
    low = pc.min(ts).as_py()
    if low is None:
        return set()
    if low >= 0:
        return {int(d) for d in pc.unique(pc.divide(ts, DAY_NS)).to_pylist()}
    return {int(t) // DAY_NS for t in ts.to_pylist()}


def _template_figures(table: pa.Table) -> dict[str, tuple[int, int, int, int]]:
    """Per template id of a prepared table: (records, first ts, last ts, highest severity)."""
    named = table.select(["template_id", "ts", "severity"]).filter(pc.is_valid(table.column("template_id")))
    if not named.num_rows:
        return {}
    named = named.set_column(1, "ts", named.column("ts").cast(pa.int64()))
    grouped = named.group_by("template_id").aggregate(
        [("ts", "count"), ("ts", "min"), ("ts", "max"), ("severity", "max")]
    )
    return {
        str(row["template_id"]): (
            int(row["ts_count"]), int(row["ts_min"]), int(row["ts_max"]), int(row["severity_max"])
        )
        for row in grouped.to_pylist()
    }  # fmt: skip


def _merge_figures(
    into: dict[str, tuple[int, int, int, int]], figures: dict[str, tuple[int, int, int, int]]
) -> None:
    for template_id, (n, first, last, severity) in figures.items():
        had = into.get(template_id)
        if had is None:
            into[template_id] = (n, first, last, severity)
        else:
            into[template_id] = (had[0] + n, min(had[1], first), max(had[2], last), max(had[3], severity))


def _oldest(where: str, column: str, only_unknown: bool = False) -> str:
    """Per template of the `figures` CTE, the first line of `column` of its oldest record matching
    `where` (DuckDB's arg_min(column, ts); of records stamped alike, the first stored), found by
    (service, ts) on the index; `only_unknown`: for templates the `templates` table lacks."""
    unknown = (
        "WHERE NOT EXISTS (SELECT 1 FROM templates AS t WHERE t.id = f.template_id)" if only_unknown else ""
    )
    return f"""
        SELECT DISTINCT ON (f.template_id, f.service) f.template_id, f.service,
               split_part(o.{column}, chr(10), 1) AS sample
        FROM figures AS f CROSS JOIN LATERAL (
            SELECT id, {column} FROM records
            WHERE ({where}) AND template_id = f.template_id AND service = f.service AND ts = f.first_ts
        ) AS o
        {unknown}
        ORDER BY f.template_id, f.service, o.id"""


def _plain(value: Any) -> Any:
    """A value of a `loglens sql` row as DuckDB gives it: NUMERIC (sums, averages of integers) as an
    int or float, so that JSON output can write it."""
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    return value


def _statement_problem(statement: str) -> str | None:
    """Why `loglens sql` refuses `statement` (not exactly one read-only statement), or None."""
    statements = [part for part in _top_level_parts(statement) if _first_word(part) or _has_text(part)]
    if len(statements) != 1:
        return f"give exactly one SQL statement (got {len(statements)})"
    word = _first_word(statements[0])
    if word not in _READ_KEYWORDS:
        return (
            f"`loglens sql` is read-only: {word.upper() or 'that'} statements are refused; "
            "use SELECT (see docs/store.md)"
        )
    return None


def _has_text(part: str) -> bool:
    return bool(_strip_comments(part).strip())


def _strip_comments(text: str) -> str:
    """`text` without its leading comments and opening parentheses."""
    text = text.lstrip()
    while text.startswith(("--", "/*", "(")):
        if text.startswith("--"):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        elif text.startswith("/*"):
            text = text.split("*/", 1)[1] if "*/" in text else ""
        else:
            text = text[1:]
        text = text.lstrip()
    return text


def _first_word(statement: str) -> str:
    """The statement's first keyword, lowercased ('' when it starts with something else)."""
    word = re.match(r"[A-Za-z_]+", _strip_comments(statement))
    return word.group().lower() if word else ""


def _top_level_parts(statement: str) -> list[str]:
    """`statement` cut at each `;` outside quotes, comments and dollar-quoted bodies."""
    parts: list[str] = []
    start = i = 0
    n = len(statement)
    while i < n:
        c = statement[i]
        if c in "'\"":
            end = statement.find(c, i + 1)
            while end != -1 and statement.startswith(c * 2, end):
                end = statement.find(c, end + 2)
            i = n if end == -1 else end + 1
        elif statement.startswith("--", i):
            end = statement.find("\n", i)
            i = n if end == -1 else end + 1
        elif statement.startswith("/*", i):
            end = statement.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif (tag := _DOLLAR_TAG.match(statement, i)) is not None:
            end = statement.find(tag.group(), tag.end())
            i = n if end == -1 else end + len(tag.group())
        else:
            if c == ";":
                parts.append(statement[start:i])
                start = i + 1
            i += 1
    parts.append(statement[start:])
    return parts


def _where_place(url: str) -> str:
    """The database a URL names, without its password: what error messages show."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL URL given"
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{host}{port}/{parts.get('dbname') or ''}"


class _Readers:
    """Autocommit connections for the reading methods (and the small writes that commit at once), one
    per caller at a time: psycopg serialises a connection's use, and the daemon's API threads query in
    parallel. Never waits for a free one (a caller holding a streamed search while asking something
    else would wait forever); `idle` of them are kept open between calls."""

    def __init__(self, connect: Callable[..., Connection], idle: int) -> None:
        self._connect = connect
        self._idle: list[Connection] = []
        self._keep = idle
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect(autocommit=True)
        try:
            yield conn
        finally:
            with self._lock:
                keep = len(self._idle) < self._keep and not (conn.closed or conn.broken)
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class PostgresStore:
    """A loglens store in a PostgreSQL database shared by many processes (docs/store.md, PostgreSQL).

    Args:
        url: a libpq URL, `postgresql://user@host:5432/dbname`; the tables live in the schema the
            connection's search_path puts first (the database must exist; its tables are made).
        read_only: every connection opens read-only transactions, and writing methods are refused.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._place = _where_place(url)
        options = "-c default_transaction_read_only=on" if read_only else "-c synchronous_commit=on"
        self._options = options
        self._readers = _Readers(self._connect, READERS)
        self._writer_conn: Connection | None = None
        self._pending: list[bytes] = []  # COPY text of the records appended since the last commit
        self._figures: dict[str, tuple[int, int, int, int]] = {}  # per template, of those records
        self._templates: dict[str, TemplateChange] = {}  # saved since the last commit
        self._advances: dict[str, int] = {}  # bus offsets moved since the last commit
        self._offsets: dict[str, int] = {}  # bus offsets as last read or committed by this store
        self._days: set[int] = set()  # day partitions known to exist
        self._pending_days: set[int] = set()  # the days of the records appended since the last commit
        self._uncommitted = 0
        if read_only:
            self._check_version()
        else:
            self._migrate()

    # -- connections and schema --------------------------------------------------------------------

    def _connect(self, *, autocommit: bool) -> Connection:
        try:
            conn: Connection = psycopg.connect(
                self.url,
                autocommit=autocommit,
                prepare_threshold=None,  # no server-side statements: plans see each query's values
                options=self._options,
                application_name="loglens",
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store {self._place}: {exc}") from None
        return conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A reader connection, with PostgreSQL's errors said as loglens says them."""
        with self._readers.connection() as conn:
            try:
                yield conn
            except psycopg.errors.InvalidRegularExpression as exc:
                raise QueryError(
                    f"invalid regex for the PostgreSQL store: {exc.diag.message_primary}"
                ) from None
            except psycopg.errors.ReadOnlySqlTransaction:
                raise ReadOnlyError("this store was opened read-only") from None
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL store {self._place}: {exc}") from None

    def _writer(self) -> Connection:
        conn = self._writer_conn
        if conn is None or conn.closed or conn.broken:
            conn = self._writer_conn = self._connect(autocommit=True)
        return conn

    def _migrate(self) -> None:
        """Brings the schema forward, one migration per transaction under a lock: processes starting
        together wait for the first, then find nothing left to do."""
        with self._reading() as conn:
            for number, statements in MIGRATIONS:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATE_LOCK])
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                    )
                    version = self._version(conn)
                    if version > CURRENT_VERSION:
                        raise StoreError(
                            f"the store {self._place} has schema version {version}, newer than this "
                            f"loglens understands ({CURRENT_VERSION}): upgrade loglens"
                        )
                    if number <= version:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (%s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        [SCHEMA_VERSION_KEY, str(number)],
                    )

    @staticmethod
    def _version(conn: Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = %s", [SCHEMA_VERSION_KEY]).fetchone()
        return int(row[0]) if row else 0

    def _check_version(self) -> None:
        try:
            with self._readers.connection() as conn:
                version = self._version(conn)
        except psycopg.errors.UndefinedTable:
            raise StoreError(
                f"{self._place} is not a loglens store (no meta table): ingest something into it first"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store {self._place}: {exc}") from None
        if version != CURRENT_VERSION:
            raise StoreError(
                f"the store {self._place} has schema version {version}, this loglens expects "
                f"{CURRENT_VERSION}: open it once with a writing command to migrate it"
            )

    @property
    def schema_version(self) -> int:
        """The migration number the store is at."""
        with self._reading() as conn:
            return self._version(conn)

    def _ensure_partitions(self, days: set[int]) -> None:
        """Creates the day partitions of `records` these days need, before anything is inserted.

        Race-safe between processes: under a transaction-level advisory lock, a partition is made only
        when missing. Made as a table of its own then ATTACHed: attaching locks `records` only against
        other schema changes (CREATE TABLE … PARTITION OF would lock out every reader and writer of
        `records` until it committed); the parent's indexes are built on the empty partition as it is
        attached.
        """
        missing = days - self._days
        if not missing:
            return
        with self._reading() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_PARTITION_LOCK])
            existing = {
                str(row[0])
                for row in conn.execute(
                    "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'records'::regclass"
                ).fetchall()
            }
            for day in sorted(missing):
                name = partition_name(day)
                if name in existing:
                    continue
                table = pg_sql.Identifier(name)
                conn.execute(
                    pg_sql.SQL(
                        "CREATE TABLE {} (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                    ).format(table)
                )
                conn.execute(
                    pg_sql.SQL("ALTER TABLE records ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                        table, pg_sql.Literal(day * DAY_NS), pg_sql.Literal((day + 1) * DAY_NS)
                    )
                )
        self._days |= missing

    def partitions(self) -> list[str]:
        """The day partitions of `records`, oldest first (records_YYYYMMDD)."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'records'::regclass AND c.relname LIKE %s ORDER BY 1",
                [PARTITION_PREFIX + "%"],
            ).fetchall()
        return [str(row[0]) for row in rows]

    # -- writing -----------------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError("this store was opened read-only")

    def write(self, batch: Sequence[Record], checkpoint: Checkpoint | None = None) -> None:
        """Appends `batch` and saves `checkpoint` in one transaction: both land, or neither."""
        self.append(batch)
        self.commit([checkpoint] if checkpoint is not None else [])

    def prepare(self, batch: Sequence[Record]) -> pa.Table:
        """Converts records for `append` (DuckDB's Arrow layout, so the pipeline treats both alike)."""
        table: pa.Table = records_to_arrow(batch)
        return table

    def combine(self, prepared: Sequence[pa.Table]) -> pa.Table:
        """Several prepared batches as one (no copy)."""
        table: pa.Table = prepared[0] if len(prepared) == 1 else pa.concat_tables(prepared)
        return table

    def append(self, batch: Sequence[Record] | pa.Table) -> None:
        """Adds `batch` to the open transaction; durable, and visible, only after `commit`.

        The rows are turned into COPY text now, and the day partitions they need are made now; they
        are sent at `commit`, where their ids are taken (so a bad row is reported there).
        """
        self._writable()
        prepared = batch if isinstance(batch, pa.Table) else records_to_arrow(batch)
        if not prepared.num_rows:
            return
        try:
            days = _days(prepared)
            self._ensure_partitions(days)
            text = copy_text(prepared)
            figures = _template_figures(prepared)
        except BaseException:
            self.rollback()
            raise
        self._pending.append(text)
        self._pending_days |= days
        _merge_figures(self._figures, figures)
        self._uncommitted += prepared.num_rows

    @property
    def uncommitted(self) -> int:
        """Records appended since the last commit."""
        return self._uncommitted

    def rows_to_next_commit(self) -> int:
        """How many more rows a bulk load should append before committing."""
        return max(1, COMMIT_ROWS - self._uncommitted)

    def save_templates(self, changes: Sequence[TemplateChange]) -> None:
        """Adds new templates and the new text of generalised ones to the open transaction (written at
        `commit`, inside the writers' lock: two writers never wait on each other's template rows)."""
        if not changes:
            return
        self._writable()
        for change in changes:
            self._templates[change.id] = change

    def commit(self, checkpoints: Sequence[Checkpoint] = ()) -> None:
        """Stores, in one transaction, the records appended since the last commit (their ids taken
        now, in order), the templates saved, their counts, the bus offsets advanced and `checkpoints`.

        Raises StaleOffsetError, having stored nothing, when a bus offset moved under this store.
        """
        self._writable()
        if not (self._pending or self._templates or self._advances or checkpoints):
            return
        try:
            try:
                self._commit_once(checkpoints)
            except psycopg.errors.CheckViolation as exc:
                if "no partition" not in str(exc):
                    raise
                # A day partition this store made was dropped since (expiring old days is dropping
                # them): make it again and commit once more.
                self._days.clear()
                self._ensure_partitions(self._pending_days)
                self._commit_once(checkpoints)
        except StaleOffsetError:
            self.rollback()
            raise
        except psycopg.Error as exc:
            self.rollback()
            raise StoreError(f"cannot commit to the PostgreSQL store {self._place}: {exc}") from None
        except BaseException:
            self.rollback()
            raise
        self._offsets.update(self._advances)
        self._clear()

    def _commit_once(self, checkpoints: Sequence[Checkpoint]) -> None:
        """`commit`'s transaction (rolled back by PostgreSQL when anything in it fails)."""
        conn = self._writer()
        with conn.transaction(), conn.cursor() as cursor:
            # One committer at a time: ids from the sequence follow commit order across processes.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_COMMIT_LOCK])
            self._write_offsets(cursor)
            if self._templates:
                cursor.executemany(
                    _TEMPLATE_UPSERT,
                    [template_row(c) for c in self._templates.values()],
                )
            if self._pending:
                with cursor.copy(_COPY_SQL) as copy:
                    for text in self._pending:
                        copy.write(text)
            if self._figures:
                ids = list(self._figures)
                figures = [self._figures[i] for i in ids]
                cursor.execute(
                    _TEMPLATE_STATS,
                    [
                        ids,
                        [f[0] for f in figures],
                        [f[1] for f in figures],
                        [f[2] for f in figures],
                        [f[3] for f in figures],
                        [_LABELS.get(f[3]) for f in figures],
                    ],
                )
            committed_ns = time.time_ns()
            if checkpoints:
                cursor.executemany(
                    'INSERT INTO checkpoints (path, inode, "offset", fingerprint, fingerprint_len, '
                    "updated_at, skip_records) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (path) DO UPDATE SET inode = EXCLUDED.inode, "
                    '"offset" = EXCLUDED."offset", fingerprint = EXCLUDED.fingerprint, '
                    "fingerprint_len = EXCLUDED.fingerprint_len, updated_at = EXCLUDED.updated_at, "
                    "skip_records = EXCLUDED.skip_records",
                    [checkpoint_row(c, committed_ns) for c in checkpoints],
                )

    def _write_offsets(self, cursor: psycopg.Cursor[Row]) -> None:
        """The compare-and-set of every bus offset advanced in this transaction (see advance_offset)."""
        now = time.time_ns()
        for stream, through in self._advances.items():
            expected = self._offsets.get(stream, 0)
            cursor.execute(
                "UPDATE bus_offsets SET seq = %s, updated = %s WHERE stream = %s AND seq = %s",
                [through, now, stream, expected],
            )
            if cursor.rowcount != 1 and expected == 0:
                cursor.execute(
                    "INSERT INTO bus_offsets (stream, seq, updated) VALUES (%s, %s, %s) "
                    "ON CONFLICT (stream) DO NOTHING",
                    [stream, through, now],
                )
            if cursor.rowcount != 1:
                row = cursor.execute("SELECT seq FROM bus_offsets WHERE stream = %s", [stream]).fetchone()
                raise StaleOffsetError(
                    f"bus offset of {stream} is {row[0] if row else 0}, this writer expected {expected} "
                    f"(moving to {through}): another node took the stream over; nothing was committed"
                )

    def _clear(self) -> None:
        self._pending.clear()
        self._pending_days.clear()
        self._figures.clear()
        self._templates.clear()
        self._advances.clear()
        self._uncommitted = 0

    def rollback(self) -> None:
        """Drops everything appended since the last commit (nothing of it reached the database)."""
        self._clear()
        self._offsets.clear()  # read them again before moving them

    def applied_offset(self, stream: str) -> int:
        """The last bus sequence of `stream` committed (0: none); remembered for `advance_offset`."""
        with self._reading() as conn:
            row = conn.execute("SELECT seq FROM bus_offsets WHERE stream = %s", [stream]).fetchone()
        seq = int(row[0]) if row else 0
        if stream not in self._advances:
            self._offsets[stream] = seq
        return seq

    def advance_offset(self, stream: str, through_seq: int) -> None:
        """Moves `stream`'s offset to `through_seq` with the open transaction.

        Checked twice: now, against the stored offset (raising StaleOffsetError, and dropping the
        transaction, when it moved since this store read it or is at `through_seq` already), and at
        `commit`, as a compare-and-set inside the writers' lock — two nodes that both passed the first
        check cannot both commit.
        """
        self._writable()
        expected = self._offsets.get(stream)
        pending = self._advances.get(stream, expected)
        with self._reading() as conn:
            row = conn.execute("SELECT seq FROM bus_offsets WHERE stream = %s", [stream]).fetchone()
        current = int(row[0]) if row else 0
        if expected is None or pending is None or current != expected or through_seq <= max(current, pending):
            self.rollback()
            raise stale_offset(stream, current, expected, through_seq)
        self._advances[stream] = through_seq

    def checkpoint(self, path: str) -> Checkpoint | None:
        """The last checkpoint saved for `path` (as resolved by discovery)."""
        with self._reading() as conn:
            row = conn.execute(
                'SELECT path, inode, "offset", fingerprint, fingerprint_len, skip_records, updated_at '
                "FROM checkpoints WHERE path = %s",
                [path],
            ).fetchone()
        return None if row is None else to_checkpoint(row)

    # -- reading -----------------------------------------------------------------------------------

    def _rows(self, statement: str, params: Sequence[object]) -> list[Row]:
        """Runs a DuckDB-dialect statement with `?` parameters, translated, and returns its rows."""
        text, values = to_postgres(statement, params)
        with self._reading() as conn:
            return conn.execute(text, values).fetchall()

    def count(self) -> int:
        """How many records the store holds."""
        with self._reading() as conn:
            row = conn.execute("SELECT count(*) FROM records").fetchone()
        return int(row[0]) if row else 0

    def templates(self) -> list[TemplateChange]:
        """Every stored template (id, service, text, catch-all, tenant), to resume mining."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, service, template, catch_all, tenant FROM templates ORDER BY id"
            ).fetchall()
        return [to_template_change(row) for row in rows]

    def template_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """The text of each of these template ids that is stored."""
        wanted = list(ids)
        if not wanted:
            return {}
        with self._reading() as conn:
            rows = conn.execute("SELECT id, template FROM templates WHERE id = ANY(%s)", [wanted]).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]:
        """(service, id) of every template whose first committed record is older than `ts_ns`."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT service, id FROM templates WHERE first_seen < %s ORDER BY service, id", [ts_ns]
            ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def pattern_stats(self, where: str, params: Sequence[object], recent_share: float) -> list[PatternStats]:
        """Per template of the records matching `where`, as DuckDBStore.pattern_stats: count, first and
        last, most severe level, the oldest record's first line (of records stamped alike, the first
        stored), and how many fall in the last `recent_share` of its service's span.

        Aggregated straight from `records` (no CTE holding every matching row); the oldest record of
        each template is then looked up by (service, ts) on the index.
        """
        rows = self._rows(
            f"""
            WITH figures AS (
                SELECT template_id, service, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
                       {_MOST_SEVERE_LEVEL} AS level
                FROM records WHERE ({where}) AND template_id IS NOT NULL GROUP BY template_id, service
            ), span AS (
                SELECT service, min(first_ts) AS lo, max(last_ts) AS hi FROM figures GROUP BY service
            ), recent AS (
                SELECT h.template_id, h.service, count(*) AS n
                FROM (SELECT template_id, service, ts FROM records
                      WHERE ({where}) AND template_id IS NOT NULL) AS h
                JOIN span AS s ON s.service = h.service
                WHERE h.ts > s.hi - CAST((s.hi - s.lo) * CAST(? AS float8) AS BIGINT)
                GROUP BY h.template_id, h.service
            ), oldest AS (
                {_oldest(where, "raw")}
            )
            SELECT f.template_id, t.template, f.service, f.n, f.first_ts, f.last_ts, f.level, o.sample,
                   COALESCE(r.n, 0), s.lo, s.hi
            FROM figures AS f
            JOIN span AS s ON s.service = f.service
            JOIN oldest AS o ON o.template_id = f.template_id AND o.service = f.service
            LEFT JOIN recent AS r ON r.template_id = f.template_id AND r.service = f.service
            LEFT JOIN templates AS t ON t.id = f.template_id
            """,
            [*params, *params, recent_share, *params],
        )
        return [PatternStats(*row) for row in rows]

    def counts(self, where: str, params: Sequence[object]) -> RecordCounts:
        """The records matching `where` counted per (template id, service), with each template's text
        (the oldest message's first line when the id is not stored) and most severe level, and per
        (service, level)."""
        templates = self._rows(
            f"""
            WITH figures AS (
                SELECT template_id, service, {_MOST_SEVERE_LEVEL} AS level, count(*) AS n,
                       min(ts) AS first_ts
                FROM records WHERE ({where}) AND template_id IS NOT NULL GROUP BY template_id, service
            ), oldest AS (
                {_oldest(where, "message", only_unknown=True)}
            )
            SELECT f.template_id, f.service, COALESCE(t.template, o.sample), f.level, f.n
            FROM figures AS f LEFT JOIN templates AS t ON t.id = f.template_id
            LEFT JOIN oldest AS o ON o.template_id = f.template_id AND o.service = f.service
            """,
            [*params, *params],
        )
        levels = self._rows(
            f"SELECT level, max(severity), count(*), service FROM records WHERE ({where}) "
            "GROUP BY level, service",
            params,
        )
        return to_record_counts(templates, levels)

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The records matching `where` folded per service, minute, template and severity, and the p95
        per service, minute and watched numeric field, as DuckDBStore.minute_stats."""
        templates = self._rows(
            f"""
            SELECT service, {_MINUTE} AS minute, COALESCE(template_id, '') AS template, severity,
                   count(*), min(ts), (min(ARRAY[ts, id]))[2]
            FROM records WHERE ({where})
            GROUP BY service, minute, template, severity ORDER BY minute, service
            """,
            params,
        )
        if watched_fields is None:
            watched_fields = self._watched_field_names(where, params)
        fields: list[tuple[Any, ...]] = []
        for name, value, value_params in watched_values(watched_fields):
            fields.extend(
                self._rows(
                    f"""
                    SELECT service, minute, CAST(? AS text), percentile_cont(0.95) WITHIN GROUP (ORDER BY v),
                           count(v)
                    FROM (SELECT service, {_MINUTE} AS minute, {value} AS v
                          FROM records WHERE ({where}) AND fields IS NOT NULL) AS f
                    WHERE v IS NOT NULL AND {_FINITE}
                    GROUP BY service, minute HAVING count(v) >= ?
                    """,
                    [name, *value_params, *params, MIN_FIELD_VALUES],
                )
            )
        return templates, fields

    def _watched_field_names(self, where: str, params: Sequence[object]) -> list[str]:
        """The field names `WATCHED_FIELD` matches in a sample of each service's records."""
        services = [row[0] for row in self._rows(
            f"SELECT DISTINCT service FROM records WHERE ({where}) AND fields IS NOT NULL", params
        )]  # fmt: skip
        names: set[str] = set()
        for service in services:
            keys = self._rows(
                f"""SELECT DISTINCT jsonb_object_keys(fields) FROM
                    (SELECT fields FROM records WHERE ({where}) AND fields IS NOT NULL
                     AND jsonb_typeof(fields) = 'object' AND service = ? LIMIT {FIELD_SAMPLE_ROWS}) AS s""",
                [*params, service],
            )
            names.update(str(k[0]) for k in keys if WATCHED_FIELD.search(str(k[0])))
        return sorted(names)

    def last_errors(self, where: str, params: Sequence[object]) -> dict[str, tuple[int, str]]:
        """Per service, its newest record matching `where` at error level or worse, as (ts_ns, first
        line of the message); of records stamped alike, the first stored (as DuckDB's arg_max keeps)."""
        rows = self._rows(
            f"""SELECT DISTINCT ON (service) service, ts, split_part(message, chr(10), 1)
                FROM records WHERE ({where}) AND severity >= ? ORDER BY service, ts DESC, id""",
            [*params, int(Level.ERROR)],
        )
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def search(
        self, where: str, params: Sequence[object], limit: int | None, oldest: bool = False
    ) -> Iterator[StoredRecord]:
        """Records matching `where` oldest first: the newest `limit` of them (the oldest, with
        `oldest`), or all when None — streamed from a server-side cursor, in chunks."""
        if limit is not None:
            order = "ts, id" if oldest else "ts DESC, id DESC"
            rows = self._rows(
                f"SELECT {_SEARCH_COLUMNS} FROM records WHERE {where} ORDER BY {order} LIMIT ?",
                [*params, limit],
            )
            yield from map(to_stored_record, rows if oldest else reversed(rows))
            return
        text, values = to_postgres(
            f"SELECT {_SEARCH_COLUMNS} FROM records WHERE {where} ORDER BY ts, id", params
        )
        with self._reading() as conn, conn.transaction(), conn.cursor(name="loglens_search") as cursor:
            cursor.itersize = _FETCH_ROWS
            cursor.execute(text, values)
            while chunk := cursor.fetchmany(_FETCH_ROWS):
                yield from map(to_stored_record, chunk)

    def hits(
        self, where: str, params: Sequence[object], bucket_ns: int, by: str
    ) -> list[tuple[int, str, int]]:
        """Records matching `where` counted per time bucket (`bucket_ns` long, counted from
        WINDOW_ORIGIN_NS) and per `by` (level, service, template or category), in order."""
        column = hit_column(by)
        rows = self._rows(
            f"SELECT ts - (((ts - CAST(? AS BIGINT)) % CAST(? AS BIGINT)) + CAST(? AS BIGINT)) "
            f"% CAST(? AS BIGINT) AS bucket, {column}, count(*) FROM records "
            f"WHERE {where} GROUP BY bucket, {column} ORDER BY bucket, {column}",
            [WINDOW_ORIGIN_NS, bucket_ns, bucket_ns, bucket_ns, *params],
        )
        return to_hits(rows)

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Runs one read-only statement and returns (column names, rows).

        Refused with ReadOnlyError before it runs unless it is one SELECT (WITH, VALUES, TABLE,
        EXPLAIN, SHOW); then run in a READ ONLY transaction that is rolled back, with a statement
        timeout, so that nothing it calls can write or outlast it.
        """
        problem = _statement_problem(statement)
        if problem is not None:
            raise ReadOnlyError(problem)
        text = translate(statement, False).sql
        try:
            with self._readers.connection() as conn:
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute("SET TRANSACTION READ ONLY")
                        conn.execute(pg_sql.SQL("SET LOCAL statement_timeout = {}").format(SQL_TIMEOUT_MS))
                        # stream() sends it by the extended protocol, which runs one statement only
                        # (the simple protocol would run a second one smuggled past the check above).
                        cursor = conn.cursor()
                        rows = [tuple(_plain(v) for v in row) for row in cursor.stream(text)]
                        columns = [d.name for d in (cursor.description or [])]
                finally:
                    if not conn.broken:
                        conn.execute("SELECT pg_advisory_unlock_all()")  # locks a statement took
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise ReadOnlyError(f"`loglens sql` is read-only: {exc.diag.message_primary}") from None
        except psycopg.errors.SyntaxError as exc:
            if "multiple commands" in str(exc):
                raise ReadOnlyError("give exactly one SQL statement") from None
            raise StoreError(f"SQL error: {exc}") from None
        except psycopg.errors.QueryCanceled:
            raise StoreError(f"the statement ran past {SQL_TIMEOUT_MS // 1000} s and was stopped") from None
        except psycopg.Error as exc:
            raise StoreError(f"SQL error: {exc}") from None
        return columns, rows

    def metric_series(self, query: SeriesQuery) -> list[tuple[int, str | None, float]]:
        """(window start in ns, group, value) per window and group, by `query`'s rules (SeriesQuery),
        computed as DuckDBStore.metric_series does (each record placed in every window holding it)."""
        statement, params = series_statement(query, _SERIES_DIALECT)
        rows = self._rows(statement, params)
        return [(int(start), group, value) for start, group, value in rows]

    # -- annotations -------------------------------------------------------------------------------

    def add_annotation(self, annotation: Annotation) -> int:
        """Stores a note or bookmark, committed at once; its new id."""
        self._writable()
        with self._reading() as conn:
            row = conn.execute(
                "INSERT INTO annotations (created, author, kind, since, until, service, record_id, text) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                annotation_row(annotation, time.time_ns()),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def annotations(self, since_ns: int | None, until_ns: int | None) -> list[Annotation]:
        """The annotations overlapping [since, until), oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, created, author, kind, since, until, service, record_id, text FROM annotations "
                "WHERE (%s::bigint IS NULL OR coalesce(until, since) >= %s) "
                "AND (%s::bigint IS NULL OR since < %s) ORDER BY since, id",
                [since_ns, since_ns, until_ns, until_ns],
            ).fetchall()
        return [to_annotation(row) for row in rows]

    def delete_annotation(self, annotation_id: int) -> bool:
        """Removes one annotation; False when there was none with this id."""
        self._writable()
        with self._reading() as conn:
            row = conn.execute(
                "DELETE FROM annotations WHERE id = %s RETURNING id", [annotation_id]
            ).fetchone()
        return row is not None

    # -- documents -----------------------------------------------------------------------------------

    def put_document(self, document: Document) -> Document:
        """Stores a document, committed at once, replacing the one of the same kind and id; an empty id
        takes the next number of the shared sequence."""
        self._writable()
        check_document_kind(document.kind)
        now = time.time_ns()
        with self._reading() as conn:
            doc_id = document.id
            if not doc_id:
                row = conn.execute("SELECT nextval('document_ids')").fetchone()
                assert row is not None
                doc_id = str(row[0])
            stored = stamped_document(document, doc_id, now)
            conn.execute(
                "INSERT INTO documents (kind, id, created, updated, state, body) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (kind, id) DO UPDATE SET "
                "created = EXCLUDED.created, updated = EXCLUDED.updated, state = EXCLUDED.state, "
                "body = EXCLUDED.body",
                document_row(stored),
            )
        return stored

    def documents(
        self, kind: str, state: str | None = None, since_ns: int | None = None, limit: int | None = None
    ) -> list[Document]:
        """Documents of a kind, newest update first (ties: the higher numeric id, then id, first)."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT kind, id, body::text, state, created, updated FROM documents "
                "WHERE kind = %s AND (%s::text IS NULL OR state = %s) "
                "AND (%s::bigint IS NULL OR updated >= %s) "
                "ORDER BY updated DESC, try_bigint(id) DESC NULLS LAST, id DESC LIMIT %s",
                [kind, state, state, since_ns, since_ns, limit if limit is not None else 2**62],
            ).fetchall()
        return [to_document(row) for row in rows]

    def document(self, kind: str, document_id: str) -> Document | None:
        """One document, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT kind, id, body::text, state, created, updated FROM documents "
                "WHERE kind = %s AND id = %s",
                [kind, document_id],
            ).fetchone()
        return None if row is None else to_document(row)

    def delete_document(self, kind: str, document_id: str) -> bool:
        """Removes one document; False when there was none."""
        self._writable()
        with self._reading() as conn:
            row = conn.execute(
                "DELETE FROM documents WHERE kind = %s AND id = %s RETURNING id", [kind, document_id]
            ).fetchone()
        return row is not None

    def close(self) -> None:
        """Closes the connections; records appended and not committed are dropped."""
        self.rollback()
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None
        self._readers.close()
