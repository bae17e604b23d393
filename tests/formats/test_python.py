"""Tests for the Python `logging` format: sniffing headers, framing tracebacks, parsing fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.python import PythonLoggingFormat
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

CHAINED = """\
2026-11-21 09:14:02,377 ERROR [payments.settle] Settlement batch 4411 failed
Traceback (most recent call last):
  File "/srv/app/payments/gateway.py", line 88, in charge
    resp = self._session.post(url, json=body, timeout=5)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/payments/http.py", line 31, in post
    raise TimeoutError("gateway did not answer in 5s")
TimeoutError: gateway did not answer in 5s

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/payments/settle.py", line 140, in settle_batch
    self.gateway.charge(invoice)
  File "/srv/app/payments/gateway.py", line 92, in charge
    raise GatewayError(f"charge failed for {invoice.id}")
payments.errors.GatewayError: charge failed for INV-2026-000884

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/worker/run.py", line 12, in run
    settle_batch(batch)
    ~~~~~~~~~~~~^^^^^^^
  File "/srv/app/payments/settle.py", line 151, in settle_batch
    raise SettlementError(f"batch {batch.id} aborted") from err
payments.errors.SettlementError: batch 4411 aborted
2026-11-21 09:14:02,391 WARNING [payments.settle] Retrying batch 4411 in 30s
2026-11-21 09:14:03,002 INFO [celery.worker.strategy] Task tasks.settle[5b0c] received
2026-11-21 09:14:04,950 ERROR [worker.email] Failed to send receipt to ana@example.test
Traceback (most recent call last):
  File "/srv/app/worker/email.py", line 54, in send
    smtp.sendmail(sender, [to], body)
KeyError: 'customer'
"""

OTHER_FORMATS = [
    '{"ts":"2026-11-21T09:14:02.377Z","level":"error","msg":"boom","trace_id":"4bf92f35"}',
    "Nov 21 09:14:02 bastion-01 sshd[812]: Failed password for root from 203.0.113.9 port 52144 ssh2",
    "<34>1 2026-11-21T09:14:02.377Z web-01 app 812 ID47 - payment failed",
    '203.0.113.9 - - [21/Nov/2026:09:14:02 +0000] "GET /api/v1/cart HTTP/1.1" 502 157 "-" "curl/8.5.0"',
    'ts=2026-11-21T09:14:02.377Z level=warn msg="pool exhausted" pool=billing size=20',
    "2026-11-21 09:14:02.377 INFO  [http-nio-8080-exec-6] c.a.b.service.PaymentService - captured",
    "09:14:02.377 [main] INFO  c.e.App - started",
    "2026-11-21T09:14:02.377+01:00  INFO 4242 --- [           main] c.e.App      : Started",
]


def make_ctx(tz: timezone = UTC) -> SourceContext:
    """A context for a worker.log source in zone `tz`, observed at noon UTC."""
    observed = int(OBSERVED.timestamp()) * 1_000_000_000
    return SourceContext(
        source="worker.log",
        service="worker",
        host="worker-01",
        observed_ns=observed,
        timestamps=TimestampParser(tz, observed),
        levels=LevelClassifier(),
    )


def ns(year: int, month: int, day: int, hour: int, minute: int, sec: int, ms: int, tz: timezone = UTC) -> int:
    """ns since the epoch of a wall-clock time in `tz`."""
    wall = datetime(year, month, day, hour, minute, sec, tzinfo=tz)
    return int(wall.timestamp()) * 1_000_000_000 + ms * 1_000_000


def frame(fmt: PythonLoggingFormat, text: str) -> list[str]:
    """The documented framing rule: a sniffed line starts an event, any other line joins the last."""
    events: list[list[str]] = []
    for line in text.splitlines():
        if fmt.sniff(line) or not events:
            events.append([line])
        else:
            events[-1].append(line)
    return ["\n".join(lines) for lines in events]


def parse_one(line: str, ctx: SourceContext | None = None) -> Record:
    """Parses a single-line event."""
    (record,) = PythonLoggingFormat().parse([line], ctx or make_ctx())
    return record


class TestSniff:
    def test_header_layouts(self) -> None:
        """Every supported header layout starts an event."""
        fmt = PythonLoggingFormat()
        assert fmt.sniff("2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered in 18ms")
        assert fmt.sniff("2026-11-21 00:01:36,014 - payments.settle - WARNING - slow gateway")
        assert fmt.sniff("2026-11-21 00:01:36,014 ERROR payments.settle: batch failed")
        assert fmt.sniff("[2026-11-21 00:01:36,014] INFO in app: request served")
        assert fmt.sniff("WARNING:root:disk almost full")
        assert fmt.sniff("CRITICAL:payments.settle:ledger out of balance")

    def test_traceback_lines_continue(self) -> None:
        """Traceback text, chaining phrases, `^^^^` markers and blank lines are not headers."""
        fmt = PythonLoggingFormat()
        for line in CHAINED.splitlines():
            if not line.startswith("2026-"):
                assert not fmt.sniff(line), line
        assert not fmt.sniff("")

    def test_other_formats_are_refused(self) -> None:
        """JSON, syslog, CLF, logfmt, logback (dot milliseconds) and Spring Boot lines are not Python."""
        fmt = PythonLoggingFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line

    def test_log4j_only_traits_are_refused(self) -> None:
        """A comma stamp with WARN or a padded INFO before `[thread]` is log4j, not Python."""
        fmt = PythonLoggingFormat()
        assert not fmt.sniff("2026-11-21 00:01:21,438 WARN  [main] c.e.App: pool low")
        assert not fmt.sniff("2026-11-21 00:01:21,438 INFO  [main] c.e.App - started")
        assert not fmt.sniff("2026-11-21 00:01:21,438 FATAL [main] c.e.App: dying")

    def test_shared_shape_is_accepted(self) -> None:
        """A line whose message merely starts with `name.ext: ` is Python-shaped too (detection decides)."""
        assert PythonLoggingFormat().sniff("2026-11-21 00:01:21,438 ERROR [main] config.yaml: unreadable")

    def test_log4j_class_logger_is_refused(self) -> None:
        """`LEVEL [thread] org.pkg.Class: ` is log4j's layout (Hadoop), not Python's."""
        fmt = PythonLoggingFormat()
        assert not fmt.sniff(
            "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created"
        )
        assert not fmt.sniff("2026-11-21 00:01:21,438 ERROR [main] c.e.App: failed")


class TestFraming:
    def test_chained_traceback_is_one_event(self) -> None:
        """Both chaining phrases, blank lines and `^^^^` lines stay inside the first event."""
        fmt = PythonLoggingFormat()
        events = frame(fmt, CHAINED)
        assert len(events) == 4
        assert events[0].count("\n") == 26
        assert events[0].endswith("payments.errors.SettlementError: batch 4411 aborted")

    def test_chain_fields(self) -> None:
        """A chained traceback yields the last exception, its type, the chain and the stack."""
        fmt = PythonLoggingFormat()
        records = fmt.parse(frame(fmt, CHAINED), make_ctx())
        first = records[0]
        assert first.message == "Settlement batch 4411 failed"
        assert first.level is Level.ERROR
        assert first.fields is not None
        assert first.fields["logger"] == "payments.settle"
        assert first.fields["exception"] == "payments.errors.SettlementError: batch 4411 aborted"
        assert first.fields["exception_type"] == "payments.errors.SettlementError"
        assert first.fields["exception_chain"] == [
            "TimeoutError",
            "payments.errors.GatewayError",
            "payments.errors.SettlementError",
        ]
        assert first.fields["stack"].startswith("Traceback (most recent call last):")
        assert first.raw == CHAINED.split("\n2026-11-21 09:14:02,391")[0]

    def test_single_traceback_has_no_chain(self) -> None:
        """An unchained traceback sets the exception fields but no `exception_chain`."""
        fmt = PythonLoggingFormat()
        last = fmt.parse(frame(fmt, CHAINED), make_ctx())[-1]
        assert last.fields is not None
        assert last.fields["exception"] == "KeyError: 'customer'"
        assert last.fields["exception_type"] == "KeyError"
        assert "exception_chain" not in last.fields

    def test_plain_events_have_only_logger(self) -> None:
        """An event without a traceback carries just its logger."""
        fmt = PythonLoggingFormat()
        records = fmt.parse(frame(fmt, CHAINED), make_ctx())
        assert records[1].fields == {"logger": "payments.settle"}
        assert records[1].level is Level.WARNING
        assert records[2].level is Level.INFO


class TestParse:
    def test_corpus_layout(self) -> None:
        """The corpus layout gives ts, level, logger and the text after `LEVEL [logger] `."""
        rec = parse_one(
            "2026-11-21 00:01:36,014 DEBUG [urllib3.connectionpool] Starting new HTTPS connection"
        )
        assert rec.ts == ns(2026, 11, 21, 0, 1, 36, 14)
        assert rec.level is Level.DEBUG
        assert rec.message == "Starting new HTTPS connection"
        assert rec.fields == {"logger": "urllib3.connectionpool"}
        assert (rec.service, rec.source, rec.host, rec.parse_error) == (
            "worker",
            "worker.log",
            "worker-01",
            None,
        )

    def test_cookbook_layout(self) -> None:
        """`asctime - name - LEVEL - message` puts name and level in the right places."""
        rec = parse_one("2026-11-21 00:01:36,014 - payments.settle - WARNING - gateway slow: 2.3s")
        assert rec.level is Level.WARNING
        assert rec.fields == {"logger": "payments.settle"}
        assert rec.message == "gateway slow: 2.3s"

    def test_level_name_colon_layout(self) -> None:
        """`asctime LEVEL name: message` (also padded) is parsed."""
        rec = parse_one("2026-11-21 00:01:36,014 CRITICAL payments.ledger: ledger out of balance")
        assert rec.level is Level.CRITICAL
        assert rec.fields == {"logger": "payments.ledger"}
        assert rec.message == "ledger out of balance"
        padded = parse_one("2026-11-21 00:01:36,014 INFO     app.web: listening on :8000")
        assert padded.message == "listening on :8000"

    def test_flask_layout(self) -> None:
        """Flask's `[asctime] LEVEL in module: message` takes the module as logger."""
        rec = parse_one("[2026-11-21 00:01:36,014] ERROR in app: Exception on /pay [POST]")
        assert rec.ts == ns(2026, 11, 21, 0, 1, 36, 14)
        assert rec.level is Level.ERROR
        assert rec.fields == {"logger": "app"}
        assert rec.message == "Exception on /pay [POST]"

    def test_basic_config_layout(self) -> None:
        """basicConfig's `LEVEL:name:message` has no stamp, so ts is the observation time."""
        ctx = make_ctx()
        fmt = PythonLoggingFormat()
        text = (
            "ERROR:root:payment failed\n"
            "Traceback (most recent call last):\n"
            '  File "pay.py", line 3, in <module>\n'
            "    pay()\n"
            "ValueError: amount must be positive\n"
            "INFO:payments:retrying"
        )
        records = fmt.parse(frame(fmt, text), ctx)
        assert len(records) == 2
        assert records[0].ts == ctx.observed_ns
        assert records[0].level is Level.ERROR
        assert records[0].message == "payment failed"
        assert records[0].fields is not None
        assert records[0].fields["logger"] == "root"
        assert records[0].fields["exception_type"] == "ValueError"
        assert records[1].message == "retrying"

    def test_stamp_without_level(self) -> None:
        """A stamped line with no level token keeps its whole text and gets a guessed level."""
        rec = parse_one("2026-11-21 00:01:36,014 connection refused by smtp-relay")
        assert rec.message == "connection refused by smtp-relay"
        assert rec.level is Level.WARNING
        assert rec.parse_error is None

    def test_source_zone_applies(self) -> None:
        """A zone-less stamp is read in the source's zone."""
        plus_one = timezone(timedelta(hours=1))
        rec = parse_one("2026-11-21 00:01:36,014 INFO [w] x", make_ctx(plus_one))
        assert rec.ts == ns(2026, 11, 20, 23, 1, 36, 14)

    def test_unrecognised_event_keeps_raw(self) -> None:
        """An event that is not Python logging is kept with `parse_error` and message == raw."""
        rec = parse_one("something else entirely")
        assert rec.parse_error
        assert rec.message == rec.raw == "something else entirely"
        assert rec.ts == rec.observed_ts

    def test_layouts_mixed_in_one_batch(self) -> None:
        """Switching layouts inside one batch never lets one layout shadow another."""
        lines = [
            "2026-11-21 00:00:01,000 INFO [a.b] one",
            "2026-11-21 00:00:02,000 x",
            "2026-11-21 00:00:03,000 - a.b - ERROR - three",
            "2026-11-21 00:00:04,000 INFO [a.b] four",
            "2026-11-21 00:00:05,000 WARNING a.b: five",
            "2026-11-21 00:00:06,000 INFO [a.b] six",
        ]
        records = PythonLoggingFormat().parse(lines, make_ctx())
        assert [r.message for r in records] == ["one", "x", "three", "four", "five", "six"]
        assert [r.ts for r in records] == [ns(2026, 11, 21, 0, 0, s, 0) for s in range(1, 7)]
