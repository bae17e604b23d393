"""The store's schema as numbered migrations, applied in order and recorded in `meta`.

A migration is appended, never edited: a store made by an older loglens is brought forward by the
ones it has not seen yet. Column meanings are documented in docs/store.md (what `loglens sql` sees).
"""

from __future__ import annotations

SCHEMA_VERSION_KEY = "schema_version"

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE IF NOT EXISTS records (
                id BIGINT NOT NULL,
                ts TIMESTAMP_NS NOT NULL,
                observed_ts TIMESTAMP_NS NOT NULL,
                service VARCHAR NOT NULL,
                host VARCHAR,
                source VARCHAR NOT NULL,
                pid INTEGER,
                level VARCHAR NOT NULL,
                severity UTINYINT NOT NULL,
                message VARCHAR NOT NULL,
                raw VARCHAR NOT NULL,
                fields JSON,
                trace_id VARCHAR,
                span_id VARCHAR,
                template_id VARCHAR,
                params VARCHAR[],
                category VARCHAR,
                parse_error VARCHAR
            )""",
            """CREATE TABLE IF NOT EXISTS checkpoints (
                path VARCHAR PRIMARY KEY,
                inode BIGINT NOT NULL,
                "offset" BIGINT NOT NULL,
                fingerprint VARCHAR NOT NULL,
                fingerprint_len INTEGER NOT NULL,
                updated_at TIMESTAMP NOT NULL
            )""",
        ],
    ),
    (
        2,
        [
            # One row per template the miner ever made (ids are never reused). `template` is its text as
            # it stands (it only generalises); the counts, times and level are those of committed records.
            """CREATE TABLE IF NOT EXISTS templates (
                id VARCHAR PRIMARY KEY,
                service VARCHAR NOT NULL,
                template VARCHAR NOT NULL,
                catch_all BOOLEAN NOT NULL DEFAULT false,
                level VARCHAR,
                severity UTINYINT NOT NULL DEFAULT 0,
                count BIGINT NOT NULL DEFAULT 0,
                first_seen TIMESTAMP_NS,
                last_seen TIMESTAMP_NS
            )""",
        ],
    ),
    (
        3,
        [
            # Events already stored from `offset` on, when a commit ended inside a read chunk.
            "ALTER TABLE checkpoints ADD COLUMN skip_records BIGINT NOT NULL DEFAULT 0",
        ],
    ),
    (
        4,
        [
            # Notes and bookmarks on time ranges or records, left by people (the dashboard).
            "CREATE SEQUENCE IF NOT EXISTS annotation_ids START 1",
            """CREATE TABLE IF NOT EXISTS annotations (
                id BIGINT PRIMARY KEY DEFAULT nextval('annotation_ids'),
                created TIMESTAMP_NS NOT NULL,
                author VARCHAR,
                kind VARCHAR NOT NULL,
                since TIMESTAMP_NS NOT NULL,
                until TIMESTAMP_NS,
                service VARCHAR,
                record_id BIGINT,
                text VARCHAR NOT NULL
            )""",
        ],
    ),
    (
        5,
        [
            # What loglens itself keeps beside the logs, as JSON documents of a few kinds: alerts and
            # their history, silences, rules made through the API, learned failure signatures and LLM
            # insights (docs/store.md lists the kinds and their fields). Small tables, read whole.
            "CREATE SEQUENCE IF NOT EXISTS document_ids START 1",
            """CREATE TABLE IF NOT EXISTS documents (
                kind VARCHAR NOT NULL,
                id VARCHAR NOT NULL,
                created TIMESTAMP_NS NOT NULL,
                updated TIMESTAMP_NS NOT NULL,
                state VARCHAR,
                body JSON NOT NULL,
                PRIMARY KEY (kind, id)
            )""",
        ],
    ),
    (
        6,
        [
            # Who each record belongs to ('' none: the operator's own logs), and each template: a
            # tenant's reads see its own records only, and templates are mined per tenant and service.
            "ALTER TABLE records ADD COLUMN tenant VARCHAR NOT NULL DEFAULT ''",
            "ALTER TABLE templates ADD COLUMN tenant VARCHAR NOT NULL DEFAULT ''",
        ],
    ),
    (
        7,
        [
            # Scale-out: per bus partition, the last stream sequence whose records are stored (the
            # exactly-once fence of process nodes, moved in the same transaction as the records).
            """CREATE TABLE IF NOT EXISTS bus_offsets (
                stream VARCHAR PRIMARY KEY,
                seq BIGINT NOT NULL
            )""",
        ],
    ),
]

CURRENT_VERSION = MIGRATIONS[-1][0]

RECORD_COLUMNS: tuple[str, ...] = (
    "id",
    "ts",
    "observed_ts",
    "service",
    "host",
    "source",
    "pid",
    "level",
    "severity",
    "message",
    "raw",
    "fields",
    "trace_id",
    "span_id",
    "template_id",
    "params",
    "category",
    "parse_error",
    "tenant",
)
