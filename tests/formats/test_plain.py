"""Tests for the plain-text fallback format: continuation rules, stamps, level tokens, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.plain import HeaderColumns, PlainTextFormat, learn_columns
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = int(datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000_000

MIXED = """\
2026-11-21 09:14:02 payment service starting (build 4.2.1)
2026-11-21 09:14:05 [warn] gateway latency above 800ms
ERROR settlement worker crashed
Traceback (most recent call last):
  File "/srv/settle.py", line 12, in run
    settle()
    ~~~~~~^^
KeyError: 'customer'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/settle.py", line 14, in run
RuntimeError: settlement aborted
capture failed for pi_3QxT
java.net.SocketTimeoutException: Read timed out
\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)
at com.acme.billing.Gateway.capture(Gateway.java:88)
Caused by: java.io.IOException: connection reset
... 12 more
shutting down: 3 jobs left
"""


def make_ctx() -> SourceContext:
    """A context for a plain-text source in UTC, observed at noon."""
    return SourceContext(
        source="app/plain.log",
        service="app",
        host=None,
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(UTC, OBSERVED_NS),
        levels=LevelClassifier(),
    )


def ns(year: int, month: int, day: int, hour: int, minute: int, sec: int, ms: int) -> int:
    """ns since the epoch of a UTC wall-clock time."""
    wall = datetime(year, month, day, hour, minute, sec, tzinfo=UTC)
    return int(wall.timestamp()) * 1_000_000_000 + ms * 1_000_000


def frame(fmt: PlainTextFormat, text: str) -> list[str]:
    """The documented framing rule: a sniffed line starts an event, any other line joins the last."""
    events: list[list[str]] = []
    for line in text.splitlines():
        if fmt.sniff(line) or not events:
            events.append([line])
        else:
            events[-1].append(line)
    return ["\n".join(lines) for lines in events]


def parse_one(line: str) -> Record:
    """Parses a single-line event."""
    (record,) = PlainTextFormat().parse([line], make_ctx())
    return record


class TestSniff:
    def test_continuations(self) -> None:
        """Blank, indented, `at `, `Caused by:`, `... N more`, traceback and exception lines continue."""
        fmt = PlainTextFormat()
        for line in (
            "",
            "   ",
            "\tat com.acme.X.y(X.java:1)",
            "at com.acme.X.y(X.java:1)",
            "Caused by: java.io.IOException: reset",
            "... 12 more",
            "Traceback (most recent call last):",
            "During handling of the above exception, another exception occurred:",
            "The above exception was the direct cause of the following exception:",
            "KeyError: 'customer'",
            "requests.exceptions.ConnectionError: ('Connection aborted.',)",
            "psycopg2.errors.QueryCanceled: canceling statement due to statement timeout",
            "java.lang.NullPointerException",
            "}",
        ):
            assert not fmt.sniff(line), line

    def test_event_starts(self) -> None:
        """Ordinary text starts an event, including `Error: …` and one-dot `logger: …` lines."""
        fmt = PlainTextFormat()
        for line in (
            "payment service starting",
            "Error: disk full",
            "app.Main: started",
            "attempt 3 failed",
            "2026-11-21 09:14:02 ready",
        ):
            assert fmt.sniff(line), line

    def test_other_formats_start_events(self) -> None:
        """As the fallback, plain accepts JSON, syslog, CLF and logfmt lines (detection skips it)."""
        fmt = PlainTextFormat()
        assert fmt.sniff('{"level":"error","msg":"boom"}')
        assert fmt.sniff("Nov 21 09:14:02 bastion-01 sshd[812]: Accepted publickey for deploy")
        assert fmt.sniff('203.0.113.9 - - [21/Nov/2026:09:14:02 +0000] "GET / HTTP/1.1" 200 5')
        assert fmt.sniff("ts=2026-11-21T09:14:02Z level=info msg=ok")


class TestFraming:
    def test_mixed_text(self) -> None:
        """Tracebacks and Java traces stay with the line before them."""
        events = frame(PlainTextFormat(), MIXED)
        assert len(events) == 5
        assert events[2].startswith("ERROR settlement worker crashed\nTraceback")
        assert events[2].endswith("RuntimeError: settlement aborted")
        assert events[3].endswith("... 12 more")

    def test_stack_field(self) -> None:
        """Continuation lines go to `fields["stack"]`; the message is the first line."""
        fmt = PlainTextFormat()
        records = fmt.parse(frame(fmt, MIXED), make_ctx())
        crash = records[2]
        assert crash.message == "settlement worker crashed"
        assert crash.level is Level.ERROR
        assert crash.fields is not None
        assert crash.fields["stack"].startswith("Traceback (most recent call last):")
        assert records[0].fields is None


class TestParse:
    def test_stamp_and_bracketed_level(self) -> None:
        """A leading stamp gives ts; `[warn]` after it gives the level and is not in the message."""
        rec = parse_one("2026-11-21 09:14:05 [warn] gateway latency above 800ms")
        assert rec.ts == ns(2026, 11, 21, 9, 14, 5, 0)
        assert rec.level is Level.WARNING
        assert rec.message == "gateway latency above 800ms"

    def test_comma_millis_and_caps_level(self) -> None:
        """`2026-11-21 00:01:36,014 ERROR msg` is read with its milliseconds and level."""
        rec = parse_one("2026-11-21 00:01:36,014 ERROR ledger write failed")
        assert rec.ts == ns(2026, 11, 21, 0, 1, 36, 14)
        assert rec.level is Level.ERROR
        assert rec.message == "ledger write failed"

    def test_bracketed_stamp_and_angle_level(self) -> None:
        """`[stamp] <error> msg` drops both brackets from the message."""
        rec = parse_one("[2026-11-21 00:01:21.438] <error> queue consumer stalled")
        assert rec.ts == ns(2026, 11, 21, 0, 1, 21, 438)
        assert rec.level is Level.ERROR
        assert rec.message == "queue consumer stalled"

    def test_single_letter_level_after_stamp(self) -> None:
        """A lone `W` after a stamp is a warning level."""
        rec = parse_one("2026-11-21 09:00:03 W cache miss storm")
        assert rec.level is Level.WARNING
        assert rec.message == "cache miss storm"

    def test_single_letter_without_stamp_is_a_word(self) -> None:
        """Without a stamp, "I think…" keeps its "I" and is not an info token."""
        rec = parse_one("I think the deploy went fine")
        assert rec.message == "I think the deploy went fine"
        assert rec.ts == OBSERVED_NS

    def test_colon_level(self) -> None:
        """`error: msg` is a level token; `Error connecting…` is the message's first word."""
        rec = parse_one("error: could not open /var/lib/app/state.db")
        assert rec.level is Level.ERROR
        assert rec.message == "could not open /var/lib/app/state.db"
        word = parse_one("Error connecting to db-primary")
        assert word.message == "Error connecting to db-primary"
        assert word.level is Level.ERROR

    def test_level_guessed_from_words(self) -> None:
        """With no level token the classifier decides from the message."""
        assert parse_one("connection refused by 10.0.0.7").level is Level.WARNING
        assert parse_one("cache warmed: 1200 keys").level is Level.INFO

    def test_never_a_parse_error(self) -> None:
        """Any text, even empty or binary-looking, is parsed without `parse_error`."""
        fmt = PlainTextFormat()
        for rec in fmt.parse(["", "   ", "\x00\x01garbage", "}"], make_ctx()):
            assert rec.parse_error is None
            assert rec.ts == OBSERVED_NS


class TestStatedLevel:
    def test_level_stated_inside_an_unknown_header(self) -> None:
        """A bracketed or #-prefixed level near the start wins over keywords later in the text."""

        from loglens.formats.base import SourceContext
        from loglens.formats.level import LevelClassifier
        from loglens.formats.plain import PlainTextFormat
        from loglens.formats.timestamp import TimestampParser
        from loglens.record import Level

        ctx = SourceContext(
            source="x", service="x", host=None, observed_ns=0,
            timestamps=TimestampParser(tz=UTC), levels=LevelClassifier(),
        )  # fmt: skip
        lines = [
            "2209:M 22 Nov 2026 02:26:14.180 # WARNING Memory overcommit must be enabled! A save may fail.",
            "2026-11-22  2:27:11 3 [Warning] Aborted connection 3 to db: 'unconnected'",
            "job finished, see [error] section below? no: it failed",
        ]
        levels = [r.level for r in PlainTextFormat().parse(lines, ctx)]
        assert levels == [Level.WARNING, Level.WARNING, Level.ERROR]


_LEVELS = ("INFO", "WARN", "ERROR")
_COLUMN_LINES = tuple(
    f"251121 1015{i % 60:02d} {40 + i % 9} {_LEVELS[i % 3]} app.{('Cache', 'Db')[i % 2]}: evicted {i} entries"
    for i in range(60)
)


class TestLearnedColumns:
    LINES = list(_COLUMN_LINES)  # noqa: RUF012 - read only

    def test_level_column_and_logger_are_learned(self) -> None:
        """A layout no format knows, with a level on the same field of every line, is learned."""
        assert learn_columns(self.LINES) == HeaderColumns(level=3, logger=True)
        fmt = PlainTextFormat().for_sample(self.LINES)
        (record,) = fmt.parse([self.LINES[2]], make_ctx())
        assert (record.message, record.level, record.fields) == (
            "evicted 2 entries",
            Level.ERROR,
            {"logger": "app.Cache"},
        )

    def test_a_line_without_the_columns_is_read_as_before(self) -> None:
        """A line that does not fit the learned header is parsed by the ordinary rules."""
        fmt = PlainTextFormat(HeaderColumns(level=3, logger=True))
        (record,) = fmt.parse(["ERROR: disk full"], make_ctx())
        assert (record.message, record.level) == ("disk full", Level.ERROR)

    def test_nothing_learned_without_a_steady_level_field(self) -> None:
        """Free text, too few lines, or levels on fewer than 90% of lines: no columns."""
        assert learn_columns([f"user {i} logged in" for i in range(60)]) is None
        assert learn_columns(self.LINES[:10]) is None
        mixed = self.LINES[:50] + [f"note {i} without a level here" for i in range(10)]
        assert learn_columns(mixed) is None
        assert PlainTextFormat().for_sample(mixed).columns is None
