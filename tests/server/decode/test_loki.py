"""Tests for the Loki push decoder: JSON and snappy protobuf bodies, labels, metadata, bad items."""

from __future__ import annotations

import gzip
from typing import Any

import cramjam
import orjson
import pytest

from loglens.record import Level
from loglens.server.decode.base import PayloadError, PayloadTooLarge
from loglens.server.decode.logproto import EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter
from loglens.server.decode.loki import decode_loki

RECEIVED = 1_795_305_600_000_000_000
TS = 1_795_219_237_165_432_100
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def json_push(*streams: Any) -> bytes:
    """A JSON push body as python-logging-loki sends it."""
    return orjson.dumps({"streams": list(streams)})


def proto_push(*streams: Any) -> bytes:
    """A protobuf push body as Promtail sends it: PushRequest, snappy block-compressed."""
    request = PushRequest(streams=list(streams))
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def entry(line: bytes, ts: int = TS, **metadata: str) -> Any:
    """One protobuf entry with its timestamp split into seconds and nanos."""
    return EntryAdapter(
        timestamp={"seconds": ts // 1_000_000_000, "nanos": ts % 1_000_000_000},
        line=line,
        structuredMetadata=[LabelPairAdapter(name=k.encode(), value=v.encode()) for k, v in metadata.items()],
    )


class TestDecodeLokiJson:
    def test_stream_labels_and_values(self) -> None:
        """Each value becomes a record with its ns time, the stream's labels as fields and mapped roles."""
        body = json_push(
            {
                "stream": {"job": "api", "service_name": "checkout", "level": "error", "host": "web-1"},
                "values": [[str(TS), "payment failed"], [str(TS + 1), "retrying"]],
            }
        )
        decoded = decode_loki(body, JSON, None, RECEIVED)
        first, second = decoded.records
        assert decoded.errors == []
        assert (first.ts, first.observed_ts, second.ts) == (TS, RECEIVED, TS + 1)
        assert (first.service, first.source, first.host, first.level) == (
            "checkout",
            "loki",
            "web-1",
            Level.ERROR,
        )
        assert (first.message, first.raw) == ("payment failed", "payment failed")
        assert first.fields == {"job": "api", "service_name": "checkout", "level": "error", "host": "web-1"}
        assert first.parse_error is None

    def test_structured_metadata_and_its_precedence(self) -> None:
        """Metadata joins the fields, its level beats the stream's, and trace/span ids are taken."""
        metadata = {"level": "debug", "trace_id": "abc123", "span_id": "def4"}
        body = json_push({"stream": {"app": "web", "level": "info"}, "values": [[str(TS), "m", metadata]]})
        (record,) = decode_loki(body, "application/json; charset=utf-8", None, RECEIVED).records
        assert (record.service, record.level) == ("web", Level.DEBUG)
        assert (record.trace_id, record.span_id) == ("abc123", "def4")
        assert record.fields == {"app": "web", "level": "debug", "trace_id": "abc123", "span_id": "def4"}

    def test_service_and_host_label_order(self) -> None:
        """service_name beats service beats app beats job; host beats hostname beats instance."""
        labels = {"job": "j", "app": "a", "service": "s", "instance": "i:9100", "hostname": "hn"}
        (record,) = decode_loki(
            json_push({"stream": labels, "values": [[str(TS), "x"]]}), JSON, None, 1
        ).records
        assert (record.service, record.host) == ("s", "hn")
        labels = {"job": "j", "instance": "i:9100"}
        (record,) = decode_loki(
            json_push({"stream": labels, "values": [[str(TS), "x"]]}), JSON, None, 1
        ).records
        assert (record.service, record.host) == ("j", "i:9100")

    def test_no_labels_gives_defaults_and_word_level(self) -> None:
        """Without labels the service is `loki`, no host, and the level comes from the line's words."""
        (record,) = decode_loki(json_push({"values": [[str(TS), "disk error"]]}), JSON, None, 1).records
        assert (record.service, record.host, record.fields, record.level) == ("loki", None, None, Level.ERROR)

    def test_gzip_json_body(self) -> None:
        """A gzip Content-Encoding is undone before the JSON is read."""
        body = gzip.compress(json_push({"stream": {"job": "x"}, "values": [[str(TS), "zipped"]]}))
        (record,) = decode_loki(body, JSON, "gzip", RECEIVED).records
        assert record.message == "zipped"

    def test_bad_values_are_errors_kept_raw(self) -> None:
        """Bad timestamps, shapes and lines are per-value errors; the rest of the push is taken."""
        body = json_push(
            {
                "stream": {"job": "api"},
                "values": [
                    [str(TS), "good"],
                    ["yesterday", "bad time"],
                    [str(TS)],
                    [str(TS), {"not": "a line"}],
                    [str(TS), "bad meta", "x"],
                ],
            },
            {"stream": {"job": "b"}, "values": "nope"},
            "not a stream",
            {"stream": ["x"], "values": [[str(TS), "labels were bad"]]},
        )
        decoded = decode_loki(body, JSON, None, RECEIVED)
        assert decoded.errors == [
            "stream 1 value 2: timestamp 'yesterday' is not nanoseconds since the epoch",
            'stream 1 value 3: expected ["<ns>", "<line>"] or ["<ns>", "<line>", {…}]',
            "stream 1 value 4: the line is not a string",
            "stream 1 value 5: structured metadata is not an object",
            'stream 2: "values" is not an array',
            "stream 3: not an object",
            'stream 4: "stream" is not an object of labels',
        ]
        messages = [r.message for r in decoded.records]
        assert messages == [
            "good",
            "bad time",
            f'["{TS}"]',
            '{"not":"a line"}',
            "bad meta",
            '{"stream":{"job":"b"},"values":"nope"}',
            '"not a stream"',
            "labels were bad",
        ]
        good, bad_time = decoded.records[:2]
        assert good.parse_error is None
        assert bad_time.ts == RECEIVED
        assert bad_time.parse_error == "loki: timestamp 'yesterday' is not nanoseconds since the epoch"
        assert bad_time.fields == {"job": "api"}
        assert all(r.parse_error for r in decoded.records[1:])

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"{nope", r"^json: body is not JSON \(unexpected character, expected a string key at char 1\)$"),
            (b"[]", r'^json: expected \{"streams"'),
            (b'{"streams": {}}', r'^json: expected \{"streams"'),
        ],
    )
    def test_unreadable_json_body(self, body: bytes, message: str) -> None:
        """A body that is not the JSON push shape is a payload error saying why."""
        with pytest.raises(PayloadError, match=message):
            decode_loki(body, JSON, None, RECEIVED)

    def test_max_records(self) -> None:
        """More entries than max_records in one push raise PayloadTooLarge."""
        body = json_push({"values": [[str(TS), str(n)] for n in range(4)]})
        assert len(decode_loki(body, JSON, None, 1, max_records=4).records) == 4
        with pytest.raises(PayloadTooLarge):
            decode_loki(body, JSON, None, 1, max_records=3)


class TestDecodeLokiProtobuf:
    def test_snappy_protobuf_push(self) -> None:
        """A Promtail push is decoded: labels string parsed, ns time, metadata, roles and fields."""
        body = proto_push(
            StreamAdapter(
                labels=b'{job="varlogs", service_name="checkout", hostname="web-2", detected_level="warn"}',
                entries=[entry(b"slow query", trace_id="t1"), entry(b"second", ts=TS + 5)],
            )
        )
        decoded = decode_loki(body, PROTOBUF, None, RECEIVED)
        first, second = decoded.records
        assert decoded.errors == []
        assert (first.ts, second.ts, first.observed_ts) == (TS, TS + 5, RECEIVED)
        assert (first.service, first.host, first.level, first.source) == (
            "checkout",
            "web-2",
            Level.WARNING,
            "loki",
        )
        assert (first.message, first.raw, first.trace_id) == ("slow query", "slow query", "t1")
        assert first.fields == {
            "job": "varlogs",
            "service_name": "checkout",
            "hostname": "web-2",
            "detected_level": "warn",
            "trace_id": "t1",
        }
        assert second.fields == {
            "job": "varlogs",
            "service_name": "checkout",
            "hostname": "web-2",
            "detected_level": "warn",
        }

    def test_no_content_type_means_protobuf(self) -> None:
        """As in Loki, a push without Content-Type is snappy protobuf."""
        body = proto_push(StreamAdapter(labels=b"{}", entries=[entry(b"x")]))
        assert [r.message for r in decode_loki(body, None, None, RECEIVED).records] == ["x"]

    def test_snappy_content_encoding_is_the_format_itself(self) -> None:
        """`Content-Encoding: snappy` on protobuf is not undone twice."""
        body = proto_push(StreamAdapter(labels=b"{}", entries=[entry(b"once")]))
        assert [r.message for r in decode_loki(body, PROTOBUF, "snappy", RECEIVED).records] == ["once"]

    def test_gzip_around_snappy(self) -> None:
        """A gzip Content-Encoding is undone before the protobuf's own snappy."""
        body = gzip.compress(proto_push(StreamAdapter(labels=b"{}", entries=[entry(b"both")])))
        assert [r.message for r in decode_loki(body, PROTOBUF, "gzip", RECEIVED).records] == ["both"]

    def test_invalid_utf8_and_zero_timestamp(self) -> None:
        """A line with invalid UTF-8 is kept with a replacement character; a zero time is received_ns."""
        body = proto_push(StreamAdapter(labels=b'{job="x"}', entries=[EntryAdapter(line=b"caf\xe9")]))
        (record,) = decode_loki(body, PROTOBUF, None, RECEIVED).records
        assert (record.message, record.ts, record.parse_error) == ("caf\ufffd", RECEIVED, None)

    def test_bad_labels_keep_entries_raw(self) -> None:
        """A labels string that does not parse is a stream error; its entries are kept, marked."""
        body = proto_push(
            StreamAdapter(labels=b"job=api", entries=[entry(b"kept")]),
            StreamAdapter(labels=b'{job="ok"}', entries=[entry(b"fine")]),
        )
        decoded = decode_loki(body, PROTOBUF, None, RECEIVED)
        kept, fine = decoded.records
        assert decoded.errors == ["stream 1: labels 'job=api' do not parse (expected '{' at char 0)"]
        assert kept.parse_error == "loki: stream labels do not parse (expected '{' at char 0)"
        assert (kept.message, kept.ts, kept.fields) == ("kept", TS, {"labels": "job=api"})
        assert (fine.parse_error, fine.fields) == (None, {"job": "ok"})

    def test_corrupt_snappy(self) -> None:
        """A body that is not snappy is a payload error naming snappy."""
        with pytest.raises(PayloadError, match=r"^snappy: corrupt input"):
            decode_loki(b"\xff\xff\xff\xff", PROTOBUF, None, RECEIVED)

    def test_snappy_but_not_protobuf(self) -> None:
        """Valid snappy around bytes that are no PushRequest is a payload error naming protobuf."""
        body = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff\xff\x0f"))
        with pytest.raises(PayloadError, match=r"^protobuf: cannot parse PushRequest"):
            decode_loki(body, PROTOBUF, None, RECEIVED)

    def test_snappy_bomb(self) -> None:
        """A snappy body declaring more than max_bytes is refused before decompression."""
        body = bytes(cramjam.snappy.compress_raw(bytes(10_000_000)))
        with pytest.raises(PayloadTooLarge, match=r"^snappy: body decompresses to more than 1000 bytes"):
            decode_loki(body, PROTOBUF, None, RECEIVED, max_bytes=1000)

    def test_max_records(self) -> None:
        """Entries across streams count towards max_records."""
        body = proto_push(
            StreamAdapter(labels=b"{}", entries=[entry(b"a"), entry(b"b")]),
            StreamAdapter(labels=b"{}", entries=[entry(b"c")]),
        )
        assert len(decode_loki(body, PROTOBUF, None, 1, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge):
            decode_loki(body, PROTOBUF, None, 1, max_records=2)
