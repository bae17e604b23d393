"""Tests for the access-log format: combined and common layouts, escapes, odd requests, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from loglens.formats.base import SourceContext
from loglens.formats.clf import ClfFormat, unescape
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

NGINX_LINE = (
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET /api/v1/products/58 HTTP/1.1" 200 207 '
    '"https://shop.example.com/products/classic-mug" "okhttp/4.12.0" 0.039'
)

OTHER_FORMATS = [
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"GET / HTTP/1.1","service":"api"}',
    'ts=2026-11-21T00:01:22.082Z level=debug msg="GET /x HTTP/1.1" status=200',
    "Nov 21 00:05:08 bastion-01 sshd[644]: Connection from 1.2.3.4 port 22",
    "<165>1 2026-11-21T22:14:15.003Z host app - ID47 - message",
    "[ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    "2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.service.PaymentService - Payment captured",
]


def ns(text: str) -> int:
    """Exact ns since the epoch of an ISO 8601 string (no float rounding)."""
    dt = datetime.fromisoformat(text)
    return int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def make_ctx() -> SourceContext:
    """A context as a file source builds it: UTC stamps, default classifier."""
    return SourceContext(
        source="nginx/access.log",
        service="nginx",
        host="edge-1",
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(tz=UTC),
        levels=LevelClassifier(),
    )


def parse_one(line: str) -> Record:
    """Parses a single line."""
    records = ClfFormat().parse([line], make_ctx())
    assert len(records) == 1
    return records[0]


class TestClfParse:
    def test_nginx_combined_with_request_time(self) -> None:
        """The corpus shape: request line as message, every part a typed field, level from status."""
        record = parse_one(NGINX_LINE)
        assert record.parse_error is None
        assert record.ts == ns("2026-11-21T00:00:25+00:00")
        assert record.message == "GET /api/v1/products/58 HTTP/1.1"
        assert record.level is Level.INFO
        assert record.service == "nginx"
        assert record.host == "edge-1"
        assert record.fields == {
            "client_ip": "91.73.10.99",
            "method": "GET",
            "path": "/api/v1/products/58",
            "protocol": "HTTP/1.1",
            "status": 200,
            "bytes": 207,
            "referer": "https://shop.example.com/products/classic-mug",
            "user_agent": "okhttp/4.12.0",
            "request_time": 0.039,
        }

    def test_apache_escaped_quotes_and_offset(self) -> None:
        """Apache's `\\"` inside the user agent is undone; a -0700 stamp is converted to UTC."""
        record = parse_one(
            '203.0.113.9 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
            '"http://www.example.com/start.html" "Mozilla/4.08 \\"compatible\\" (Win98; I)"'
        )
        assert record.ts == ns("2026-10-10T20:55:36+00:00")
        assert record.fields is not None
        assert record.fields["user"] == "frank"
        assert record.fields["user_agent"] == 'Mozilla/4.08 "compatible" (Win98; I)'
        assert "request_time" not in record.fields

    def test_nginx_hex_escaped_quote(self) -> None:
        """nginx's `\\x22` in a quoted field is a quote."""
        record = parse_one(
            '10.0.0.5 - - [21/Nov/2026:00:00:26 +0000] "GET /search?q=\\x22mug\\x22 HTTP/1.1" 200 90 "-" '
            '"sqlmap/1.7 \\x22probe\\x22" 0.002'
        )
        assert record.message == 'GET /search?q="mug" HTTP/1.1'
        assert record.fields is not None
        assert record.fields["path"] == '/search?q="mug"'
        assert record.fields["user_agent"] == 'sqlmap/1.7 "probe"'
        assert "referer" not in record.fields

    def test_unescaped_quotes_in_user_agent(self) -> None:
        """A server that writes quotes raw still parses: the agent runs to the last quote."""
        record = parse_one(
            '198.51.100.7 - - [21/Nov/2026:00:00:27 +0000] "GET / HTTP/1.1" 200 512 "-" '
            '"Mozilla/5.0 "Gecko" like" 0.010'
        )
        assert record.parse_error is None
        assert record.fields is not None
        assert record.fields["user_agent"] == 'Mozilla/5.0 "Gecko" like'
        assert record.fields["request_time"] == 0.01

    def test_common_log_format(self) -> None:
        """Common format (no referer or agent), `-` bytes are zero."""
        record = parse_one('127.0.0.1 - - [21/Nov/2026:00:01:00 +0000] "HEAD /healthz HTTP/1.1" 204 -')
        assert record.fields == {
            "client_ip": "127.0.0.1",
            "method": "HEAD",
            "path": "/healthz",
            "protocol": "HTTP/1.1",
            "status": 204,
            "bytes": 0,
        }

    def test_ipv6_client_and_server_error(self) -> None:
        """An IPv6 client address; a 5xx is an error, a 4xx a warning."""
        error = parse_one(
            '2001:db8::7 - - [21/Nov/2026:02:26:10 +0000] "POST /api/v1/orders HTTP/2.0" 504 167 "-" '
            '"okhttp/4.12.0" 60.001'
        )
        warning = parse_one(
            '2001:db8::7 - - [21/Nov/2026:02:26:11 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "-"'
        )
        assert error.fields is not None and error.fields["client_ip"] == "2001:db8::7"
        assert error.level is Level.ERROR
        assert error.fields["request_time"] == 60.001
        assert warning.level is Level.WARNING
        assert warning.fields is not None and "user_agent" not in warning.fields

    def test_scanner_garbage_request(self) -> None:
        """A TLS handshake sent to the HTTP port is kept as the message, with no method or path."""
        record = parse_one(
            "45.148.10.11 - - [21/Nov/2026:00:03:00 +0000] "
            '"\\x16\\x03\\x01\\x00\\xFC\\x01\\x00\\x00\\xF8\\x03\\x03" 400 157 "-" "-" 0.112'
        )
        assert record.message == "\\x16\\x03\\x01\\x00\\xFC\\x01\\x00\\x00\\xF8\\x03\\x03"
        assert record.level is Level.WARNING
        assert record.fields is not None
        assert "method" not in record.fields and "path" not in record.fields

    def test_dash_request(self) -> None:
        """A `"-"` request (connection closed before a request) is the message `-`."""
        record = parse_one('45.148.10.11 - - [21/Nov/2026:00:03:01 +0000] "-" 408 0 "-" "-"')
        assert record.message == "-"
        assert record.fields is not None and record.fields["status"] == 408

    def test_extra_trailing_fields(self) -> None:
        """After `$request_time`, anything else is kept as one `extra` field."""
        record = parse_one(NGINX_LINE + ' 0.038 "10.0.3.4:8080" cache=HIT')
        assert record.fields is not None
        assert record.fields["request_time"] == 0.039
        assert record.fields["extra"] == '0.038 "10.0.3.4:8080" cache=HIT'

    def test_not_clf(self) -> None:
        """A line that is not an access-log line is kept with a parse error."""
        record = parse_one("GET /index.html 200")
        assert record.parse_error == "clf: not a common/combined log format line"
        assert record.message == "GET /index.html 200"
        assert record.ts == OBSERVED_NS

    def test_unescape(self) -> None:
        """Only quote and backslash escapes are undone; other `\\xHH` stay readable."""
        assert unescape('a\\"b\\\\c\\x22d\\x5Ce\\x16') == 'a"b\\c"d\\e\\x16'


class TestClfSniff:
    def test_own_format(self) -> None:
        """Combined, common and lenient access lines sniff as CLF."""
        fmt = ClfFormat()
        assert fmt.sniff(NGINX_LINE)
        assert fmt.sniff('127.0.0.1 - - [21/Nov/2026:00:01:00 +0000] "HEAD /healthz HTTP/1.1" 204 -')
        assert fmt.sniff('::1 - - [21/Nov/2026:00:00:27 +0000] "GET / HTTP/1.1" 200 5 "-" "a "b" c"')

    def test_other_formats(self) -> None:
        """JSON, logfmt, syslog, kernel, Python and logback lines do not."""
        fmt = ClfFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line


class TestClfCorpus:
    def test_generated_access_log(self, corpus: Path) -> None:
        """Every line of the generated access.log parses, with status, request time and a matching level."""
        lines = (corpus / "nginx" / "access.log").read_text(encoding="utf-8").splitlines()
        records = ClfFormat().parse(lines, make_ctx())
        assert len(records) == len(lines)
        for record in records:
            assert record.parse_error is None, record.raw
            assert record.fields is not None
            status = record.fields["status"]
            assert "request_time" in record.fields
            expected = Level.ERROR if status >= 500 else Level.WARNING if status >= 400 else Level.INFO
            assert record.level is expected
            assert record.raw.split('"')[1] == record.message or "\\" in record.raw
