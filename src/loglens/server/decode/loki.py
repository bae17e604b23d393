"""Loki's push API (`POST /loki/api/v1/push`): JSON as python-logging-loki sends it, snappy-compressed
protobuf as Promtail and Grafana Alloy send it.

Takes the body as received, with its `Content-Encoding`: snappy is part of Loki's protobuf format (Loki
decodes it whatever the header says), so the caller cannot undo it generically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from google.protobuf.message import DecodeError

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.json_text import dumps_any
from loglens.record import Level, Record
from loglens.server.decode.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_RECORDS,
    Decoded,
    PayloadError,
    check_record_count,
    decompress,
    json_error_reason,
    request_context,
)
from loglens.server.decode.labels import parse_labels
from loglens.server.decode.logproto import PushRequest

__all__ = ["decode_loki"]

SOURCE = "loki"
_NS = 1_000_000_000
_MAX_NS = 2**63 - 1  # the store keeps times as int64 ns (until 2262)

# First present wins; Loki itself derives `service_name` from the same kind of list.
_SERVICE_LABELS: Final = ("service_name", "service", "app", "job")
_LEVEL_LABELS: Final = ("level", "detected_level", "severity")
_HOST_LABELS: Final = ("host", "hostname", "instance")


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = labels.get(name)
        if value:
            return value
    return None


def _level(labels: Mapping[str, str], metadata: Mapping[str, str]) -> Level | None:
    """An entry's own structured metadata is more specific than its stream's labels."""
    for source in (metadata, labels):
        for name in _LEVEL_LABELS:
            level = level_from_name(source.get(name))
            if level is not None:
                return level
    return None


def _entry_record(
    ctx: SourceContext,
    labels: Mapping[str, str],
    ts: int | None,
    line: str,
    metadata: Mapping[str, str],
    error: str | None,
) -> Record:
    level = _level(labels, metadata)
    fields = {**labels, **metadata}
    return Record(
        ts=ctx.observed_ns if ts is None else ts,
        observed_ts=ctx.observed_ns,
        service=_first(labels, _SERVICE_LABELS) or ctx.service,
        source=SOURCE,
        message=line,
        raw=line,
        level=ctx.levels.classify(line) if level is None else level,
        host=_first(labels, _HOST_LABELS) or _first(metadata, _HOST_LABELS),
        fields=fields or None,
        trace_id=metadata.get("trace_id") or None,
        span_id=metadata.get("span_id") or None,
        parse_error=error,
    )


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_loki(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    received_ns: int,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> Decoded:
    """One record per pushed entry, stream by stream, from the body as it arrived.

    `application/json` is the JSON push; anything else (`application/x-protobuf`, or no type at all)
    is snappy-compressed protobuf, as in Loki. A `Content-Encoding` of gzip, deflate or zstd is undone
    first; `snappy` is accepted and means the protobuf's own compression.

    Labels and structured metadata become fields; the service comes from the first of the
    `service_name`, `service`, `app`, `job` labels (else ``loki``), the level from a `level`,
    `detected_level` or `severity` label or metadata, the host from `host`, `hostname` or `instance`,
    and the trace and span ids from `trace_id`/`span_id` metadata. A stream or entry that is malformed
    (labels that do not parse, a timestamp that is not a number) is an error and is still stored when
    it holds a line, with `parse_error` set.

    Raises:
        PayloadError: the body is not snappy, not protobuf or not JSON of the push shape.
        PayloadTooLarge: more than `max_bytes` decompressed or `max_records` entries.
    """
    ctx = request_context(SOURCE, SOURCE, None, received_ns, levels)
    media = _media_type(content_type)
    coding = (content_encoding or "").strip().lower()
    if media == "application/json":
        data = decompress(body, content_encoding, max_bytes)
        return _decode_json(data, ctx, max_records)
    if coding not in ("", "identity", "snappy"):
        body = decompress(body, content_encoding, max_bytes)
    return _decode_protobuf(decompress(body, "snappy", max_bytes), ctx, max_records)


def _decode_protobuf(data: bytes, ctx: SourceContext, max_records: int) -> Decoded:
    try:
        request = PushRequest.FromString(data)
    except DecodeError as exc:
        raise PayloadError(f"protobuf: cannot parse PushRequest ({exc})") from exc
    records: list[Record] = []
    errors: list[str] = []
    for number, stream in enumerate(request.streams, start=1):
        text = stream.labels.decode("utf-8", "replace")
        error: str | None = None
        try:
            labels = parse_labels(text)
        except ValueError as exc:
            errors.append(f"stream {number}: labels {text!r} do not parse ({exc})")
            error = f"{SOURCE}: stream labels do not parse ({exc})"
            labels = {"labels": text}
        for entry in stream.entries:
            check_record_count(len(records) + 1, max_records)
            stamp = entry.timestamp
            ts = stamp.seconds * _NS + stamp.nanos if stamp.seconds or stamp.nanos else None
            if ts is not None and not 0 <= ts <= _MAX_NS:
                ts = None  # no time the store can hold: timed when received, as without one
            metadata = {
                pair.name.decode("utf-8", "replace"): pair.value.decode("utf-8", "replace")
                for pair in entry.structuredMetadata
            }
            line = entry.line.decode("utf-8", "replace")
            records.append(_entry_record(ctx, labels, ts, line, metadata, error))
    return Decoded(records, errors)


def _decode_json(data: bytes, ctx: SourceContext, max_records: int) -> Decoded:
    try:
        push = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"json: body is not JSON ({json_error_reason(exc)} at char {exc.pos})") from exc
    streams = push.get("streams") if type(push) is dict else None
    if type(streams) is not list:
        raise PayloadError('json: expected {"streams": [{"stream": {…}, "values": [[…]]}]}')
    records: list[Record] = []
    errors: list[str] = []
    for number, stream in enumerate(streams, start=1):
        where = f"stream {number}"
        if type(stream) is not dict:
            errors.append(f"{where}: not an object")
            records.append(_unreadable(ctx, stream, f"{SOURCE}: stream is not an object"))
            continue
        labels, label_error = _json_labels(stream.get("stream"))
        if label_error is not None:
            errors.append(f"{where}: {label_error}")
        values = stream.get("values")
        if type(values) is not list:
            errors.append(f'{where}: "values" is not an array')
            records.append(_unreadable(ctx, stream, f'{SOURCE}: "values" is not an array'))
            continue
        for index, value in enumerate(values, start=1):
            check_record_count(len(records) + 1, max_records)
            record, problem = _json_entry(ctx, labels, value)
            if problem is not None:
                errors.append(f"{where} value {index}: {problem}")
                record.parse_error = f"{SOURCE}: {problem}"
            elif label_error is not None:
                record.parse_error = f"{SOURCE}: {label_error}"
            records.append(record)
    return Decoded(records, errors)


def _json_labels(value: Any) -> tuple[dict[str, str], str | None]:
    """A stream's label object; values that are not strings are kept as their JSON text."""
    if value is None:
        return {}, None
    if type(value) is not dict:
        return {}, '"stream" is not an object of labels'
    return {str(key): v if type(v) is str else dumps_any(v).decode() for key, v in value.items()}, None


def _json_ts(value: Any) -> int | None:
    """A Loki timestamp: nanoseconds as a decimal string (Loki's form) or, leniently, a JSON integer."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if type(value) is int and 0 <= value <= _MAX_NS:
        return value
    return None


def _json_entry(ctx: SourceContext, labels: dict[str, str], value: Any) -> tuple[Record, str | None]:
    """The record of one `[ts, line]` or `[ts, line, {metadata}]` value, and what was wrong with it."""
    if type(value) is not list or len(value) not in (2, 3):
        return _unreadable(ctx, value, ""), 'expected ["<ns>", "<line>"] or ["<ns>", "<line>", {…}]'
    stamp, line, *rest = value
    problem: str | None = None
    metadata: dict[str, str] = {}
    if rest:
        extra = rest[0]
        if type(extra) is dict:
            metadata = {str(k): v if type(v) is str else dumps_any(v).decode() for k, v in extra.items()}
        else:
            problem = "structured metadata is not an object"
    if type(line) is not str:
        problem = "the line is not a string"
        line = dumps_any(line).decode()
    ts = _json_ts(stamp)
    if ts is None:
        problem = f"timestamp {stamp!r} is not nanoseconds since the epoch"
    return _entry_record(ctx, labels, ts, line, metadata, None), problem


def _unreadable(ctx: SourceContext, value: Any, error: str) -> Record:
    """A JSON item that holds no usable line, kept as its JSON text."""
    raw = dumps_any(value).decode()
    return Record(
        ts=ctx.observed_ns,
        observed_ts=ctx.observed_ns,
        service=ctx.service,
        source=SOURCE,
        message=raw,
        raw=raw,
        level=ctx.levels.classify(raw),
        parse_error=error or None,
    )
