"""OTLP/HTTP logs (`POST /v1/logs`) in protobuf, as the OpenTelemetry SDKs and Collector send them, or in
OTLP's JSON mapping; and the `ExportLogsServiceResponse` the exporters expect back.
"""

from __future__ import annotations

import base64
import bisect
from typing import Any, Final

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from loglens.formats.base import SourceContext, process_id
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.json_text import dumps_any
from loglens.record import Level, Record
from loglens.server.decode.base import (
    DEFAULT_MAX_RECORDS,
    Decoded,
    PayloadError,
    check_record_count,
    json_error_reason,
    request_context,
)

__all__ = ["decode_otlp", "otlp_response"]

SOURCE = "otlp"
_MAX_NS: Final = 2**63 - 1
_LEVEL_STARTS: Final = tuple(sorted(level.value for level in Level))
_LEVELS: Final = tuple(Level(value) for value in _LEVEL_STARTS)
# Hex lengths of trace and span ids: OTLP/JSON writes them as hex, where protobuf's JSON mapping
# expects base64. Base64 of 16 and 8 bytes is 24 and 12 characters, so the lengths tell them apart.
_ID_HEX_LENGTHS: Final = {"traceId": 32, "spanId": 16}


def level_from_severity(number: int) -> Level | None:
    """OTel severity number (1..24) -> the Level whose range it is in; None for 0 (unspecified).

    Level values are the first numbers of OTel's ranges, so this rounds down to a range start
    (WARN2 = 14 -> warning); numbers past 24 are fatal.
    """
    if number < 1:
        return None
    return _LEVELS[bisect.bisect_right(_LEVEL_STARTS, number) - 1]


def _any_value(value: Any) -> Any:
    """An OTLP AnyValue as plain data: scalars as they are, arrays as lists, kvlists as dicts, bytes as
    base64 (OTLP/JSON's own spelling of bytes)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {pair.key: _any_value(pair.value) for pair in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _any_value(pair.value) for pair in pairs}


def _hex_id(raw: bytes) -> str | None:
    """A trace or span id as lower-case hex; all-zero ids (OTel's "none") and empty ones are None."""
    return raw.hex() if raw.strip(b"\x00") else None


def _message(body: Any) -> str:
    """A log body as text: a string as it is, anything structured as compact JSON."""
    value = _any_value(body)
    if value is None:
        return ""
    if type(value) is str:
        return value
    return dumps_any(value).decode()


def decode_otlp(
    body: bytes,
    content_type: str | None,
    received_ns: int,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> Decoded:
    """One record per OTLP LogRecord of a body (already decompressed).

    `application/json` selects the JSON mapping (camelCase keys, 64-bit numbers as strings, trace and
    span ids as hex); anything else is protobuf. Resource attributes, then scope name/version, then
    the log's attributes (later wins) become fields; `service.name` gives the service (else ``otlp``),
    `host.name` the host, `process.pid` the pid. The severity number picks the level (rounded down to
    a range start), else the severity text, else the message's words. A structured body becomes JSON
    text. The time is `timeUnixNano`, else `observedTimeUnixNano`, else `received_ns`.

    Raises:
        PayloadError: the body does not parse as an ExportLogsServiceRequest.
        PayloadTooLarge: more than `max_records` log records.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    request = _parse_json(body) if media == "application/json" else _parse_protobuf(body)
    ctx = request_context(SOURCE, SOURCE, None, received_ns, levels)
    records: list[Record] = []
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        service = resource.get("service.name")
        host = resource.get("host.name")
        pid = resource.get("process.pid")
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_fields = {"scope.name": scope.name} if scope.name else {}
            if scope.version:
                scope_fields["scope.version"] = scope.version
            for log in scope_logs.log_records:
                check_record_count(len(records) + 1, max_records)
                fields = {**resource, **scope_fields, **_attributes(log.attributes)}
                if log.event_name:
                    fields["event.name"] = log.event_name
                records.append(
                    _record(
                        log,
                        ctx,
                        fields,
                        service if type(service) is str and service else SOURCE,
                        host if type(host) is str and host else None,
                        process_id(pid) if type(pid) is int else None,
                    )
                )
    return Decoded(records, [])


def _record(
    log: Any, ctx: SourceContext, fields: dict[str, Any], service: str, host: str | None, pid: int | None
) -> Record:
    message = _message(log.body)
    level = level_from_severity(log.severity_number)
    if level is None and log.severity_text:
        level = level_from_name(log.severity_text)
    # uint64 on the wire; the store's times are int64, so a time past 2262 counts as none.
    stamps = (log.time_unix_nano, log.observed_time_unix_nano)
    ts = next((stamp for stamp in stamps if 0 < stamp <= _MAX_NS), ctx.observed_ns)
    return Record(
        ts=ts,
        observed_ts=ctx.observed_ns,
        service=service,
        source=SOURCE,
        message=message,
        raw=message,
        level=ctx.levels.classify(message) if level is None else level,
        host=host,
        pid=pid,
        fields=fields or None,
        trace_id=_hex_id(log.trace_id),
        span_id=_hex_id(log.span_id),
    )


def _parse_protobuf(body: bytes) -> Any:
    try:
        return ExportLogsServiceRequest.FromString(body)
    except DecodeError as exc:
        raise PayloadError(f"protobuf: cannot parse ExportLogsServiceRequest ({exc})") from exc


def _parse_json(body: bytes) -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"json: body is not JSON ({json_error_reason(exc)} at char {exc.pos})") from exc
    if type(data) is not dict:
        raise PayloadError('json: expected an object {"resourceLogs": [...]}')
    _ids_to_base64(data)
    request = ExportLogsServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise PayloadError(f"json: not an ExportLogsServiceRequest ({exc})") from exc
    return request


def _ids_to_base64(data: dict[str, Any]) -> None:
    """Rewrites OTLP/JSON's hex trace and span ids into the base64 protobuf's JSON parser reads.

    Ids already in base64 (as `json_format.MessageToJson` writes them) are left alone.
    """
    for resource_logs in _objects(data, "resourceLogs", "resource_logs"):
        for scope_logs in _objects(resource_logs, "scopeLogs", "scope_logs"):
            for log in _objects(scope_logs, "logRecords", "log_records"):
                for key, length in _ID_HEX_LENGTHS.items():
                    for name in (key, _snake(key)):
                        value = log.get(name)
                        if type(value) is str and len(value) == length:
                            try:
                                raw = bytes.fromhex(value)
                            except ValueError:
                                continue
                            log[name] = base64.b64encode(raw).decode("ascii")


def _objects(parent: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    """The objects of the array under the first of `keys` present (malformed shapes yield none: the
    protobuf parser then reports them)."""
    for key in keys:
        items = parent.get(key)
        if type(items) is list:
            return [item for item in items if type(item) is dict]
    return []


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def otlp_response(decoded: Decoded, as_json: bool = False) -> bytes:
    """The ExportLogsServiceResponse body: empty (full success), or a partial success that counts the
    items with errors and quotes the first few, serialized as protobuf or, with `as_json`, JSON."""
    response = ExportLogsServiceResponse()
    if decoded.errors:
        response.partial_success.rejected_log_records = len(decoded.errors)
        response.partial_success.error_message = "; ".join(decoded.errors[:5])
    if as_json:
        text: str = json_format.MessageToJson(response, indent=None)
        return text.encode()
    data: bytes = response.SerializeToString()
    return data
