"""Tests for the Splunk HEC decoders (event and raw endpoints) and HEC's reply shapes."""

from __future__ import annotations

import orjson
import pytest

from loglens.record import Level
from loglens.server.decode.base import PayloadError, PayloadTooLarge
from loglens.server.decode.splunk import (
    HecDecoded,
    NoData,
    decode_hec_event,
    decode_hec_raw,
    hec_error_response,
    hec_response,
)

RECEIVED = 1_795_305_600_000_000_000
EPOCH_S = 1_795_305_600.25


def envelope(**keys: object) -> bytes:
    """One HEC envelope as compact JSON."""
    return orjson.dumps(keys)


class TestDecodeHecEvent:
    def test_string_event_with_metadata(self) -> None:
        """A string event is the message; time, host, index, source, sourcetype and fields are mapped."""
        body = envelope(
            event="disk full on /var",
            time=EPOCH_S,
            host="db-1",
            source="/var/log/app.log",
            sourcetype="app:log",
            index="main",
            fields={"service": "storage", "level": "crit", "region": "eu"},
        )
        decoded = decode_hec_event(body, RECEIVED)
        (record,) = decoded.records
        assert (decoded.errors, decoded.invalid_event) == ([], None)
        assert (record.ts, record.observed_ts) == (1_795_305_600_250_000_000, RECEIVED)
        assert (record.message, record.raw, record.source) == (
            "disk full on /var",
            "disk full on /var",
            "hec",
        )
        assert (record.host, record.service, record.level) == ("db-1", "storage", Level.CRITICAL)
        assert record.fields == {
            "index": "main",
            "source": "/var/log/app.log",
            "sourcetype": "app:log",
            "service": "storage",
            "level": "crit",
            "region": "eu",
        }

    def test_object_event_read_by_conventions(self) -> None:
        """An object event is mapped like a JSON log; the envelope's time and host win over its own."""
        event = {
            "msg": "login ok",
            "level": "debug",
            "ts": "2020-01-01T00:00:00Z",
            "host": "own",
            "user": "u1",
        }
        body = envelope(event=event, time="1795305601", host="envelope-host", index="sec")
        (record,) = decode_hec_event(body, RECEIVED).records
        assert (record.ts, record.host, record.message, record.level) == (
            1_795_305_601_000_000_000,
            "envelope-host",
            "login ok",
            Level.DEBUG,
        )
        assert record.raw == orjson.dumps(event).decode()
        assert record.fields == {"user": "u1", "ts": "2020-01-01T00:00:00Z", "host": "own", "index": "sec"}

    def test_object_event_without_time_or_level(self) -> None:
        """An object event with no envelope time keeps its own; indexed level and service fill gaps."""
        event = {"message": "x", "timestamp": "2026-11-21T00:00:37.165Z"}
        body = envelope(event=event, fields={"severity": "error", "service.name": "api"})
        (record,) = decode_hec_event(body, RECEIVED).records
        assert (record.ts, record.level, record.service) == (1_795_219_237_165_000_000, Level.ERROR, "api")

    def test_event_own_level_and_service_beat_indexed_fields(self) -> None:
        """The event's own level and service win over the envelope's indexed fields."""
        event = {"msg": "x", "level": "warn", "service": "own"}
        body = envelope(event=event, fields={"level": "error", "service": "indexed"})
        (record,) = decode_hec_event(body, RECEIVED).records
        assert (record.level, record.service) == (Level.WARNING, "own")

    def test_concatenated_envelopes_with_and_without_whitespace(self) -> None:
        """Envelopes may follow each other directly or with any whitespace between them."""
        body = envelope(event="a") + envelope(event="b") + b"\n\n  " + envelope(event="c") + b"\r\n"
        decoded = decode_hec_event(body, RECEIVED)
        assert [(r.message, r.ts, r.service, r.host) for r in decoded.records] == [
            ("a", RECEIVED, "hec", None),
            ("b", RECEIVED, "hec", None),
            ("c", RECEIVED, "hec", None),
        ]

    def test_invalid_events_are_kept_and_the_first_is_reported(self) -> None:
        """Events without a usable `event` are errors kept raw; the first sets the HEC code and number."""
        body = b" ".join(
            [
                envelope(event="ok"),
                envelope(time=1),
                envelope(event=""),
                b"[1]",
                envelope(event={"msg": "ok2"}),
            ]
        )
        decoded = decode_hec_event(body, RECEIVED)
        assert [r.message for r in decoded.records] == ["ok", '{"time":1}', '{"event":""}', "[1]", "ok2"]
        assert decoded.errors == [
            'event 1: no "event" field',
            'event 2: the "event" field is blank',
            "event 3: not a JSON object",
        ]
        assert (decoded.invalid_event, decoded.invalid_code) == (1, 12)
        assert decoded.records[1].parse_error == 'hec: no "event" field'
        assert [r.parse_error for r in (decoded.records[0], decoded.records[4])] == [None, None]

    def test_broken_json_keeps_the_rest_raw(self) -> None:
        """Text that stops being JSON becomes one last raw record; what came before is taken."""
        body = envelope(event="before") + b' {"event": "cut\n{"event":"after"}'
        decoded = decode_hec_event(body, RECEIVED)
        before, rest = decoded.records
        assert before.message == "before"
        assert rest.raw == '{"event": "cut\n{"event":"after"}'
        assert rest.parse_error is not None and rest.parse_error.startswith("hec: not JSON (")
        assert (decoded.invalid_event, decoded.invalid_code) == (1, 6)

    def test_empty_body_is_no_data(self) -> None:
        """A body with nothing but whitespace raises NoData."""
        with pytest.raises(NoData, match=r"^No data"):
            decode_hec_event(b" \n ", RECEIVED)

    def test_max_records(self) -> None:
        """Events beyond max_records raise PayloadTooLarge."""
        body = envelope(event="a") * 3
        assert len(decode_hec_event(body, RECEIVED, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge):
            decode_hec_event(body, RECEIVED, max_records=2)


class TestDecodeHecRaw:
    def test_lines_with_query_metadata(self) -> None:
        """Each line is a record at received_ns with host and metadata from the query arguments."""
        params = {"host": "edge-1", "sourcetype": "nginx", "index": "web", "channel": "c-1", "token": "x"}
        decoded = decode_hec_raw(b"GET / 200\nupstream error 502\n\n", RECEIVED, params)
        first, second = decoded.records
        assert (first.message, first.raw, first.ts, first.host, first.service, first.source) == (
            "GET / 200",
            "GET / 200",
            RECEIVED,
            "edge-1",
            "hec",
            "hec",
        )
        assert first.fields == {"index": "web", "sourcetype": "nginx", "channel": "c-1"}
        assert (first.level, second.level) == (Level.INFO, Level.ERROR)

    def test_no_params(self) -> None:
        """Without query arguments the records have no host and no fields."""
        (record,) = decode_hec_raw(b"plain", RECEIVED).records
        assert (record.host, record.fields) == (None, None)

    def test_empty_and_too_many(self) -> None:
        """An empty raw body is NoData; more lines than max_records is PayloadTooLarge."""
        with pytest.raises(NoData):
            decode_hec_raw(b"\n", RECEIVED)
        with pytest.raises(PayloadTooLarge):
            decode_hec_raw(b"a\nb\nc\n", RECEIVED, max_records=2)


class TestHecResponse:
    def test_success(self) -> None:
        """A body without invalid events answers 200 Success code 0."""
        assert hec_response(HecDecoded([], [])) == (200, {"text": "Success", "code": 0})

    def test_invalid_event(self) -> None:
        """An invalid event answers 400 with its HEC code, text and invalid-event-number."""
        decoded = HecDecoded([], ["x"], invalid_event=3, invalid_code=6)
        assert hec_response(decoded) == (
            400,
            {"text": "Invalid data format", "code": 6, "invalid-event-number": 3},
        )

    def test_errors_for_unreadable_bodies(self) -> None:
        """No data is code 5, a body too large is 413, any other payload error is code 6."""
        assert hec_error_response(NoData("No data")) == (400, {"text": "No data", "code": 5})
        status, body = hec_error_response(PayloadTooLarge("gzip: body decompresses to more than 1 bytes"))
        assert (status, body["text"]) == (413, "gzip: body decompresses to more than 1 bytes")
        assert hec_error_response(PayloadError("gzip: corrupt input")) == (
            400,
            {"text": "Invalid data format", "code": 6},
        )
