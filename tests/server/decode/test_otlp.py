"""Tests for the OTLP/HTTP logs decoder (protobuf and JSON) and its ExportLogsServiceResponse."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from loglens.record import Level
from loglens.server.decode.base import Decoded, PayloadError, PayloadTooLarge
from loglens.server.decode.otlp import decode_otlp, level_from_severity, otlp_response

RECEIVED = 1_795_305_600_000_000_000
TS = 1_795_219_237_165_432_101
TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
SPAN = bytes.fromhex("00f067aa0ba902b7")
PROTOBUF = "application/x-protobuf"


def kv(key: str, value: AnyValue) -> KeyValue:
    """One attribute."""
    return KeyValue(key=key, value=value)


def text(value: str) -> AnyValue:
    """A string AnyValue."""
    return AnyValue(string_value=value)


def request(
    *logs: LogRecord, resource: list[KeyValue] | None = None, scope: str = ""
) -> ExportLogsServiceRequest:
    """An export request with one resource and one scope holding `logs`."""
    attributes = resource if resource is not None else [kv("service.name", text("checkout"))]
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=attributes),
                scope_logs=[
                    ScopeLogs(scope=InstrumentationScope(name=scope, version="1.2"), log_records=logs)
                ],
            )
        ]
    )


def full_log() -> LogRecord:
    """A log record with every field loglens maps set."""
    nested = KeyValueList(
        values=[
            kv(
                "list",
                AnyValue(
                    array_value=ArrayValue(values=[AnyValue(bool_value=True), AnyValue(double_value=1.5)])
                ),
            ),
            kv("raw", AnyValue(bytes_value=b"\x00\x01")),
        ]
    )
    return LogRecord(
        time_unix_nano=TS,
        observed_time_unix_nano=TS + 1000,
        severity_number=SeverityNumber.SEVERITY_NUMBER_WARN2,
        severity_text="WARN2",
        body=text("slow query"),
        attributes=[kv("db.rows", AnyValue(int_value=12)), kv("ctx", AnyValue(kvlist_value=nested))],
        trace_id=TRACE,
        span_id=SPAN,
        event_name="db.slow",
    )


def resource_attributes() -> list[KeyValue]:
    """Resource attributes with service, host and pid."""
    return [
        kv("service.name", text("checkout")),
        kv("host.name", text("web-1")),
        kv("process.pid", AnyValue(int_value=4242)),
    ]


def hex_ids_json(message: ExportLogsServiceRequest) -> bytes:
    """The OTLP/JSON form: protobuf's JSON mapping with trace and span ids rewritten as hex."""
    data: Any = orjson.loads(json_format.MessageToJson(message))
    for resource_logs in data["resourceLogs"]:
        for scope_logs in resource_logs["scopeLogs"]:
            for log in scope_logs["logRecords"]:
                for key in ("traceId", "spanId"):
                    if key in log:
                        log[key] = base64.b64decode(log[key]).hex()
    return orjson.dumps(data)


class TestLevelFromSeverity:
    @pytest.mark.parametrize(
        ("number", "level"),
        [
            (0, None),
            (1, Level.TRACE),
            (4, Level.TRACE),
            (5, Level.DEBUG),
            (9, Level.INFO),
            (10, Level.NOTICE),
            (12, Level.NOTICE),
            (13, Level.WARNING),
            (16, Level.WARNING),
            (17, Level.ERROR),
            (20, Level.ERROR),
            (21, Level.CRITICAL),
            (23, Level.CRITICAL),
            (24, Level.FATAL),
            (30, Level.FATAL),
        ],
    )
    def test_rounds_down_to_a_level(self, number: int, level: Level | None) -> None:
        """Every severity number maps to the Level at or below it; 0 is unspecified."""
        assert level_from_severity(number) is level


class TestDecodeOtlpProtobuf:
    def test_every_field_mapped(self) -> None:
        """Time, level, body, service, host, pid, hex ids and flattened attributes all land."""
        body = request(full_log(), resource=resource_attributes(), scope="app.db").SerializeToString()
        decoded = decode_otlp(body, PROTOBUF, RECEIVED)
        (record,) = decoded.records
        assert decoded.errors == []
        assert (record.ts, record.observed_ts) == (TS, RECEIVED)
        assert (record.service, record.source, record.host, record.pid) == ("checkout", "otlp", "web-1", 4242)
        assert (record.message, record.raw, record.level) == ("slow query", "slow query", Level.WARNING)
        assert (record.trace_id, record.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        assert record.fields == {
            "service.name": "checkout",
            "host.name": "web-1",
            "process.pid": 4242,
            "scope.name": "app.db",
            "scope.version": "1.2",
            "db.rows": 12,
            "ctx": {"list": [True, 1.5], "raw": "AAE="},
            "event.name": "db.slow",
        }
        assert record.parse_error is None

    def test_fallbacks(self) -> None:
        """No time: observed time, else received; no number: severity text, else words; no service: otlp."""
        logs = (
            LogRecord(observed_time_unix_nano=TS, severity_text="ERROR", body=text("a")),
            LogRecord(body=text("disk failure")),
            LogRecord(severity_text="bogus", body=text("fine")),
        )
        first, second, third = decode_otlp(
            request(*logs, resource=[]).SerializeToString(), None, RECEIVED
        ).records
        assert (first.ts, first.level, first.service, first.host) == (TS, Level.ERROR, "otlp", None)
        assert (second.ts, second.level) == (RECEIVED, Level.ERROR)
        assert third.level is Level.INFO
        assert (first.trace_id, first.span_id, first.fields) == (None, None, {"scope.version": "1.2"})

    def test_structured_and_empty_bodies(self) -> None:
        """A map body is compact JSON text; an absent body is an empty message."""
        body = AnyValue(
            kvlist_value=KeyValueList(
                values=[kv("event", text("login")), kv("ok", AnyValue(bool_value=True))]
            )
        )
        logs = (LogRecord(body=body), LogRecord(), LogRecord(body=AnyValue(int_value=7)))
        structured, empty, number = decode_otlp(
            request(*logs).SerializeToString(), PROTOBUF, RECEIVED
        ).records
        assert (structured.message, structured.raw) == (
            '{"event":"login","ok":true}',
            '{"event":"login","ok":true}',
        )
        assert empty.message == ""
        assert number.message == "7"

    def test_log_attributes_win_over_resource(self) -> None:
        """A log attribute with a resource attribute's name wins in fields."""
        log = LogRecord(body=text("x"), attributes=[kv("env", text("log"))])
        (record,) = decode_otlp(
            request(log, resource=[kv("env", text("resource"))]).SerializeToString(), PROTOBUF, RECEIVED
        ).records
        assert record.fields == {"env": "log", "scope.version": "1.2"}

    def test_all_zero_ids_are_none(self) -> None:
        """All-zero trace and span ids mean "no id" in OTel and are not stored."""
        log = LogRecord(body=text("x"), trace_id=bytes(16), span_id=bytes(8))
        (record,) = decode_otlp(request(log).SerializeToString(), PROTOBUF, RECEIVED).records
        assert (record.trace_id, record.span_id) == (None, None)

    def test_several_resources_and_scopes(self) -> None:
        """Each record gets its own resource's service."""
        message = ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(
                    resource=Resource(attributes=[kv("service.name", text(name))]),
                    scope_logs=[
                        ScopeLogs(log_records=[LogRecord(body=text(name + str(n)))]) for n in range(2)
                    ],
                )
                for name in ("a", "b")
            ]
        )
        records = decode_otlp(message.SerializeToString(), PROTOBUF, RECEIVED).records
        assert [(r.service, r.message) for r in records] == [
            ("a", "a0"),
            ("a", "a1"),
            ("b", "b0"),
            ("b", "b1"),
        ]

    def test_not_protobuf(self) -> None:
        """Bytes that are no ExportLogsServiceRequest are a payload error naming the message."""
        with pytest.raises(PayloadError, match=r"^protobuf: cannot parse ExportLogsServiceRequest"):
            decode_otlp(b"\x0a\xff\xff\xff\xff\x0f", PROTOBUF, RECEIVED)

    def test_max_records(self) -> None:
        """More log records than max_records raise PayloadTooLarge."""
        body = request(*(LogRecord(body=text(str(n))) for n in range(3))).SerializeToString()
        assert len(decode_otlp(body, PROTOBUF, RECEIVED, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge):
            decode_otlp(body, PROTOBUF, RECEIVED, max_records=2)


class TestDecodeOtlpJson:
    def test_otlp_json_with_hex_ids(self) -> None:
        """The OTLP/JSON form (hex ids, string nanos) decodes exactly like the protobuf one."""
        message = request(full_log(), resource=resource_attributes(), scope="app.db")
        from_json = decode_otlp(hex_ids_json(message), "application/json", RECEIVED).records
        from_proto = decode_otlp(message.SerializeToString(), PROTOBUF, RECEIVED).records
        assert from_json == from_proto
        assert from_json[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert from_json[0].ts == TS

    def test_protobuf_json_mapping_with_base64_ids(self) -> None:
        """JSON as protobuf's own mapping writes it (base64 ids) is read too."""
        message = request(full_log())
        body = json_format.MessageToJson(message).encode()
        (record,) = decode_otlp(body, "application/json", RECEIVED).records
        assert (record.trace_id, record.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")

    def test_hand_written_json(self) -> None:
        """A collector-style body (camelCase keys, a severity number, an unknown key) is read."""
        body = orjson.dumps(
            {
                "resourceLogs": [
                    {
                        "resource": {
                            "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                        },
                        "scopeLogs": [
                            {
                                "logRecords": [
                                    {
                                        "timeUnixNano": str(TS),
                                        "severityNumber": 17,
                                        "body": {"stringValue": "boom"},
                                        "traceId": TRACE.hex(),
                                        "spanId": SPAN.hex(),
                                        "unknownField": 1,
                                    }
                                ]
                            }
                        ],
                    }
                ]
            }
        )
        (record,) = decode_otlp(body, "application/json", RECEIVED).records
        assert (record.ts, record.level, record.service, record.message) == (TS, Level.ERROR, "api", "boom")
        assert record.span_id == "00f067aa0ba902b7"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"{oops", r"^json: body is not JSON \("),
            (b"[]", r"^json: expected an object"),
            (b'{"resourceLogs": 5}', r"^json: not an ExportLogsServiceRequest \("),
        ],
    )
    def test_unreadable_json(self, body: bytes, message: str) -> None:
        """A JSON body that is not an export request is a payload error saying why."""
        with pytest.raises(PayloadError, match=message):
            decode_otlp(body, "application/json", RECEIVED)


class TestOtlpResponse:
    def test_full_success_is_empty(self) -> None:
        """No errors: an empty protobuf response and `{}` in JSON."""
        assert otlp_response(Decoded([], [])) == b""
        assert otlp_response(Decoded([], []), as_json=True) == b"{}"

    def test_partial_success(self) -> None:
        """Errors are counted as rejected, with the first few quoted, in both encodings."""
        decoded = Decoded([], [f"item {n}: bad" for n in range(7)])
        response = ExportLogsServiceResponse.FromString(otlp_response(decoded))
        assert response.partial_success.rejected_log_records == 7
        assert response.partial_success.error_message == "; ".join(f"item {n}: bad" for n in range(5))
        as_json = orjson.loads(otlp_response(decoded, as_json=True))
        assert as_json["partialSuccess"]["rejectedLogRecords"] == "7"
