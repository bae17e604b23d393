"""Tests for the Java format: logback, log4j and Spring Boot headers, stack-trace framing and fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from loglens.formats.base import SourceContext
from loglens.formats.java import JavaLogFormat
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

# Real-shaped logback output; long lines are split only to fit the line length, not in the log.
TRACE = "\n".join(
    [
        (
            "2026-11-21 09:14:05.118 ERROR [http-nio-8080-exec-12] c.a.b.service.SettlementService -"
            " Failed to settle invoice INV-2026-000884"
        ),
        (
            "org.springframework.dao.CannotAcquireLockException: could not execute statement [ERROR:"
            " deadlock detected]; SQL [update invoices set status=? where id=?]"
        ),
        (
            "\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException"
            "(HibernateJpaDialect.java:262)"
        ),
        "\tat com.acme.billing.service.SettlementService.settle(SettlementService.java:97)",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
        (
            "Caused by: org.hibernate.exception.LockAcquisitionException: could not execute statement"
            " [ERROR: deadlock detected]"
        ),
        (
            "\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert"
            "(SQLStateConversionDelegate.java:120)"
        ),
        "\t... 12 more",
        "Caused by: org.postgresql.util.PSQLException: ERROR: deadlock detected",
        "  Detail: Process 4121 waits for ShareLock on transaction 99812; blocked by process 4177.",
        "  Hint: See server log for query details.",
        "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2725)",
        "\t... 87 common frames omitted",
        (
            "2026-11-21 09:14:05.240 WARN  [HikariPool-1 housekeeper]"
            " com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Thread starvation or clock leap"
            " detected (housekeeper delta=1m2s)."
        ),
        (
            "2026-11-21 09:14:06.001 INFO  [scheduling-1] c.a.b.jobs.DunningJob - Dunning run"
            " finished: 3 reminders sent"
        ),
        (
            "2026-11-21 09:14:07.512 ERROR [http-nio-8080-exec-3] c.a.b.gateway.GatewayClient -"
            " Capture failed for pi_3QxT"
        ),
        "org.springframework.web.client.ResourceAccessException: I/O error on POST request: Read timed out",
        "\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:895)",
        "Caused by: java.net.SocketTimeoutException: Read timed out",
        "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
        "... 12 more",
    ]
)


PYTHON_LINES = [
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    "2026-11-21 00:01:36,014 INFO [celery.app.trace] Task tasks.render[1e42] succeeded in 0.2s: None",
    "2026-11-21 00:01:36,014 WARNING [worker.sync] Catalog sync slow: 12s",
    "2026-11-21 00:01:36,014 - payments.settle - ERROR - batch failed",
    "[2026-11-21 00:01:36,014] ERROR in app: Exception on /pay [POST]",
    "ERROR:root:payment failed",
]

OTHER_FORMATS = [
    '{"ts":"2026-11-21T09:14:02.377Z","level":"error","msg":"boom","trace_id":"4bf92f35"}',
    "Nov 21 09:14:02 bastion-01 sshd[812]: Failed password for root from 203.0.113.9 port 52144 ssh2",
    "<34>1 2026-11-21T09:14:02.377Z web-01 app 812 ID47 - payment failed",
    "2026-11-21T09:14:02.377Z web-01 app[812]: payment failed",
    '203.0.113.9 - - [21/Nov/2026:09:14:02 +0000] "GET /api/v1/cart HTTP/1.1" 502 157 "-" "curl/8.5.0"',
    'ts=2026-11-21T09:14:02.377Z level=warn msg="pool exhausted" pool=billing size=20',
]


def make_ctx(tz: timezone = UTC, observed: datetime = OBSERVED) -> SourceContext:
    """A context for a billing.log source in zone `tz`, observed at `observed`."""
    observed_ns = int(observed.timestamp()) * 1_000_000_000
    return SourceContext(
        source="billing.log",
        service="billing",
        host="billing-01",
        observed_ns=observed_ns,
        timestamps=TimestampParser(tz, observed_ns),
        levels=LevelClassifier(),
    )


def ns(year: int, month: int, day: int, hour: int, minute: int, sec: int, ms: int, tz: timezone = UTC) -> int:
    """ns since the epoch of a wall-clock time in `tz`."""
    wall = datetime(year, month, day, hour, minute, sec, tzinfo=tz)
    return int(wall.timestamp()) * 1_000_000_000 + ms * 1_000_000


def frame(fmt: JavaLogFormat, text: str) -> list[str]:
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
    (record,) = JavaLogFormat().parse([line], ctx or make_ctx())
    return record


class TestSniff:
    def test_header_layouts(self) -> None:
        """logback, logback's default, log4j and Spring Boot headers start events."""
        fmt = JavaLogFormat()
        assert fmt.sniff("2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.Svc - Payment captured")
        assert fmt.sniff(
            "2026-11-21 00:01:21.438 INFO  [HikariPool-1 housekeeper] c.z.h.p.HikariPool - stats"
        )
        assert fmt.sniff("00:01:21.438 [main] INFO  c.e.App - started")
        assert fmt.sniff("2026-11-21 00:01:21,438 ERROR [main] c.e.App: failed")
        assert fmt.sniff("2026-11-21 00:01:21,438 WARN  [main] c.e.App - pool low")
        assert fmt.sniff("2026-11-21T00:01:21.438+01:00  INFO 12345 --- [           main] c.e.App  : Started")
        assert fmt.sniff("2026-11-21 00:01:21.438  WARN 12345 --- [  task-1] c.e.Job  : slow")

    def test_trace_lines_continue(self) -> None:
        """Frames, `Caused by:`, `... 12 more`, omitted-frames and `  Detail:` lines are not headers."""
        fmt = JavaLogFormat()
        for line in TRACE.splitlines():
            if not line.startswith("2026-"):
                assert not fmt.sniff(line), line
        assert not fmt.sniff("")

    def test_python_lines_are_refused(self) -> None:
        """Python logging lines (comma milliseconds, no log4j shape) are not Java headers."""
        fmt = JavaLogFormat()
        for line in PYTHON_LINES:
            assert not fmt.sniff(line), line

    def test_other_formats_are_refused(self) -> None:
        """JSON, syslog (3164, 5424, ISO-stamped), CLF and logfmt lines are not Java headers."""
        fmt = JavaLogFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line

    def test_ambiguous_comma_line(self) -> None:
        """A Python message opening with `dotted.word: ` has log4j's shape and is accepted (documented)."""
        fmt = JavaLogFormat()
        assert fmt.sniff("2026-11-21 00:01:36,014 ERROR [worker.sync] config.yaml: unreadable")
        assert not fmt.sniff("2026-11-21 00:01:36,014 INFO [worker.main] Heartbeat: ok")


class TestFraming:
    def test_stack_traces_are_joined(self) -> None:
        """Each stack trace, with its causes and omitted frames, belongs to the line before it."""
        events = frame(JavaLogFormat(), TRACE)
        assert len(events) == 4
        assert events[0].count("\n") == 12
        assert events[3].endswith("... 12 more")

    def test_trace_fields(self) -> None:
        """The first trace line is the exception; the last `Caused by:` is the root cause."""
        fmt = JavaLogFormat()
        records = fmt.parse(frame(fmt, TRACE), make_ctx())
        first = records[0]
        assert first.level is Level.ERROR
        assert first.message == "Failed to settle invoice INV-2026-000884"
        assert first.fields is not None
        assert first.fields["thread"] == "http-nio-8080-exec-12"
        assert first.fields["logger"] == "c.a.b.service.SettlementService"
        assert first.fields["exception"].startswith(
            "org.springframework.dao.CannotAcquireLockException: could"
        )
        assert first.fields["exception_type"] == "org.springframework.dao.CannotAcquireLockException"
        assert first.fields["root_cause"] == "org.postgresql.util.PSQLException: ERROR: deadlock detected"
        assert first.fields["root_cause_type"] == "org.postgresql.util.PSQLException"
        assert first.fields["stack"].endswith("\t... 87 common frames omitted")
        last = records[3]
        assert last.fields is not None
        assert last.fields["root_cause"] == "java.net.SocketTimeoutException: Read timed out"

    def test_thread_with_spaces(self) -> None:
        """A thread name with spaces is kept whole, and WARN maps to warning."""
        fmt = JavaLogFormat()
        rec = fmt.parse(frame(fmt, TRACE), make_ctx())[1]
        assert rec.level is Level.WARNING
        assert rec.fields == {
            "thread": "HikariPool-1 housekeeper",
            "logger": "com.zaxxer.hikari.pool.HikariPool",
        }
        assert rec.message.startswith("HikariPool-1 - Thread starvation")
        assert rec.ts == ns(2026, 11, 21, 9, 14, 5, 240)


class TestParse:
    def test_corpus_layout(self) -> None:
        """The corpus layout gives ts, level, thread, logger and the text after `logger - `."""
        rec = parse_one(
            "2026-11-21 00:01:21.438 DEBUG [http-nio-8080-exec-8] c.a.b.repo.InvoiceRepository - "
            "findByAccountId returned 2 rows in 18 ms"
        )
        assert rec.ts == ns(2026, 11, 21, 0, 1, 21, 438)
        assert rec.level is Level.DEBUG
        assert rec.message == "findByAccountId returned 2 rows in 18 ms"
        assert rec.fields == {"thread": "http-nio-8080-exec-8", "logger": "c.a.b.repo.InvoiceRepository"}
        assert rec.parse_error is None

    def test_bracketed_logger(self) -> None:
        """Tomcat's bracketed logger name (`o.a.c.c.C.[.[.[/].[dispatcherServlet]`) is one logger."""
        rec = parse_one(
            "2026-11-21 00:01:21.438 ERROR [http-nio-8080-exec-2] o.a.c.c.C.[.[.[/].[dispatcherServlet] - "
            "Servlet.service() threw exception"
        )
        assert rec.fields is not None
        assert rec.fields["logger"] == "o.a.c.c.C.[.[.[/].[dispatcherServlet]"
        assert rec.message == "Servlet.service() threw exception"

    def test_log4j_layout(self) -> None:
        """log4j's `LEVEL [thread] logger: msg` with comma milliseconds is parsed."""
        rec = parse_one("2026-11-21 00:01:21,438 ERROR [main] com.example.App: cannot bind :8080")
        assert rec.ts == ns(2026, 11, 21, 0, 1, 21, 438)
        assert rec.level is Level.ERROR
        assert rec.fields == {"thread": "main", "logger": "com.example.App"}
        assert rec.message == "cannot bind :8080"

    def test_spring_boot_layout(self) -> None:
        """Spring Boot's stamp keeps its offset; pid, padded thread and padded logger are read."""
        rec = parse_one(
            "2026-11-21T00:01:21.438+01:00  INFO 12345 --- [           main] c.e.App"
            "                      : Started App in 3.2 seconds"
        )
        assert rec.ts == ns(2026, 11, 20, 23, 1, 21, 438)
        assert rec.pid == 12345
        assert rec.level is Level.INFO
        assert rec.fields == {"thread": "main", "logger": "c.e.App"}
        assert rec.message == "Started App in 3.2 seconds"

    def test_spring_boot_with_application_name(self) -> None:
        """Spring Boot 3.2's `[app]` column before the thread is skipped."""
        rec = parse_one(
            "2026-11-21T00:01:21.438Z  WARN 77 --- [billing] [nio-8080-exec-1] c.a.b.Svc : retrying capture"
        )
        assert rec.fields == {"thread": "nio-8080-exec-1", "logger": "c.a.b.Svc"}
        assert rec.level is Level.WARNING

    def test_logback_default_time_only(self) -> None:
        """A time-only stamp takes the observation day."""
        rec = parse_one("09:59:58.100 [main] INFO  c.e.App - started")
        assert rec.ts == ns(2026, 11, 21, 9, 59, 58, 100)
        assert rec.fields == {"thread": "main", "logger": "c.e.App"}
        assert rec.message == "started"

    def test_time_only_before_midnight(self) -> None:
        """A time-only stamp just before midnight, read just after, belongs to the previous day."""
        ctx = make_ctx(observed=datetime(2026, 11, 22, 0, 0, 5, tzinfo=UTC))
        rec = parse_one("23:59:59.900 [main] ERROR c.e.App - shutting down", ctx)
        assert rec.ts == ns(2026, 11, 21, 23, 59, 59, 900)

    def test_source_zone_applies(self) -> None:
        """A zone-less stamp is read in the source's zone."""
        plus_two = timezone(timedelta(hours=2))
        rec = parse_one("2026-11-21 00:01:21.438 INFO  [main] c.e.App - x", make_ctx(plus_two))
        assert rec.ts == ns(2026, 11, 20, 22, 1, 21, 438)

    def test_stamp_without_logger(self) -> None:
        """A stamped line outside the known layouts still yields ts, level and message."""
        rec = parse_one("2026-11-21 00:01:21.438 [main] something odd happened")
        assert rec.parse_error is None
        assert rec.ts == ns(2026, 11, 21, 0, 1, 21, 438)
        assert rec.message == "something odd happened"

    def test_unrecognised_event_keeps_raw(self) -> None:
        """An event that is not Java logging is kept with `parse_error` and message == raw."""
        rec = parse_one("\tat com.acme.Orphan.frame(Orphan.java:1)")
        assert rec.parse_error
        assert rec.message == rec.raw


class TestDashedLog4j:
    def test_zookeeper_layout(self) -> None:
        """log4j `%d - %-5p [%t:%C{1}@%L] - %m` parses (brackets inside the thread too); Python refuses it."""
        from datetime import UTC

        from loglens.formats.base import SourceContext
        from loglens.formats.level import LevelClassifier
        from loglens.formats.python import PythonLoggingFormat
        from loglens.formats.timestamp import TimestampParser
        from loglens.record import Level

        line = (
            "2015-07-29 17:41:44,747 - WARN  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774]"
            " - Notification time out: 3200"
        )
        fmt = JavaLogFormat()
        assert fmt.sniff(line) and not PythonLoggingFormat().sniff(line)
        ctx = SourceContext(
            source="zk", service="zk", host=None, observed_ns=0,
            timestamps=TimestampParser(tz=UTC), levels=LevelClassifier(),
        )  # fmt: skip
        (rec,) = fmt.parse([line], ctx)
        assert rec.message == "Notification time out: 3200"
        assert rec.level is Level.WARNING
        assert rec.fields is not None and rec.fields["thread"].startswith("QuorumPeer[myid=1]")
