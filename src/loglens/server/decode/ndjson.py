"""JSON lines posted as is (`POST` of one JSON object per line, as VictoriaLogs' jsonline endpoint takes).

Keys are read by loglens's JSON conventions; a `FieldMapping` names the message, time and service keys
explicitly when a shipper's events use other names.
"""

from __future__ import annotations

from typing import Any

import orjson

from loglens.formats.base import SourceContext, unparsed_record
from loglens.formats.json import JSON_TYPE_NAMES, StructuredMapper, merge_in_order
from loglens.formats.level import LevelClassifier
from loglens.record import Record
from loglens.server.decode.base import (
    DEFAULT_MAX_RECORDS,
    Decoded,
    FieldMapping,
    check_record_count,
    json_error_reason,
    request_context,
    split_lines,
)
from loglens.server.decode.structured import MISSING, override_role, pop_path, restore, text_of

__all__ = ["decode_ndjson"]

SOURCE = "ndjson"

# Plans are cached per key layout; one mapper for every request keeps that cache warm.
_MAPPER = StructuredMapper()


def _explicit_time(value: Any, ctx: SourceContext) -> int | None:
    if type(value) is str:
        return ctx.timestamps.parse(value)
    if type(value) in (int, float):
        return ctx.timestamps.parse_epoch(value)
    return None


def _apply_mapping(obj: dict[str, Any], mapping: FieldMapping, ctx: SourceContext) -> dict[str, Any]:
    """Puts the mapped message, time and service where the mapper reads them; returns what was moved."""
    stash: dict[str, Any] = {}
    if mapping.message_field:
        value = pop_path(obj, mapping.message_field)
        if value is not MISSING and value is not None:
            stash.update(override_role(obj, "message", text_of(value)))
    if mapping.time_field:
        value = pop_path(obj, mapping.time_field)
        if value is not MISSING:
            ns = _explicit_time(value, ctx)
            if ns is None:
                # Not a time: kept as data under the name the shipper gave.
                obj[mapping.time_field] = value
            else:
                stash.update(override_role(obj, "time", ns))
    if mapping.service_field:
        value = pop_path(obj, mapping.service_field)
        if type(value) is str and value:
            stash.update(override_role(obj, "service", value))
        elif value is not MISSING:
            obj[mapping.service_field] = value
    return stash


def decode_ndjson(
    body: bytes,
    mapping: FieldMapping,
    received_ns: int,
    host: str | None = None,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> Decoded:
    """One record per non-blank line of `body` (already decompressed), in order.

    A line that is not JSON, or not a JSON object, is an error ("line 3: not JSON (…)") and still a
    record: raw, timed `received_ns`, with `parse_error` set. `host` is the fallback for events that
    name none (the daemon passes what the URL or the peer says). Records' `source` is ``ndjson``.

    Raises:
        PayloadTooLarge: more than `max_records` lines.
    """
    ctx = request_context(SOURCE, mapping.default_service, host, received_ns, levels)
    pairs: list[tuple[dict[str, Any], str]] = []
    stashes: list[dict[str, Any]] = []
    bad: list[tuple[int, Record]] = []
    errors: list[str] = []
    count = 0
    for number, line in split_lines(body):
        count += 1
        check_record_count(count, max_records)
        raw = line.decode("utf-8", "replace")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problem = f"not JSON ({json_error_reason(exc)})"
        else:
            if type(obj) is dict:
                stashes.append(_apply_mapping(obj, mapping, ctx))
                pairs.append((obj, raw))
                continue
            problem = f"not an object (got {JSON_TYPE_NAMES.get(type(obj), type(obj).__name__)})"
        errors.append(f"line {number}: {problem}")
        record = unparsed_record(raw, f"{SOURCE}: {problem}", ctx)
        record.fields = restore(None, mapping.extra_fields)
        bad.append((count - 1, record))
    records = _MAPPER.records(pairs, ctx)
    for record, stash in zip(records, stashes, strict=True):
        record.fields = restore(record.fields, stash, mapping.extra_fields)
    return Decoded(merge_in_order(records, bad), errors)
