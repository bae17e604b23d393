"""Request bodies for every push protocol, as Hypothesis strategies: well-shaped ones with hostile
values, mutated ones, and plain garbage, optionally compressed the way shippers send them."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from typing import Any

import cramjam
import orjson
from google.protobuf import json_format
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from fuzz.fuzzing import ROLE_KEYS, digit_runs, json_objects, json_text, json_values, log_text, mutated
from loglens.server.decode.logproto import EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter

__all__ = [
    "Push",
    "datadog_bodies",
    "encoded",
    "es_bulk_bodies",
    "hec_event_bodies",
    "labels_texts",
    "loki_json_bodies",
    "loki_proto_bodies",
    "mutated_bytes",
    "ndjson_bodies",
    "otlp_json_bodies",
    "otlp_proto_bodies",
    "raw_bodies",
]

# Bytes that JSON, protobuf and compression decoders each treat specially.
BYTE_FRAGMENTS: tuple[bytes, ...] = (
    b'"\\ud800"', b"\\udc00", b'"\\u0000"', b"NaN", b"Infinity", b"-Infinity", b"1e999",
    b"123456789012345678901234567890", b"7" * 4400, b"18446744073709551616", b"-9223372036854775809",
    b"[" * 300, b"{" * 5, b"]" * 5, b"}", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\r\n", b"\n\n",
    b",", b":", b'"', b"\\", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x08\x96\x01", b"\x0a\xff\xff\xff\xff\x0f",
)  # fmt: skip

_ROLE_KEYS = st.sampled_from(ROLE_KEYS)
_SMALL_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
_LINES = st.one_of(mutated(newlines=False), log_text(max_pieces=8, newlines=False))


@st.composite
def mutated_bytes(draw: st.DrawFn, body: bytes) -> bytes:
    """`body` with a few byte-level edits: flips, cuts, insertions of decoder-relevant fragments."""
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("flip", "delete", "insert", "cut", "repeat")))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(BYTE_FRAGMENTS) | st.binary(max_size=4))
        elif op == "cut":
            del data[at:]
        elif op == "repeat":
            data[at:at] = bytes(data[at : at + draw(st.integers(1, 32))]) * draw(st.integers(2, 20))
    return bytes(data)


def _with_garbage(shaped: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Well-shaped bodies, the same mutated, and arbitrary bytes."""
    return st.one_of(
        shaped,
        shaped.flatmap(mutated_bytes),
        st.binary(max_size=200),
        st.lists(st.sampled_from(BYTE_FRAGMENTS)).map(b"".join),
    )


def _lines_body(lines: list[bytes], separator: bytes) -> bytes:
    return separator.join(lines)


ndjson_lines = st.one_of(
    json_objects.map(lambda value: json_text(value).encode()),
    json_values.map(lambda value: json_text(value).encode()),
    _LINES.map(str.encode),
)
ndjson_bodies = _with_garbage(
    st.builds(_lines_body, st.lists(ndjson_lines, max_size=6), st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
)
"""Bodies of `POST /ingest` sent as JSON lines."""

raw_bodies = _with_garbage(
    st.builds(
        _lines_body,
        st.lists(st.one_of(mutated(), log_text()).map(str.encode), max_size=8),
        st.sampled_from([b"\n", b"\r\n"]),
    )
)
"""Bodies of `POST /ingest` (text) and of Splunk HEC raw."""

labels_texts = st.one_of(
    st.dictionaries(
        st.sampled_from(ROLE_KEYS) | st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6),
        _SMALL_TEXT,
        max_size=4,
    ).map(lambda labels: "{" + ", ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in labels.items()) + "}"),
    st.sampled_from(
        ['{job="api"}', "{}", "{a=`raw`}", '{"service.name"="x"}', '{a="\\ud800"}', '{a="\\U0010ffff"}']
    ),
    log_text(max_pieces=6),
)


def _loki_json(streams: list[tuple[Any, list[Any]]]) -> bytes:
    return json_text(
        {"streams": [{"stream": labels, "values": values} for labels, values in streams]}
    ).encode()


_loki_value = st.one_of(
    st.tuples(
        st.one_of(digit_runs, st.integers(), json_values),
        st.one_of(_LINES, json_values),
    ).map(list),
    st.tuples(digit_runs, _LINES, st.dictionaries(_ROLE_KEYS, json_values)).map(list),
    json_values,
)
loki_json_bodies = _with_garbage(
    st.builds(
        _loki_json,
        st.lists(
            st.tuples(
                st.one_of(st.dictionaries(_ROLE_KEYS, json_values, max_size=4), json_values),
                st.lists(_loki_value, max_size=4),
            ),
            max_size=3,
        ),
    )
)
"""Loki JSON pushes (`Content-Type: application/json`)."""


def _loki_proto(streams: list[tuple[str, list[tuple[int, int, bytes, dict[str, str]]]]]) -> bytes:
    request = PushRequest(
        streams=[
            StreamAdapter(
                labels=labels.encode("utf-8", "surrogatepass"),
                entries=[
                    EntryAdapter(
                        timestamp={"seconds": seconds, "nanos": nanos},
                        line=line,
                        structuredMetadata=[
                            LabelPairAdapter(name=k.encode(), value=v.encode()) for k, v in metadata.items()
                        ],
                    )
                    for seconds, nanos, line, metadata in entries
                ],
            )
            for labels, entries in streams
        ]
    )
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


_int64 = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1_795_219_237, 2**62, 2**63 - 1, -(2**63)])
)
_int32 = st.integers(-(2**31), 2**31 - 1)
loki_proto_bodies = _with_garbage(
    st.builds(
        _loki_proto,
        st.lists(
            st.tuples(
                labels_texts,
                st.lists(
                    st.tuples(
                        _int64,
                        _int32,
                        st.one_of(_LINES.map(str.encode), st.binary(max_size=20)),
                        st.dictionaries(st.sampled_from(ROLE_KEYS), _SMALL_TEXT, max_size=3),
                    ),
                    max_size=4,
                ),
            ),
            max_size=3,
        ),
    )
)
"""Loki protobuf pushes, snappy block-compressed as Promtail sends them."""


def _any_value(value: Any) -> AnyValue:
    if value is None:
        return AnyValue()
    if type(value) is bool:
        return AnyValue(bool_value=value)
    if type(value) is int:
        return AnyValue(int_value=max(-(2**63), min(value, 2**63 - 1)))
    if type(value) is float:
        return AnyValue(double_value=value)
    if type(value) is str:
        return AnyValue(string_value=value)
    if type(value) is bytes:
        return AnyValue(bytes_value=value)
    if type(value) is list:
        return AnyValue(array_value=ArrayValue(values=[_any_value(v) for v in value[:20]]))
    return AnyValue(kvlist_value=KeyValueList(values=_key_values(value)))


def _key_values(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in values.items()]


_attributes = st.dictionaries(
    st.sampled_from((*ROLE_KEYS, "process.pid")), json_values | st.binary(max_size=8), max_size=4
)
_uint64 = st.one_of(
    st.integers(0, 2**64 - 1), st.sampled_from([0, 1_795_219_237_165_432_101, 2**63, 2**64 - 1])
)
_log_records = st.builds(
    lambda time, observed, severity, text, body, attributes, trace, span, event: LogRecord(
        time_unix_nano=time,
        observed_time_unix_nano=observed,
        severity_number=severity,
        severity_text=text,
        body=_any_value(body),
        attributes=_key_values(attributes),
        trace_id=trace,
        span_id=span,
        event_name=event,
    ),
    _uint64,
    _uint64,
    st.integers(-5, 40) | _int32,
    _SMALL_TEXT | st.sampled_from(["ERROR", "warn", "FATAL4"]),
    json_values | st.binary(max_size=8),
    _attributes,
    st.binary(max_size=20),
    st.binary(max_size=10),
    _SMALL_TEXT,
)


def _scope_logs(name: str, version: str, logs: list[LogRecord]) -> ScopeLogs:
    return ScopeLogs(scope=InstrumentationScope(name=name, version=version), log_records=logs)


otlp_requests = st.builds(
    lambda resources: ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=_key_values(attributes)),
                scope_logs=[
                    ScopeLogs(scope=InstrumentationScope(name=name, version=version), log_records=logs)
                ],
            )
            for attributes, name, version, logs in resources
        ]
    ),
    st.lists(
        st.tuples(_attributes, _SMALL_TEXT, _SMALL_TEXT, st.lists(_log_records, max_size=4)), max_size=3
    ),
)
otlp_proto_bodies = _with_garbage(otlp_requests.map(lambda request: bytes(request.SerializeToString())))
"""OTLP/HTTP protobuf export requests."""


def _otlp_json(request: ExportLogsServiceRequest, extra: dict[str, Any] | None) -> bytes:
    data: dict[str, Any] = orjson.loads(json_format.MessageToJson(request))
    if extra:
        for resource in data.get("resourceLogs", []):
            for scope in resource.get("scopeLogs", []):
                for log in scope.get("logRecords", []):
                    log.update(extra)
    return json_text(data).encode()


otlp_json_bodies = _with_garbage(
    st.builds(
        _otlp_json,
        otlp_requests,
        st.none()
        | st.dictionaries(
            st.sampled_from(["traceId", "spanId", "timeUnixNano", "severityNumber", "body", "attributes"]),
            json_values | st.binary(min_size=8, max_size=16).map(bytes.hex),
            max_size=2,
        ),
    )
)
"""OTLP/JSON export requests (hex ids, numbers as strings), with some keys overwritten by junk."""


def _envelope(event: Any, extra: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, **extra}


_hec_envelopes = st.one_of(
    st.builds(
        _envelope,
        st.one_of(_LINES, json_objects, json_values),
        st.dictionaries(
            st.sampled_from(["time", "host", "index", "source", "sourcetype", "fields"]),
            json_values,
            max_size=4,
        ),
    ),
    json_values,
)
hec_event_bodies = _with_garbage(
    st.builds(
        lambda envelopes, gap: gap.join(json_text(envelope).encode() for envelope in envelopes),
        st.lists(_hec_envelopes, max_size=5),
        st.sampled_from([b"", b" ", b"\n", b"\r\n\t"]),
    )
)
"""Splunk HEC event bodies: JSON envelopes one after another."""

_datadog_logs = st.builds(
    lambda base, tags, status: {**base, "ddtags": tags, "status": status},
    json_objects,
    st.one_of(
        _SMALL_TEXT,
        st.sampled_from(["env:prod,service:api,version:1", "service:", ",,:", "a:b:c"]),
        json_values,
    ),
    st.one_of(st.sampled_from(["error", "warn", "info", "emergency"]), json_values),
)
datadog_bodies = _with_garbage(
    st.one_of(
        st.lists(_datadog_logs | json_values, max_size=5).map(lambda logs: json_text(logs).encode()),
        _datadog_logs.map(lambda log: json_text(log).encode()),
    )
)
"""Datadog logs intake bodies: an array of log objects, or one."""

_actions = st.one_of(
    st.builds(
        lambda name, meta: {name: meta},
        st.sampled_from(["index", "create", "update", "delete", "upsert"]),
        st.one_of(
            st.fixed_dictionaries({}, optional={"_index": _SMALL_TEXT | json_values, "_id": json_values}),
            json_values,
        ),
    ),
    json_values,
)
es_bulk_bodies = _with_garbage(
    st.builds(
        lambda pairs: b"".join(
            json_text(a).encode() + b"\n" + json_text(d).encode() + b"\n" for a, d in pairs
        ),
        st.lists(st.tuples(_actions, json_objects | json_values), max_size=5),
    )
)
"""Elasticsearch `_bulk` bodies: action and document lines."""


@dataclass(frozen=True, slots=True)
class Push:
    """A body as sent: its bytes and the Content-Encoding header that goes with them (None: no header)."""

    body: bytes
    encoding: str | None


def _compress(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "snappy":
        return bytes(cramjam.snappy.compress_raw(body))
    if coding == "zstd":
        return bytes(cramjam.zstd.compress(body))
    return body


@st.composite
def encoded(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> Push:
    """A body compressed as its header says, or with a header that lies, or corrupted after compressing."""
    body = draw(bodies)
    coding = draw(
        st.sampled_from(
            [None, "identity", "gzip", "x-gzip", "deflate", "snappy", "zstd", "br", "GZIP ", "gzip, br"]
        )
    )
    honest = draw(st.integers(0, 9))
    if coding is not None and honest < 7:
        body = _compress(body, coding.strip().lower())
    elif coding is not None and honest < 9:
        body = draw(mutated_bytes(_compress(body, coding.strip().lower())))
    return Push(body, coding)
