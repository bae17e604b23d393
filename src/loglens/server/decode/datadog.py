"""Datadog's logs intake (`POST /api/v2/logs`), as the Datadog Agent, Vector's `datadog_logs` sink and
the Datadog API clients send it: a JSON array of log objects, or one object.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from loglens.formats.base import unparsed_record
from loglens.formats.json import JSON_TYPE_NAMES, StructuredMapper, merge_in_order
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.json_text import dumps_any
from loglens.record import Record
from loglens.server.decode.base import (
    DEFAULT_MAX_RECORDS,
    Decoded,
    PayloadError,
    check_record_count,
    json_error_reason,
    request_context,
)
from loglens.server.decode.structured import has_role, override_role, restore

__all__ = ["decode_datadog", "parse_tags"]

SOURCE: Final = "datadog"

_MAPPER = StructuredMapper()


def parse_tags(text: str) -> dict[str, Any]:
    """`env:prod,version:1,canary` -> {"env": "prod", "version": "1", "canary": ""}.

    A tag splits at its first colon (`url:http://x` keeps the rest); a key given twice collects its
    values in a list, as Datadog allows several values per tag key.
    """
    tags: dict[str, Any] = {}
    for item in text.split(","):
        tag = item.strip()
        if not tag:
            continue
        key, _, value = tag.partition(":")
        if key in tags:
            known = tags[key]
            tags[key] = [*known, value] if type(known) is list else [known, value]
        else:
            tags[key] = value
    return tags


def _prepare(item: dict[str, Any]) -> dict[str, Any]:
    """Lifts Datadog's reserved attributes into the roles loglens reads; returns what to add to fields.

    `status` is the level (when it names one); `ddtags` become fields of their own, but never over
    an attribute the log itself carries, and a `service` tag is the service of a log without one.
    """
    stash: dict[str, Any] = {}
    status = item.get("status")
    if type(status) is str and level_from_name(status) is not None:
        del item["status"]
        stash.update(override_role(item, "level", status))
    tags = item.pop("ddtags", None)
    if type(tags) is str:
        parsed = parse_tags(tags)
        service = parsed.get("service")
        # Datadog falls back to the `service` tag for a log with no service attribute.
        if type(service) is str and service and not has_role(item, "service"):
            override_role(item, "service", service)
            del parsed["service"]
        stash.update({key: value for key, value in parsed.items() if key not in item})
    elif tags is not None:
        item["ddtags"] = tags
    return stash


def decode_datadog(
    body: bytes,
    received_ns: int,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> Decoded:
    """One record per log object of a body (already decompressed), in order.

    `message`, `timestamp` (ms), `hostname` and `service` are read by loglens's JSON conventions,
    `status` gives the level, `ddtags` become fields, `ddsource` and every other attribute stay as
    fields. The service defaults to ``datadog``. An array element that is not an object is an error,
    kept raw.

    Raises:
        PayloadError: the body is not JSON, or neither an array nor an object.
        PayloadTooLarge: more than `max_records` logs.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"json: body is not JSON ({json_error_reason(exc)} at char {exc.pos})") from exc
    if type(data) is dict:
        data = [data]
    if type(data) is not list:
        kind = JSON_TYPE_NAMES.get(type(data), type(data).__name__)
        raise PayloadError(f"json: expected an array of log objects, got {kind}")
    check_record_count(len(data), max_records)
    ctx = request_context(SOURCE, SOURCE, None, received_ns, levels)
    pairs: list[tuple[dict[str, Any], str]] = []
    stashes: list[dict[str, Any]] = []
    bad: list[tuple[int, Record]] = []
    errors: list[str] = []
    for index, item in enumerate(data):
        raw = dumps_any(item).decode()
        if type(item) is not dict:
            kind = JSON_TYPE_NAMES.get(type(item), type(item).__name__)
            errors.append(f"log {index + 1}: not an object (got {kind})")
            bad.append((index, unparsed_record(raw, f"{SOURCE}: not an object (got {kind})", ctx)))
            continue
        stashes.append(_prepare(item))
        pairs.append((item, raw))
    records = _MAPPER.records(pairs, ctx)
    for record, stash in zip(records, stashes, strict=True):
        record.fields = restore(record.fields, stash)
    return Decoded(merge_in_order(records, bad), errors)
