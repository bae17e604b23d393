"""Between SQL rows and the values a store keeps: result rows read into loglens's dataclasses, and
those dataclasses as the values of an INSERT, in the column orders both backends' statements use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from loglens.mining.drain import TemplateChange
from loglens.sources.file import Checkpoint
from loglens.store.base import (
    Annotation,
    Document,
    LevelCount,
    RecordCounts,
    StoredRecord,
    TemplateCount,
)

Row = tuple[Any, ...]

# -- result rows into dataclasses ------------------------------------------------------------------
# Times arrive as ns integers (DuckDB's epoch_ns, PostgreSQL's BIGINT), JSON as text.


def to_stored_record(row: Row) -> StoredRecord:
    """A record from a row of (id, ts, service, host, pid, level, message, raw, source, template_id,
    fields, parse_error, params, tenant)."""
    fields = row[10]
    return StoredRecord(
        id=row[0],
        ts=row[1],
        service=row[2],
        host=row[3],
        pid=row[4],
        level=row[5],
        message=row[6],
        raw=row[7],
        source=row[8],
        template_id=row[9],
        fields=orjson.loads(fields) if fields else None,
        parse_error=row[11],
        params=row[12],
        tenant=row[13],
    )


def to_document(row: Row) -> Document:
    """A document from a row of (kind, id, body, state, created, updated)."""
    kind, doc_id, body, state, created, updated = row
    return Document(kind, doc_id, orjson.loads(body), state, int(created), int(updated))


def to_annotation(row: Row) -> Annotation:
    """An annotation from a row of (id, created, author, kind, since, until, service, record_id, text)."""
    return Annotation(
        id=int(row[0]), created=int(row[1]), author=row[2], kind=row[3], since=int(row[4]),
        until=None if row[5] is None else int(row[5]), service=row[6], record_id=row[7], text=row[8],
    )  # fmt: skip


def to_checkpoint(row: Row) -> Checkpoint:
    """A checkpoint from a row of (path, inode, offset, fingerprint, fingerprint_len, skip_records,
    updated_at); a NULL time reads as 0, not known."""
    return Checkpoint(
        str(row[0]), int(row[1]), int(row[2]), str(row[3]), int(row[4]), int(row[5]), int(row[6] or 0)
    )


def to_template_change(row: Row) -> TemplateChange:
    """A template from a row of (id, service, template, catch_all, tenant)."""
    return TemplateChange(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]))


def to_record_counts(templates: Sequence[Row], levels: Sequence[Row]) -> RecordCounts:
    """`Store.counts` from its rows per (template id, service, template, level, count) and per
    (level, severity, count, service); the total is every record, with or without a template."""
    return RecordCounts(
        total=sum(int(row[2]) for row in levels),
        templates=tuple(TemplateCount(*row) for row in templates),
        levels=tuple(LevelCount(*row) for row in levels),
    )


def to_hits(rows: Sequence[Row]) -> list[tuple[int, str, int]]:
    """`Store.hits` from rows of (bucket, key, count); a NULL key (no template, no category) is ''."""
    return [(int(b), "" if k is None else str(k), int(n)) for b, k, n in rows]


# -- dataclasses into INSERT values ------------------------------------------------------------------


def annotation_row(annotation: Annotation, now_ns: int) -> list[object]:
    """(created, author, kind, since, until, service, record_id, text); created `now_ns` when unset."""
    return [
        annotation.created or now_ns,
        annotation.author,
        annotation.kind,
        annotation.since,
        annotation.until,
        annotation.service,
        annotation.record_id,
        annotation.text,
    ]


def stamped_document(document: Document, doc_id: str, now_ns: int) -> Document:
    """`document` as a store keeps it: with the id `doc_id`, and created and updated at `now_ns`
    where they are unset (0)."""
    return Document(
        document.kind,
        doc_id,
        document.body,
        document.state,
        document.created or now_ns,
        document.updated or now_ns,
    )


def document_row(document: Document) -> list[object]:
    """(kind, id, created, updated, state, body as JSON text)."""
    return [
        document.kind,
        document.id,
        document.created,
        document.updated,
        document.state,
        orjson.dumps(document.body).decode(),
    ]


def checkpoint_row(checkpoint: Checkpoint, committed_ns: int) -> tuple[object, ...]:
    """(path, inode, offset, fingerprint, fingerprint_len, updated_at, skip_records), committed at
    `committed_ns`."""
    return (
        checkpoint.path,
        checkpoint.inode,
        checkpoint.offset,
        checkpoint.fingerprint,
        checkpoint.fingerprint_len,
        committed_ns,
        checkpoint.skip,
    )


def template_row(change: TemplateChange) -> tuple[object, ...]:
    """(id, service, template, catch_all, tenant)."""
    return (change.id, change.service, change.text, change.catch_all, change.tenant)
