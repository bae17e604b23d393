"""Tests for the logfmt format: quoting and escapes, numbers, bare keys, key mapping, sniffing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.formats.logfmt import LogfmtFormat, split_pairs, unescape
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

QUEUE_LINE = (
    'ts=2026-11-21T00:01:22.082Z level=debug msg="message acked" queue=notifications '
    "msg_id=54828dacbffb7acc42ca23e5 consumer=orders-consumer-2 latency_ms=17"
)
JSON_BODY_LINE = (
    'ts=2026-11-21T03:10:00.001Z level=warn msg="dead-lettered message" queue=emails '
    'body="{\\"order_id\\":\\"ORD-81554198\\",\\"email\\":\\"peggy.nelson@example.com\\",\\"qty\\":2}"'
)

OTHER_FORMATS = [
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"a=b c=d","service":"api"}',
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET /?a=1&b=2 HTTP/1.1" 200 207 "-" "curl/8.5.0" 0.039',
    "Nov 21 00:00:53 app-02 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/ls",
    '<165>1 2026-11-21T22:14:15.003Z host app - ID47 [x@1 a="1"] key=value',
    'Nov 21 00:00:33 app-01 kernel: [2610968.383369] audit: type=1400 apparmor="DENIED" pid=13989',
    '[ 1234.567890] audit: type=1400 audit(1795003464.875:559): apparmor="DENIED" operation="open"',
    "6,339,5140900,-;SUBSYSTEM=net DEVICE=n2",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] retry=3 task=send_email",
    "2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.PaymentService - amount=71.03 EUR",
]


def ns(text: str) -> int:
    """Exact ns since the epoch of an ISO 8601 string (no float rounding)."""
    dt = datetime.fromisoformat(text)
    return int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def make_ctx() -> SourceContext:
    """A context as a file source builds it: UTC stamps, default classifier."""
    return SourceContext(
        source="queue/queue.log",
        service="queue",
        host=None,
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(tz=UTC),
        levels=LevelClassifier(),
    )


def parse_one(line: str) -> Record:
    """Parses a single line."""
    records = LogfmtFormat().parse([line], make_ctx())
    assert len(records) == 1
    return records[0]


class TestLogfmtParse:
    def test_generated_queue_line(self) -> None:
        """The corpus shape: ts, level and quoted msg map to the record, integers become numbers."""
        record = parse_one(QUEUE_LINE)
        assert record.parse_error is None
        assert record.ts == ns("2026-11-21T00:01:22.082+00:00")
        assert record.level is Level.DEBUG
        assert record.message == "message acked"
        assert record.service == "queue"
        assert record.fields == {
            "queue": "notifications",
            "msg_id": "54828dacbffb7acc42ca23e5",
            "consumer": "orders-consumer-2",
            "latency_ms": 17,
        }

    def test_unquoted_message(self) -> None:
        """`msg=heartbeat` (quoted only when needed) is the message."""
        record = parse_one("ts=2026-11-21T00:02:00.000Z level=info msg=heartbeat consumer=c-1")
        assert record.message == "heartbeat"
        assert record.fields == {"consumer": "c-1"}

    def test_quoted_json_body_with_escapes(self) -> None:
        """A quoted JSON body has its `\\"` escapes undone and stays one string field."""
        record = parse_one(JSON_BODY_LINE)
        assert record.level is Level.WARNING
        assert record.message == "dead-lettered message"
        assert record.fields is not None
        assert record.fields["body"] == (
            '{"order_id":"ORD-81554198","email":"peggy.nelson@example.com","qty":2}'
        )

    def test_numbers_and_look_alikes(self) -> None:
        """Plain integers and decimals become numbers; ids, versions, hex and quoted numbers do not."""
        pairs, with_value = split_pairs(
            'size=743 ratio=0.5 delta=-3 zero=0 zip=007 hex=12e4 ver=1.2.3 code="42" port=5672x'
        )
        assert with_value == 9
        assert pairs == {
            "size": 743,
            "ratio": 0.5,
            "delta": -3,
            "zero": 0,
            "zip": "007",
            "hex": "12e4",
            "ver": "1.2.3",
            "code": "42",
            "port": "5672x",
        }

    def test_bare_and_empty_values(self) -> None:
        """A bare key is true, `key=` and `key=""` are empty strings."""
        pairs, with_value = split_pairs('msg=done cached user= note=""')
        assert pairs == {"msg": "done", "cached": True, "user": "", "note": ""}
        assert with_value == 3

    def test_unescape(self) -> None:
        """Go-style escapes are undone; an unknown one is kept as written."""
        assert unescape('a \\"b\\" \\\\ c\\nd \\u00e9 \\q') == 'a "b" \\ c\nd é \\q'

    def test_service_host_pid_mapping(self) -> None:
        """`app`, `hostname` and `pid` map like JSON's keys; a numeric ts is an epoch."""
        record = parse_one('t=1795305600 lvl=ERR app=mailer hostname=mx-1 pid=311 msg="smtp 451 from relay"')
        assert record.ts == OBSERVED_NS
        assert record.level is Level.ERROR
        assert record.service == "mailer"
        assert record.host == "mx-1"
        assert record.pid == 311
        assert record.fields is None

    def test_no_pairs_is_a_parse_error(self) -> None:
        """A line without any `key=value` is kept with a parse error, in batch order."""
        lines = ["level=info msg=a", "just some words", "level=info msg=b"]
        records = LogfmtFormat().parse(lines, make_ctx())
        assert [r.raw for r in records] == lines
        assert records[1].parse_error == "logfmt: no key=value pair"
        assert records[1].message == "just some words"
        assert records[1].ts == OBSERVED_NS
        assert records[0].parse_error is None and records[2].parse_error is None


class TestLogfmtSniff:
    def test_own_format(self) -> None:
        """logfmt lines sniff as logfmt, whatever their first key."""
        fmt = LogfmtFormat()
        assert fmt.sniff(QUEUE_LINE)
        assert fmt.sniff(JSON_BODY_LINE)
        assert fmt.sniff("time=2026-11-21T00:00:00Z level=info msg=heartbeat")
        assert fmt.sniff('level=warn msg="slow consumer" lag=1200 paused')

    def test_other_formats(self) -> None:
        """JSON, access, syslog, kernel, Python and logback lines do not, even with `k=v` inside."""
        fmt = LogfmtFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line


class TestLogfmtCorpus:
    def test_generated_queue_log(self, corpus: Path) -> None:
        """Every line of the generated queue.log parses, with the level written in the line."""
        lines = (corpus / "queue" / "queue.log").read_text(encoding="utf-8").splitlines()
        records = LogfmtFormat().parse(lines, make_ctx())
        assert len(records) == len(lines)
        written = re.compile(r"\blevel=(\w+)")
        for record in records:
            assert record.parse_error is None, record.raw
            match = written.search(record.raw)
            assert match is not None
            assert record.level is level_from_name(match.group(1))
            assert record.message
