"""Fuzzing the push decoders: any body in, storable Records or a PayloadError out, nothing else.

Every protocol the daemon takes (JSON lines, Loki JSON and snappy protobuf, Elasticsearch bulk, OTLP
protobuf and JSON, Splunk HEC event and raw, Datadog) and the Content-Encoding layer under them.
"""

from __future__ import annotations

import cramjam
import orjson
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from fuzz.fuzzing import assert_storable, fuzz, log_text, mutated
from fuzz.payloads import (
    Push,
    datadog_bodies,
    encoded,
    es_bulk_bodies,
    hec_event_bodies,
    labels_texts,
    loki_json_bodies,
    loki_proto_bodies,
    ndjson_bodies,
    otlp_json_bodies,
    otlp_proto_bodies,
    raw_bodies,
)
from loglens.json_text import MAX_DEPTH, dumps_any, within_depth
from loglens.server.decode import (
    FieldMapping,
    PayloadError,
    decode_datadog,
    decode_es_bulk,
    decode_hec_event,
    decode_hec_raw,
    decode_loki,
    decode_ndjson,
    decode_otlp,
    decompress,
)
from loglens.server.decode.base import split_lines
from loglens.server.decode.datadog import parse_tags
from loglens.server.decode.labels import parse_labels
from loglens.server.decode.logproto import EntryAdapter, PushRequest, StreamAdapter

MAX_BYTES = 64 * 1024
MAX_RECORDS = 50
NOW = 1_795_305_600_000_000_000
mappings = st.builds(
    FieldMapping,
    message_field=st.none() | st.sampled_from(["msg", "log.text", "event", "a.b.c", ""]),
    time_field=st.none() | st.sampled_from(["ts", "time", "@timestamp", "when.at"]),
    service_field=st.none() | st.sampled_from(["service", "app", "kubernetes.labels.app"]),
    default_service=st.sampled_from(["ndjson", "api"]),
    extra_fields=st.sampled_from([{}, {"tenant": "t1"}]),
)


class TestDecompress:
    @fuzz()
    @given(push=encoded(st.binary(max_size=300) | raw_bodies), limit=st.sampled_from([0, 16, MAX_BYTES]))
    def test_any_body_and_encoding_decompress_within_the_limit_or_fail_cleanly(
        self, push: Push, limit: int
    ) -> None:
        """Any body under any Content-Encoding is undone to at most `limit` bytes, or is a PayloadError."""
        try:
            out = decompress(push.body, push.encoding, limit)
        except PayloadError:
            return
        assert len(out) <= limit


class TestDecoders:
    @fuzz()
    @given(body=ndjson_bodies, mapping=mappings)
    def test_ndjson(self, body: bytes, mapping: FieldMapping) -> None:
        """JSON lines: one storable record per non-blank line, or a PayloadError (too many)."""
        try:
            decoded = decode_ndjson(body, mapping, NOW, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert len(decoded.records) == sum(1 for _ in split_lines(body))
        assert_storable(decoded.records)

    @fuzz()
    @given(
        push=encoded(loki_json_bodies | loki_proto_bodies),
        content_type=st.sampled_from(["application/json", "application/x-protobuf", None, "text/plain"]),
    )
    def test_loki(self, push: Push, content_type: str | None) -> None:
        """Loki pushes, JSON or snappy protobuf, under any encoding: storable records or a PayloadError."""
        try:
            decoded = decode_loki(
                push.body, content_type, push.encoding, NOW, max_bytes=MAX_BYTES, max_records=MAX_RECORDS
            )
        except PayloadError:
            return
        assert_storable(decoded.records)

    @fuzz()
    @given(body=es_bulk_bodies, index=st.none() | st.sampled_from(["logs", "", "a/b"]))
    def test_es_bulk(self, body: bytes, index: str | None) -> None:
        """Bulk bodies: one item per action, storable records, or a PayloadError for a broken action."""
        try:
            decoded = decode_es_bulk(body, NOW, index, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert len(decoded.records) <= len(decoded.items)
        assert_storable(decoded.records)

    @fuzz()
    @given(
        body=otlp_proto_bodies | otlp_json_bodies,
        content_type=st.sampled_from(["application/json", "application/x-protobuf", None]),
    )
    def test_otlp(self, body: bytes, content_type: str | None) -> None:
        """OTLP export requests, protobuf or JSON: storable records or a PayloadError."""
        try:
            decoded = decode_otlp(body, content_type, NOW, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert_storable(decoded.records)

    @fuzz()
    @given(body=hec_event_bodies)
    def test_hec_event(self, body: bytes) -> None:
        """HEC envelopes: storable records (the first invalid one named), or a PayloadError."""
        try:
            decoded = decode_hec_event(body, NOW, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert decoded.records
        assert (decoded.invalid_event is None) == (not decoded.errors)
        assert_storable(decoded.records)

    @fuzz()
    @given(
        body=raw_bodies,
        params=st.dictionaries(st.sampled_from(["host", "index", "source", "channel"]), log_text(4)),
    )
    def test_hec_raw(self, body: bytes, params: dict[str, str]) -> None:
        """HEC raw lines: one storable record per non-blank line, or a PayloadError."""
        try:
            decoded = decode_hec_raw(body, NOW, params, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert len(decoded.records) == sum(1 for _ in split_lines(body))
        assert_storable(decoded.records)

    @fuzz()
    @given(body=datadog_bodies)
    def test_datadog(self, body: bytes) -> None:
        """Datadog intake bodies: storable records, or a PayloadError."""
        try:
            decoded = decode_datadog(body, NOW, max_records=MAX_RECORDS)
        except PayloadError:
            return
        assert_storable(decoded.records)


class TestPieces:
    @fuzz()
    @given(text=st.one_of(labels_texts, labels_texts.flatmap(lambda text: mutated(seeds=[text]))))
    def test_labels_parse_or_raise_value_error(self, text: str) -> None:
        """A label set parses to names and values, or raises ValueError (the decoder's cue)."""
        try:
            labels = parse_labels(text)
        except ValueError:
            return
        assert all(type(k) is str and type(v) is str for k, v in labels.items())

    @fuzz()
    @given(text=log_text(8))
    def test_datadog_tags_never_fail(self, text: str) -> None:
        """Any ddtags text gives a dict of tags."""
        assert isinstance(parse_tags(text), dict)


DEEP = b"[" * 300 + b"1" + b"]" * 300
"""JSON nested deeper than orjson writes (254 levels), though it reads it (1,024)."""


class TestFoundByFuzzing:
    def test_json_nested_past_what_orjson_writes_is_stored(self) -> None:
        """JSON lines, bulk documents and Datadog logs nested 300 deep make storable records (the
        Datadog decoder failed outright: a 500)."""
        decoded = [
            decode_ndjson(b'{"msg": "x", "deep": ' + DEEP + b"}", FieldMapping(), NOW),
            decode_ndjson(b'{"msg": ' + DEEP + b"}", FieldMapping(message_field="msg"), NOW),
            decode_es_bulk(b'{"index": {"_index": "logs"}}\n{"deep": ' + DEEP + b"}\n", NOW),
            decode_datadog(b'[{"message": "x", "deep": ' + DEEP + b"}]", NOW),
            decode_loki(
                b'{"streams": [{"stream": {"a": ' + DEEP + b'}, "values": [["1", "x"]]}]}',
                "application/json",
                None,
                NOW,
            ),
        ]
        for one in decoded:
            assert len(one.records) == 1
            assert_storable(one.records)

    def test_splunk_envelopes_are_read_as_strictly_as_every_other_json(self) -> None:
        """A lone surrogate, 4,400 digits or 100,000 levels of nesting in a HEC envelope make it an
        invalid event kept raw; an integer past 64 bits is read as a float. No record is unstorable."""
        surrogate = decode_hec_event(b'{"event": "x"} {"event": "bad \\ud800 x"}', NOW)
        assert (surrogate.invalid_event, len(surrogate.records)) == (1, 2)
        assert surrogate.records[1].raw == '{"event": "bad \\ud800 x"}'
        digits = decode_hec_event(b'{"event": ' + b"7" * 4400 + b"}", NOW)
        nested = decode_hec_event(b'{"event": ' + b"[" * 100_000, NOW)
        stamp = decode_hec_event(b'{"event": "x", "time": "' + b"9" * 4400 + b'"}', NOW)
        big = decode_hec_event(b'{"event": {"msg": "x", "n": 123456789012345678901234567890}}', NOW)
        assert digits.invalid_event == nested.invalid_event == 0
        assert stamp.records[0].ts == NOW
        assert big.records[0].fields == {"n": 1.2345678901234568e29}
        for one in (surrogate, digits, nested, stamp, big):
            assert_storable(one.records)

    def test_loki_times_past_int64_are_the_time_of_receipt(self) -> None:
        """A Loki entry time past 2262 (protobuf seconds or JSON nanoseconds) is no time: the entry
        is timed when it arrived, and the JSON one is named as wrong."""
        proto = PushRequest(
            streams=[
                StreamAdapter(
                    labels=b'{job="a"}',
                    entries=[EntryAdapter(timestamp={"seconds": 9_223_372_037}, line=b"x")],
                )
            ]
        ).SerializeToString()
        from_proto = decode_loki(bytes(cramjam.snappy.compress_raw(proto)), None, None, NOW)
        from_json = decode_loki(
            b'{"streams": [{"values": [["99999999999999999999999999", "x"]]}]}', "application/json", None, NOW
        )
        assert from_proto.records[0].ts == from_json.records[0].ts == NOW
        assert from_json.errors and "not nanoseconds" in from_json.errors[0]
        assert_storable([*from_proto.records, *from_json.records])

    def test_otlp_times_and_pids_past_what_the_store_holds_are_none(self) -> None:
        """A uint64 time past int64 falls back to the observed time (then receipt); a 64-bit pid is no pid."""
        request = ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(
                    resource=Resource(
                        attributes=[KeyValue(key="process.pid", value=AnyValue(int_value=2**40))]
                    ),
                    scope_logs=[
                        ScopeLogs(
                            log_records=[LogRecord(time_unix_nano=2**63, observed_time_unix_nano=5 * 10**18)]
                        )
                    ],
                )
            ]
        )
        record = decode_otlp(request.SerializeToString(), None, NOW).records[0]
        assert (record.ts, record.pid) == (5 * 10**18, None)
        assert_storable([record])

    def test_label_escapes_of_no_character_are_kept_as_written(self) -> None:
        """`\\ud800` (half a character) and `\\U00110000` (past Unicode) stay as written in a label."""
        assert parse_labels('{a="\\ud800", b="\\U00110000", c="\\u00e9"}') == {
            "a": "\\ud800",
            "b": "\\U00110000",
            "c": "é",
        }


class TestDumpsAny:
    def test_what_orjson_writes_is_written_by_orjson(self) -> None:
        """A value orjson can write comes out exactly as orjson writes it."""
        value = {"a": [1, 2.5, None, True], "b": {"c": "é"}, "big": 2**64 - 1}
        assert dumps_any(value) == orjson.dumps(value)

    def test_what_orjson_refuses_is_written_as_text(self) -> None:
        """Integers past 64 bits become their digits, lone surrogates escapes, deep nesting a note."""
        data = orjson.loads(dumps_any({"n": 2**70, "s": "a\ud800", "k\udc00": 1, "deep": orjson.loads(DEEP)}))
        assert data["n"] == str(2**70)
        assert data["s"] == "a\\ud800"
        assert data["k\\udc00"] == 1
        depth, inner = 0, data["deep"]
        while isinstance(inner, list):
            depth, inner = depth + 1, inner[0]
        assert depth == MAX_DEPTH - 1
        assert "nested deeper than" in inner

    def test_fields_within_the_depth_are_themselves_and_deeper_ones_cut_alike(self) -> None:
        """`within_depth` keeps a value nesting MAX_DEPTH levels as the same object, and cuts a deeper
        one where `dumps_any` does, without recursion (1,000 levels: past Python's stack limit)."""
        shallow = {"a": [{"b": 1}], "c": "x"}
        assert within_depth(shallow) is shallow
        deep: object = 1
        for _ in range(1_000):
            deep = [deep]
        value = {"k": "v", "deep": deep}
        cut = within_depth(value)
        assert cut is not value and cut["k"] == "v"
        assert orjson.loads(orjson.dumps(cut)) == orjson.loads(dumps_any(value))
        edge: object = 1
        for _ in range(MAX_DEPTH - 1):
            edge = [edge]
        kept = {"edge": edge}
        assert within_depth(kept) is kept
