"""The PostgreSQL store's schema as numbered migrations, applied in order and recorded in `meta`.

A migration is appended, never edited (as in schema.py, whose numbering this list does not share).
Times are BIGINT nanoseconds since the epoch, as DuckDB's TIMESTAMP_NS holds them: PostgreSQL's own
timestamps keep microseconds only. The functions under DuckDB's names let the SQL the query language
and the commands write run here unchanged (postgres_sql.py rewrites the rest); the identity ones are
inlinable SQL, so `ts >= make_timestamp_ns($1)` still prunes partitions and uses the indexes.
"""

from __future__ import annotations

from datetime import date, timedelta

SCHEMA_VERSION_KEY = "schema_version"

DAY_NS = 86_400 * 10**9
PARTITION_PREFIX = "records_"
"""Day partitions of `records` are named records_YYYYMMDD (the UTC day their `ts` range covers)."""

_FUNCTIONS = [
    # Identities: DuckDB converts between TIMESTAMP_NS and ns, here both are ns.
    """CREATE OR REPLACE FUNCTION make_timestamp_ns(ns BIGINT) RETURNS BIGINT
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT ns'""",
    """CREATE OR REPLACE FUNCTION epoch_ns(ns BIGINT) RETURNS BIGINT
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT ns'""",
    # The keys of a DuckDB JSON path: a JSON pointer ('/a/b', ~1 for '/', ~0 for '~'), a '$.a.b' path,
    # or one key. Folded once per query: its argument is always a constant parameter.
    r"""CREATE OR REPLACE FUNCTION json_path_keys(path TEXT) RETURNS TEXT[]
       LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
       DECLARE keys TEXT[];
       BEGIN
           IF left(path, 1) = '/' THEN
               keys := string_to_array(substr(path, 2), '/');
               FOR k IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
                   keys[k] := replace(replace(keys[k], '~1', '/'), '~0', '~');
               END LOOP;
               RETURN keys;
           ELSIF left(path, 1) = '$' THEN
               RETURN string_to_array(regexp_replace(substr(path, 2), '^\.', ''), '.');
           END IF;
           RETURN ARRAY[path];
       END $$""",
    """CREATE OR REPLACE FUNCTION json_extract_string(doc JSONB, path TEXT) RETURNS TEXT
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT doc #>> json_path_keys(path)'""",
    """CREATE OR REPLACE FUNCTION contains(haystack TEXT, needle TEXT) RETURNS BOOLEAN
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT strpos(haystack, needle) > 0'""",
    # `contains(lower(col), lower(?))` as postgres_sql.py rewrites it: the same test, as an ILIKE the
    # trigram index can serve (the pattern is folded to a constant when the query is planned).
    r"""CREATE OR REPLACE FUNCTION ilike_contains(haystack TEXT, needle TEXT) RETURNS BOOLEAN
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       SELECT haystack ILIKE
           ('%' || replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_') || '%')
       $$""",
    # DuckDB's regexp_matches(text, pattern) is a boolean search; PostgreSQL's returns a set.
    """CREATE OR REPLACE FUNCTION re_matches(haystack TEXT, pattern TEXT) RETURNS BOOLEAN
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT haystack ~ pattern'""",
    # TRY_CAST(x AS DOUBLE) as DuckDB reads text: spaces around, `_` between digits, inf/nan in any
    # case, an overflow as ±inf; anything else NULL. Classified by pattern first, so no cast can fail
    # (an EXCEPTION block would open a subtransaction per row). try_double below is the fast path.
    r"""CREATE OR REPLACE FUNCTION parse_double(value TEXT) RETURNS DOUBLE PRECISION
       LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
       DECLARE
           parts TEXT[];
           mantissa NUMERIC;
           digits TEXT;
           magnitude INTEGER;
           number NUMERIC;
       BEGIN
           parts := regexp_match(value,
               '^\s*([+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*))(?:[eE]([+-]?\d+(?:_\d+)*))?\s*$');
           IF parts IS NULL THEN
               IF value ~* '^\s*[+-]?(inf|infinity|nan)\s*$' THEN
                   RETURN btrim(value, E' \t\n\r\f\v')::DOUBLE PRECISION;
               END IF;
               RETURN NULL;
           END IF;
           IF parts[2] IS NULL AND length(parts[1]) < 300 AND strpos(parts[1], '_') = 0 THEN
               RETURN parts[1]::DOUBLE PRECISION;
           END IF;
           mantissa := replace(parts[1], '_', '')::NUMERIC;
           IF mantissa = 0 THEN
               RETURN 0;
           END IF;
           digits := replace(coalesce(parts[2], '0'), '_', '');
           IF length(ltrim(digits, '+-0')) > 6 THEN
               RETURN CASE WHEN left(digits, 1) = '-' THEN 0
                           WHEN mantissa < 0 THEN '-Infinity' ELSE 'Infinity' END::DOUBLE PRECISION;
           END IF;
           magnitude := floor(log(abs(mantissa)))::INTEGER + digits::INTEGER;
           IF magnitude > 308 THEN
               RETURN CASE WHEN mantissa < 0 THEN '-Infinity' ELSE 'Infinity' END::DOUBLE PRECISION;
           ELSIF magnitude < -325 THEN
               RETURN 0;
           END IF;
           number := mantissa * power(10::NUMERIC, digits::INTEGER);
           IF abs(number) > 1.7976931348623157e308 THEN
               RETURN CASE WHEN mantissa < 0 THEN '-Infinity' ELSE 'Infinity' END::DOUBLE PRECISION;
           ELSIF abs(number) < 2.5e-324 THEN
               RETURN 0;
           END IF;
           RETURN number::DOUBLE PRECISION;
       END $$""",
    # Plain decimals — nearly every value a field holds — are cast inline; the rest go to parse_double.
    # Inlined into the query (a plpgsql call per row took three times as long on 200k records).
    r"""CREATE OR REPLACE FUNCTION try_double(value TEXT) RETURNS DOUBLE PRECISION
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       SELECT CASE WHEN value ~ '^-?[0-9]{1,15}(\.[0-9]{1,15})?$' THEN value::DOUBLE PRECISION
                   ELSE parse_double(value) END
       $$""",
    # TRY_CAST(x AS BIGINT) for whole numbers (document ids); NULL past BIGINT's range.
    r"""CREATE OR REPLACE FUNCTION try_bigint(value TEXT) RETURNS BIGINT
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
       SELECT CASE WHEN value ~ '^\s*[+-]?\d{1,30}\s*$'
                    AND value::NUMERIC BETWEEN -9223372036854775808 AND 9223372036854775807
                   THEN value::NUMERIC::BIGINT END
       $$""",
]

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            *_FUNCTIONS,
            # CACHE 1: each id is taken from the sequence itself, never from a block a session keeps,
            # and records take theirs only inside the commit lock (postgres.py), so ids increase in the
            # order transactions commit across every process writing.
            "CREATE SEQUENCE IF NOT EXISTS record_ids CACHE 1",
            # Names, levels and ids sort and compare bytewise ("C"), as in DuckDB; `message` and `raw`
            # keep the database's collation, whose lower() ILIKE and contains() fold case with.
            """CREATE TABLE IF NOT EXISTS records (
                id BIGINT NOT NULL DEFAULT nextval('record_ids'),
                ts BIGINT NOT NULL,
                observed_ts BIGINT NOT NULL,
                service TEXT COLLATE "C" NOT NULL,
                host TEXT COLLATE "C",
                source TEXT COLLATE "C" NOT NULL,
                pid INTEGER,
                level TEXT COLLATE "C" NOT NULL,
                severity SMALLINT NOT NULL,
                message TEXT NOT NULL,
                raw TEXT NOT NULL,
                fields JSONB,
                trace_id TEXT COLLATE "C",
                span_id TEXT COLLATE "C",
                template_id TEXT COLLATE "C",
                params TEXT[],
                category TEXT COLLATE "C",
                parse_error TEXT,
                tenant TEXT COLLATE "C" NOT NULL DEFAULT ''
            ) PARTITION BY RANGE (ts)""",
            # On the partitioned table: every day partition gets its own copy when it is attached.
            "CREATE INDEX IF NOT EXISTS records_ts_brin ON records USING brin (ts)",
            # The newest (or oldest) records first, as `loglens logs` asks, read straight off this index
            # (a sort of every row otherwise: 0.5 against 40 ms on 200k records).
            "CREATE INDEX IF NOT EXISTS records_ts_id ON records (ts, id)",
            "CREATE INDEX IF NOT EXISTS records_service_ts ON records (service, ts)",
            "CREATE INDEX IF NOT EXISTS records_template_id ON records (template_id)",
            "CREATE INDEX IF NOT EXISTS records_message_trgm ON records USING gin (message gin_trgm_ops)",
            """CREATE TABLE IF NOT EXISTS checkpoints (
                path TEXT COLLATE "C" PRIMARY KEY,
                inode BIGINT NOT NULL,
                "offset" BIGINT NOT NULL,
                fingerprint TEXT NOT NULL,
                fingerprint_len INTEGER NOT NULL,
                updated_at BIGINT NOT NULL,
                skip_records BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE IF NOT EXISTS templates (
                id TEXT COLLATE "C" PRIMARY KEY,
                service TEXT COLLATE "C" NOT NULL,
                template TEXT NOT NULL,
                catch_all BOOLEAN NOT NULL DEFAULT false,
                level TEXT COLLATE "C",
                severity SMALLINT NOT NULL DEFAULT 0,
                count BIGINT NOT NULL DEFAULT 0,
                first_seen BIGINT,
                last_seen BIGINT,
                tenant TEXT COLLATE "C" NOT NULL DEFAULT ''
            )""",
            "CREATE SEQUENCE IF NOT EXISTS annotation_ids",
            """CREATE TABLE IF NOT EXISTS annotations (
                id BIGINT PRIMARY KEY DEFAULT nextval('annotation_ids'),
                created BIGINT NOT NULL,
                author TEXT,
                kind TEXT COLLATE "C" NOT NULL,
                since BIGINT NOT NULL,
                until BIGINT,
                service TEXT COLLATE "C",
                record_id BIGINT,
                text TEXT NOT NULL
            )""",
            "CREATE SEQUENCE IF NOT EXISTS document_ids",
            # `body` is JSON text, not JSONB: documents are read whole, and keep their keys' order.
            """CREATE TABLE IF NOT EXISTS documents (
                kind TEXT COLLATE "C" NOT NULL,
                id TEXT COLLATE "C" NOT NULL,
                created BIGINT NOT NULL,
                updated BIGINT NOT NULL,
                state TEXT COLLATE "C",
                body JSON NOT NULL,
                PRIMARY KEY (kind, id)
            )""",
            # How far each bus stream is stored (exactly-once: see PostgresStore.advance_offset).
            """CREATE TABLE IF NOT EXISTS bus_offsets (
                stream TEXT COLLATE "C" PRIMARY KEY,
                seq BIGINT NOT NULL,
                updated BIGINT NOT NULL
            )""",
        ],
    ),
]

CURRENT_VERSION = MIGRATIONS[-1][0]


def partition_name(day: int) -> str:
    """The partition of `records` holding UTC day number `day` (days since 1970-01-01)."""
    return PARTITION_PREFIX + (date(1970, 1, 1) + timedelta(days=day)).strftime("%Y%m%d")
