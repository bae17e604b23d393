"""Tests for the JSON-lines format: key mapping, nesting, epoch and pino levels, bad lines, sniffing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from loglens.formats.base import SourceContext
from loglens.formats.json import JsonFormat
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

API_LINE = (
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"request completed status=200 bytes=732",'
    '"service":"api","request_id":"58cd6e37-2be6-4988-9cbc-6f52d08b2857","latency_ms":3.4,'
    '"user":null,"route":"/api/v1/cart/{id}"}'
)

# One line of each other format; none of them may sniff as JSON.
OTHER_FORMATS = [
    'ts=2026-11-21T00:01:22.082Z level=debug msg="message acked" queue=notifications latency_ms=17',
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET /api/v1/products/58 HTTP/1.1" 200 207 "-" "-" 0.03',
    "Nov 21 00:05:08 bastion-01 systemd-logind[644]: New session 485 of user jenkins.",
    "<165>1 2026-11-21T22:14:15.003Z host app - ID47 - message",
    "[ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    '[{"ts": 1}]',
]


def ns(text: str) -> int:
    """Exact ns since the epoch of an ISO 8601 string (no float rounding)."""
    dt = datetime.fromisoformat(text)
    return int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def make_ctx() -> SourceContext:
    """A context as a file source builds it: UTC stamps, default classifier."""
    return SourceContext(
        source="api/api.jsonl",
        service="fallback-svc",
        host="fallback-host",
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(tz=UTC),
        levels=LevelClassifier(),
    )


def parse_one(line: str) -> Record:
    """Parses a single line."""
    records = JsonFormat().parse([line], make_ctx())
    assert len(records) == 1
    return records[0]


class TestJsonMapping:
    def test_generated_api_line(self) -> None:
        """The corpus shape maps ts, level, msg and service, and leaves the rest (null user too) in fields."""
        record = parse_one(API_LINE)
        assert record.parse_error is None
        assert record.ts == ns("2026-11-21T00:00:37.165+00:00")
        assert record.observed_ts == OBSERVED_NS
        assert record.level is Level.INFO
        assert record.message == "request completed status=200 bytes=732"
        assert record.service == "api"
        assert record.host == "fallback-host"
        assert record.source == "api/api.jsonl"
        assert record.raw == API_LINE
        assert record.fields == {
            "request_id": "58cd6e37-2be6-4988-9cbc-6f52d08b2857",
            "latency_ms": 3.4,
            "user": None,
            "route": "/api/v1/cart/{id}",
        }

    def test_precedence_of_message_keys(self) -> None:
        """`msg` wins over `message`, which then stays a field."""
        record = parse_one('{"message":"second","msg":"first"}')
        assert record.message == "first"
        assert record.fields == {"message": "second"}

    def test_nested_message_text(self) -> None:
        """A `{"message": {"text": …}}` object gives its text; its other keys stay under `message`."""
        record = parse_one(
            '{"time":"2026-11-21T08:00:00+01:00","message":{"text":"user signed in","lang":"en"}}'
        )
        assert record.message == "user signed in"
        assert record.fields == {"message": {"lang": "en"}}
        assert record.ts == ns("2026-11-21T07:00:00+00:00")

    def test_object_message_without_text_is_compact_json(self) -> None:
        """An object message with no text key becomes its compact JSON."""
        record = parse_one('{"msg": {"event": "login", "ok": true}, "level": "warn"}')
        assert record.message == '{"event":"login","ok":true}'
        assert record.level is Level.WARNING
        assert record.fields is None

    def test_ecs_nested_fields(self) -> None:
        """ECS objects give level, service, host, pid and trace ids; their remaining keys stay nested."""
        line = orjson.dumps(
            {
                "@timestamp": "2026-11-21T00:00:01.500Z",
                "log": {"level": "warn", "logger": "app.db"},
                "service": {"name": "billing", "version": "1.2.0"},
                "host": {"name": "web-1", "ip": ["10.0.0.7"]},
                "process": {"pid": 4242},
                "trace": {"id": "4bf92f3577b34da6a3ce929d0e0e4736"},
                "span": {"id": "00f067aa0ba902b7"},
                "event": {"dataset": "billing.log"},
                "message": "slow query took 1200 ms",
            }
        ).decode()
        record = parse_one(line)
        assert record.ts == ns("2026-11-21T00:00:01.500+00:00")
        assert record.level is Level.WARNING
        assert record.service == "billing"
        assert record.host == "web-1"
        assert record.pid == 4242
        assert record.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert record.span_id == "00f067aa0ba902b7"
        assert record.message == "slow query took 1200 ms"
        assert record.fields == {
            "log": {"logger": "app.db"},
            "service": {"version": "1.2.0"},
            "host": {"ip": ["10.0.0.7"]},
            "event": {"dataset": "billing.log"},
        }

    def test_literal_dotted_keys(self) -> None:
        """Flattened ECS keys (`log.level`, `service.name`, `trace.id`) map like the nested ones."""
        record = parse_one('{"log.level":"error","service.name":"cart","trace.id":"abc123","message":"boom"}')
        assert record.level is Level.ERROR
        assert record.service == "cart"
        assert record.trace_id == "abc123"
        assert record.fields is None

    def test_pino_numeric_level_and_epoch_ms(self) -> None:
        """pino's numeric level and epoch-millisecond `time`, `hostname` and `pid` are understood."""
        record = parse_one(
            '{"level":50,"time":1795305600123,"pid":81,"hostname":"api-7f9c","msg":"db down","v":1}'
        )
        assert record.level is Level.ERROR
        assert record.ts == OBSERVED_NS + 123_000_000
        assert record.pid == 81
        assert record.host == "api-7f9c"
        assert record.fields == {"v": 1}

    def test_epoch_seconds_float(self) -> None:
        """A fractional epoch in seconds is a timestamp too."""
        record = parse_one('{"ts":1795305600.25,"msg":"tick"}')
        assert record.ts == OBSERVED_NS + 250_000_000

    def test_docker_json_file_line(self) -> None:
        """Docker's `log` string is the message, without its trailing newline."""
        record = parse_one(
            '{"log":"GET /healthz 200\\n","stream":"stdout","time":"2026-11-21T00:00:01.123456789Z"}'
        )
        assert record.message == "GET /healthz 200"
        assert record.fields == {"stream": "stdout"}
        assert record.ts == ns("2026-11-21T00:00:01+00:00") + 123_456_789

    def test_non_string_host_and_unknown_level_stay_fields(self) -> None:
        """A numeric host and an unrecognised level are left in fields; the level is then classified."""
        record = parse_one('{"host":42,"level":"chatty","msg":"connection refused by upstream"}')
        assert record.host == "fallback-host"
        assert record.level is LevelClassifier().classify("connection refused by upstream")
        assert record.fields == {"host": 42, "level": "chatty"}

    def test_missing_time_and_message(self) -> None:
        """Without a time the record is timed when read; without a message the raw line stands in."""
        record = parse_one('{"status":"ok"}')
        assert record.ts == OBSERVED_NS
        assert record.message == '{"status":"ok"}'
        assert record.service == "fallback-svc"

    def test_unparseable_time_is_kept(self) -> None:
        """A `ts` that is no timestamp stays in fields."""
        record = parse_one('{"ts":"soon","msg":"x"}')
        assert record.ts == OBSERVED_NS
        assert record.fields == {"ts": "soon"}


class TestJsonBadLines:
    def test_truncated_json(self) -> None:
        """A truncated object is kept whole with a parse error, timed when read, level from its words."""
        raw = '{"ts":"2026-11-21T00:00:37.165Z","level":"error","msg":"upstream failed'
        record = parse_one(raw)
        assert record.parse_error is not None
        assert record.parse_error.startswith("json: unexpected end of data")
        assert record.message == raw
        assert record.raw == raw
        assert record.ts == OBSERVED_NS
        assert record.service == "fallback-svc"
        assert record.level is LevelClassifier().classify(raw)

    def test_non_objects(self) -> None:
        """Arrays, numbers and plain text are parse errors, and the batch keeps its order."""
        lines = ['{"msg":"a"}', "[1, 2]", '{"msg":"b"}', "42", "plain text", '{"msg":"c"}']
        records = JsonFormat().parse(lines, make_ctx())
        assert [r.raw for r in records] == lines
        assert [r.parse_error is None for r in records] == [True, False, True, False, False, True]
        assert records[1].parse_error == "json: not an object (got array)"
        assert records[3].parse_error == "json: not an object (got number)"
        assert records[5].message == "c"


class TestJsonSniff:
    def test_own_format(self) -> None:
        """A JSON object line sniffs as JSON, surrounding spaces allowed."""
        fmt = JsonFormat()
        assert fmt.sniff(API_LINE)
        assert fmt.sniff('  {"level":30,"msg":"hi"}  ')

    def test_other_formats(self) -> None:
        """Lines of the other formats, arrays and truncated objects do not."""
        fmt = JsonFormat()
        for line in [*OTHER_FORMATS, '{"msg":"cut']:
            assert not fmt.sniff(line), line


class TestJsonCorpus:
    def test_generated_api_log(self, corpus: Path) -> None:
        """Every line of the generated api.jsonl parses, with the level written in the line."""
        lines = (corpus / "api" / "api.jsonl").read_text(encoding="utf-8").splitlines()
        records = JsonFormat().parse(lines, make_ctx())
        assert len(records) == len(lines)
        written = re.compile(r'"level":"(\w+)"')
        for record in records:
            assert record.parse_error is None, record.raw
            match = written.search(record.raw)
            assert match is not None
            assert record.level is level_from_name(match.group(1))
            assert record.service == "api"
