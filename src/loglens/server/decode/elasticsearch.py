"""Elasticsearch's `_bulk` API (`PUT`/`POST /_bulk`, `/{index}/_bulk`), as Beats, Logstash, Fluent Bit and
the elasticsearch clients send logs, and the per-item response those clients check.

Documents are read by loglens's JSON conventions, which include ECS (`@timestamp`, `message`,
`log.level`, `service.name`, `host.name`, `trace.id`, nested or dotted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from loglens.formats.base import SourceContext, unparsed_record
from loglens.formats.json import StructuredMapper
from loglens.formats.level import LevelClassifier
from loglens.record import Record
from loglens.server.decode.base import (
    DEFAULT_MAX_RECORDS,
    Decoded,
    PayloadError,
    check_record_count,
    json_error_reason,
    request_context,
    split_lines,
)
from loglens.server.decode.structured import restore

__all__ = ["BulkDecoded", "BulkItem", "bulk_response", "decode_es_bulk"]

SOURCE_PREFIX: Final = "es"
_DOC_ACTIONS: Final = frozenset({"index", "create"})
_UNSUPPORTED: Final = {
    name: ("illegal_argument_exception", f"{name} is not supported: loglens stores logs append-only")
    for name in ("update", "delete")
}
_SHARDS: Final = {"total": 1, "successful": 1, "failed": 0}

_MAPPER = StructuredMapper()


@dataclass(frozen=True, slots=True)
class BulkItem:
    """The outcome of one bulk action, in action order: what the response's `items` entry says.

    `error_type` is None for an item taken as a document (status 201); otherwise it and `reason` are
    the `error` object of a 400 item, as Elasticsearch names them.
    """

    action: str
    index: str
    doc_id: str
    error_type: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class BulkDecoded(Decoded):
    """`Decoded` plus one `BulkItem` per action, for `bulk_response`."""

    items: list[BulkItem]


def _generated_id(received_ns: int, position: int) -> str:
    """An id for a document sent without one; loglens does not key records by it, clients only log it."""
    return f"{received_ns:x}-{position}"


def _action_of(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    """(action, metadata) of an action line; a line that is none stops the request, as in Elasticsearch."""
    try:
        action = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(
            f"line {number}: malformed action/metadata line, not JSON ({json_error_reason(exc)})"
        ) from exc
    if type(action) is not dict or len(action) != 1:
        raise PayloadError(
            f'line {number}: malformed action/metadata line, expected {{"<action>": {{…}}}} with one key'
        )
    ((name, meta),) = action.items()
    if name not in _DOC_ACTIONS and name not in _UNSUPPORTED:
        raise PayloadError(
            f"line {number}: unknown action {name!r} (expected index, create, update or delete)"
        )
    if type(meta) is not dict:
        raise PayloadError(f"line {number}: the metadata of {name!r} is not an object")
    return name, meta


def decode_es_bulk(
    body: bytes,
    received_ns: int,
    default_index: str | None = None,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> BulkDecoded:
    """One record per `index`/`create` action of a bulk body (already decompressed), in order.

    The index is the action's `_index`, else `default_index` (the URL's `/{index}/_bulk`); it goes into
    fields as `index`, names the source (``es:<index>``) and is the service of documents that name
    none. A client's `_id` is kept in fields as `_id`. `update` and `delete` are item errors (their
    document line, if any, is consumed); so is a document that is not a JSON object and one with no
    index anywhere, which are still stored raw with `parse_error` set.

    Raises:
        PayloadError: an action line that is not a one-key JSON object naming a bulk action
            (Elasticsearch rejects the whole request then too, as what follows cannot be framed).
        PayloadTooLarge: more than `max_records` actions.
    """
    lines = split_lines(body)
    items: list[BulkItem] = []
    errors: list[str] = []
    contexts: dict[str, SourceContext] = {}
    # Documents are mapped in one batch per index (the index is the source and default service); a
    # slot per stored record keeps the action order.
    groups: dict[str, list[tuple[int, dict[str, Any], str, dict[str, str]]]] = {}
    slots: list[Record | None] = []
    for number, line in lines:
        check_record_count(len(items) + 1, max_records)
        name, meta = _action_of(line, number)
        index = meta["_index"] if type(meta.get("_index")) is str and meta["_index"] else default_index
        given = meta.get("_id")
        doc_id = _generated_id(received_ns, len(items)) if given is None else str(given)
        extra = {"index": index} if index else {}
        if given is not None:
            extra["_id"] = doc_id
        doc_line = None if name == "delete" else next(lines, None)
        where = f"item {len(items) + 1} (line {number})"
        problem = _UNSUPPORTED.get(name)
        if problem is None and doc_line is None:
            problem = ("action_request_validation_exception", f"{name} has no document line after it")
        if problem is not None:
            items.append(BulkItem(name, index or "", doc_id, *problem))
            errors.append(f"{where}: {problem[1]}")
            continue
        assert doc_line is not None
        key = index or ""
        ctx = contexts.get(key)
        if ctx is None:
            source = f"{SOURCE_PREFIX}:{index}" if index else SOURCE_PREFIX
            ctx = contexts[key] = request_context(source, index or "elasticsearch", None, received_ns, levels)
        raw = doc_line[1].decode("utf-8", "replace")
        doc, problem = _read_document(doc_line[1], index)
        if doc is not None:
            groups.setdefault(key, []).append((len(slots), doc, raw, extra))
            slots.append(None)
            items.append(BulkItem(name, key, doc_id))
            continue
        assert problem is not None
        errors.append(f"{where}: {problem[1]}")
        items.append(BulkItem(name, key, doc_id, *problem))
        record = unparsed_record(raw, f"{SOURCE_PREFIX}: {problem[1]}", ctx)
        record.fields = restore(None, extra)
        slots.append(record)
    for key, members in groups.items():
        mapped = _MAPPER.records([(doc, raw) for _, doc, raw, _ in members], contexts[key])
        for (slot, _, _, extra), record in zip(members, mapped, strict=True):
            record.fields = restore(record.fields, extra)
            slots[slot] = record
    return BulkDecoded([record for record in slots if record is not None], errors, items)


def _read_document(line: bytes, index: str | None) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """(document, None), or (None, (Elasticsearch error type, reason)) for one that cannot be indexed."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, ("document_parsing_exception", f"the document is not JSON ({json_error_reason(exc)})")
    if type(doc) is not dict:
        return None, ("document_parsing_exception", "the document is not a JSON object")
    if not index:
        return None, (
            "action_request_validation_exception",
            "index is missing (name it in the action or the URL)",
        )
    return doc, None


def bulk_response(decoded: BulkDecoded, took_ms: int) -> dict[str, Any]:
    """The `_bulk` response body: one item per action, in order, 201 for a document taken, 400 with an
    `error` object otherwise. The elasticsearch clients' `helpers.bulk` reads `status` (and `error`
    for failures) and pairs items with its actions by position. The reply also needs the
    `X-Elastic-Product: Elasticsearch` header, which the endpoint sets."""
    items: list[dict[str, Any]] = []
    for seq_no, item in enumerate(decoded.items):
        if item.error_type is None:
            body: dict[str, Any] = {
                "_index": item.index,
                "_id": item.doc_id,
                "_version": 1,
                "result": "created",
                "_shards": dict(_SHARDS),
                "_seq_no": seq_no,
                "_primary_term": 1,
                "status": 201,
            }
        else:
            body = {
                "_index": item.index,
                "_id": item.doc_id,
                "status": 400,
                "error": {"type": item.error_type, "reason": item.reason, "index": item.index},
            }
        items.append({item.action: body})
    return {"took": took_ms, "errors": any(item.error_type for item in decoded.items), "items": items}
