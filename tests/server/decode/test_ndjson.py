"""Tests for the NDJSON ingest decoder: conventions, explicit field mapping, bad lines and limits."""

from __future__ import annotations

import orjson
import pytest

from loglens.record import Level
from loglens.server.decode.base import FieldMapping, PayloadTooLarge
from loglens.server.decode.ndjson import decode_ndjson

RECEIVED = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z
STAMP_NS = 1_795_219_237_165_000_000  # 2026-11-21T00:00:37.165Z


def lines(*objects: object) -> bytes:
    """An NDJSON body of the given values, one per line, newline-terminated."""
    return b"".join(orjson.dumps(obj) + b"\n" for obj in objects)


class TestDecodeNdjson:
    def test_conventional_keys_are_mapped(self) -> None:
        """ts, level, msg, service, host, pid and trace ids land in their Record attributes."""
        event = {
            "ts": "2026-11-21T00:00:37.165Z",
            "level": "warn",
            "msg": "slow request",
            "service": "api",
            "host": "web-1",
            "pid": 42,
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "00f067aa0ba902b7",
            "route": "/cart",
        }
        decoded = decode_ndjson(lines(event), FieldMapping(), RECEIVED, "peer")
        (record,) = decoded.records
        assert decoded.errors == []
        assert record.ts == STAMP_NS
        assert record.observed_ts == RECEIVED
        assert (record.service, record.source, record.message) == ("api", "ndjson", "slow request")
        assert record.raw == orjson.dumps(event).decode()
        assert (record.level, record.host, record.pid) == (Level.WARNING, "web-1", 42)
        assert (record.trace_id, record.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        assert record.fields == {"route": "/cart"}
        assert record.parse_error is None

    def test_defaults_when_the_event_names_nothing(self) -> None:
        """Without time, service or host, the record gets received_ns, the default service and host."""
        decoded = decode_ndjson(
            lines({"msg": "hi"}), FieldMapping(default_service="shop"), RECEIVED, "10.0.0.9"
        )
        (record,) = decoded.records
        assert (record.ts, record.service, record.host) == (RECEIVED, "shop", "10.0.0.9")

    def test_explicit_fields_win_and_auto_keys_stay_as_fields(self) -> None:
        """Named message/time/service keys (dotted paths allowed) win; the event's own msg stays data."""
        event = {
            "log": {"text": "payment failed"},
            "when": 1_795_305_600_123,
            "msg": "envelope",
            "ts": "2020-01-01T00:00:00Z",
            "svc": "billing",
            "service": "proxy",
            "k": 1,
        }
        mapping = FieldMapping(message_field="log.text", time_field="when", service_field="svc")
        (record,) = decode_ndjson(lines(event), mapping, RECEIVED).records
        assert record.message == "payment failed"
        assert record.ts == 1_795_305_600_123_000_000
        assert record.service == "billing"
        assert record.level is Level.ERROR
        assert record.fields == {
            "k": 1,
            "msg": "envelope",
            "ts": "2020-01-01T00:00:00Z",
            "service": "proxy",
        }

    def test_explicit_fields_missing_fall_back_to_conventions(self) -> None:
        """An event without the named keys is read by the conventions, as if nothing was named."""
        mapping = FieldMapping(message_field="text", time_field="when", service_field="svc")
        event = {"msg": "plain", "ts": "2026-11-21T00:00:37.165Z", "service": "api"}
        (record,) = decode_ndjson(lines(event), mapping, RECEIVED).records
        assert (record.message, record.ts, record.service) == ("plain", STAMP_NS, "api")

    def test_level_is_classified_from_the_mapped_message(self) -> None:
        """Without a level key, the mapped message's words decide, not the rest of the raw line."""
        mapping = FieldMapping(message_field="text")
        event = {"text": "all good", "note": "error budget fine"}
        (record,) = decode_ndjson(lines(event), mapping, RECEIVED).records
        assert record.level is Level.INFO

    def test_unparseable_explicit_time_is_kept_as_a_field(self) -> None:
        """A named time key that holds no time leaves the record at received_ns and stays in fields."""
        mapping = FieldMapping(time_field="when")
        (record,) = decode_ndjson(lines({"msg": "m", "when": "soon"}), mapping, RECEIVED).records
        assert record.ts == RECEIVED
        assert record.fields == {"when": "soon"}

    def test_structured_explicit_message_becomes_json(self) -> None:
        """A named message key holding an object gives the object's compact JSON as the message."""
        mapping = FieldMapping(message_field="payload")
        (record,) = decode_ndjson(lines({"payload": {"a": 1}}), mapping, RECEIVED).records
        assert record.message == '{"a":1}'

    def test_extra_fields_are_added_and_win(self) -> None:
        """Static extra fields reach every record, good or bad, over the event's own keys."""
        mapping = FieldMapping(extra_fields={"env": "prod", "k": "static"})
        body = lines({"msg": "a", "k": "own", "x": 1}) + b"oops\n"
        good, bad = decode_ndjson(body, mapping, RECEIVED).records
        assert good.fields == {"k": "static", "x": 1, "env": "prod"}
        assert bad.fields == {"env": "prod", "k": "static"}

    def test_bad_lines_are_errors_kept_raw_in_order(self) -> None:
        """Invalid JSON and non-objects are per-line errors, stored raw in place; the rest is taken."""
        body = (
            lines({"msg": "first"})
            + b"not json at all\n"
            + b"\n"
            + b"[1, 2]\n"
            + b'"just a string"\n'
            + lines({"msg": "last"})
        )
        decoded = decode_ndjson(body, FieldMapping(), RECEIVED, "peer")
        assert [r.message for r in decoded.records] == [
            "first",
            "not json at all",
            "[1, 2]",
            '"just a string"',
            "last",
        ]
        assert decoded.errors == [
            "line 2: not JSON (invalid literal, expected 'null')",
            "line 4: not an object (got array)",
            "line 5: not an object (got string)",
        ]
        bad = decoded.records[1]
        assert bad.parse_error == "ndjson: not JSON (invalid literal, expected 'null')"
        assert (bad.raw, bad.ts, bad.service, bad.host) == ("not json at all", RECEIVED, "ndjson", "peer")
        assert decoded.records[2].parse_error == "ndjson: not an object (got array)"
        assert [r.parse_error for r in (decoded.records[0], decoded.records[4])] == [None, None]

    def test_invalid_utf8_line_is_kept_with_replacement(self) -> None:
        """A line that is not UTF-8 is an error and is kept with replacement characters."""
        decoded = decode_ndjson(b'{"msg": "caf\xe9"}\n', FieldMapping(), RECEIVED)
        (record,) = decoded.records
        assert decoded.errors[0].startswith("line 1: not JSON (str is not valid UTF-8")
        assert record.raw == '{"msg": "caf\ufffd"}'

    def test_crlf_and_no_final_newline(self) -> None:
        """CRLF line ends are dropped and a last line without newline counts."""
        decoded = decode_ndjson(b'{"msg":"a"}\r\n{"msg":"b"}', FieldMapping(), RECEIVED)
        assert [r.message for r in decoded.records] == ["a", "b"]
        assert decoded.records[0].raw == '{"msg":"a"}'

    def test_max_records(self) -> None:
        """Up to max_records lines are fine; one more raises PayloadTooLarge."""
        body = lines(*({"msg": str(n)} for n in range(3)))
        assert len(decode_ndjson(body, FieldMapping(), RECEIVED, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge, match="more than 2 log records"):
            decode_ndjson(body, FieldMapping(), RECEIVED, max_records=2)
