"""Tests for formats.timestamp: every supported layout, zones, year/day inference, epochs and prefixes.

Expected values are computed independently with `datetime`, never with the parser under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from loglens.formats.timestamp import TimestampParser, to_iso_ms

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_of(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    nanos: int = 0,
    tz: tzinfo = UTC,
) -> int:
    """Exact ns since the epoch of a wall-clock moment in `tz`."""
    moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    return (moment - EPOCH) // timedelta(seconds=1) * 1_000_000_000 + nanos


def ms(n: int) -> int:
    return n * 1_000_000


def us(n: int) -> int:
    return n * 1_000


# A reference shortly after every stamp below, so year-less stamps land in 2026.
REFERENCE = ns_of(2026, 11, 22, 12)


def utc_parser() -> TimestampParser:
    return TimestampParser(tz=UTC, reference_ns=REFERENCE)


class TestIso8601:
    """ISO 8601 / RFC 3339 and the logging layouts built on it."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-21T00:00:37Z", ns_of(2026, 11, 21, 0, 0, 37)),
            ("2026-11-21T00:00:37.165Z", ns_of(2026, 11, 21, 0, 0, 37, ms(165))),
            ("2026-11-21T00:00:37.1Z", ns_of(2026, 11, 21, 0, 0, 37, ms(100))),
            ("2026-11-21T00:00:37.123456Z", ns_of(2026, 11, 21, 0, 0, 37, us(123456))),
            ("2026-11-21T00:00:37.123456789Z", ns_of(2026, 11, 21, 0, 0, 37, 123456789)),
            ("2026-11-21T00:00:37.1234567891234Z", ns_of(2026, 11, 21, 0, 0, 37, 123456789)),
            ("2026-11-21t00:00:37z", ns_of(2026, 11, 21, 0, 0, 37)),
            ("2026-11-21 00:00:37Z", ns_of(2026, 11, 21, 0, 0, 37)),
            ("2026-11-21T00:01:21.438+01:00", ns_of(2026, 11, 20, 23, 1, 21, ms(438))),
            ("2026-11-21T00:01:21.438+0100", ns_of(2026, 11, 20, 23, 1, 21, ms(438))),
            ("2026-11-21T00:01:21.438+01", ns_of(2026, 11, 20, 23, 1, 21, ms(438))),
            ("2026-11-21T00:01:21-05:00", ns_of(2026, 11, 21, 5, 1, 21)),
            ("2026-11-21T00:01:21+05:30", ns_of(2026, 11, 20, 18, 31, 21)),
            ("2026-11-21T00:01:21+05:45", ns_of(2026, 11, 20, 18, 16, 21)),
            ("2026-11-21T00:01:21-09:30", ns_of(2026, 11, 21, 9, 31, 21)),
            ("2026-11-21T00:01:21+14:00", ns_of(2026, 11, 20, 10, 1, 21)),
            ("2026-11-21 00:01:36.123 +01:00", ns_of(2026, 11, 20, 23, 1, 36, ms(123))),
            ("2026-11-21 00:01:36 UTC", ns_of(2026, 11, 21, 0, 1, 36)),
            ("2026-11-21 00:01:36", ns_of(2026, 11, 21, 0, 1, 36)),
        ],
    )
    def test_rfc3339_variants(self, text: str, expected: int) -> None:
        """T or space, 0-9+ fraction digits, and every offset spelling parse to the same instant."""
        assert utc_parser().parse(text) == expected

    def test_python_logging_comma(self) -> None:
        """Python logging's default asctime uses a comma before the milliseconds."""
        assert utc_parser().parse("2026-11-21 00:01:36,014") == ns_of(2026, 11, 21, 0, 1, 36, ms(14))

    def test_logback_default(self) -> None:
        """logback's default %d layout: space, dot, milliseconds, no zone."""
        assert utc_parser().parse("2026-11-21 00:01:21.438") == ns_of(2026, 11, 21, 0, 1, 21, ms(438))

    def test_go_log(self) -> None:
        """Go's log package writes slashes, optionally with microseconds."""
        parser = utc_parser()
        assert parser.parse("2026/11/21 00:01:36") == ns_of(2026, 11, 21, 0, 1, 36)
        assert parser.parse("2026/11/21 00:01:36.123456") == ns_of(2026, 11, 21, 0, 1, 36, us(123456))

    def test_basic_format(self) -> None:
        """Basic ISO 8601 without separators."""
        parser = utc_parser()
        assert parser.parse("20261121T000136Z") == ns_of(2026, 11, 21, 0, 1, 36)
        assert parser.parse("20261121T000136.5+0100") == ns_of(2026, 11, 20, 23, 1, 36, ms(500))

    def test_leap_second(self) -> None:
        """Second 60 is accepted and lands on the next minute's first second."""
        assert utc_parser().parse("2026-12-31T23:59:60Z") == ns_of(2027, 1, 1)


class TestOtherLayouts:
    """The non-ISO layouts, one real-looking line each."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Nov 21 00:05:08", ns_of(2026, 11, 21, 0, 5, 8)),
            ("Nov  1 00:05:08", ns_of(2026, 11, 1, 0, 5, 8)),
            ("Nov 1 00:05:08", ns_of(2026, 11, 1, 0, 5, 8)),
            ("nov 21 00:05:08", ns_of(2026, 11, 21, 0, 5, 8)),
            ("NOV 21 00:05:08.123456", ns_of(2026, 11, 21, 0, 5, 8, us(123456))),
            ("Nov 21 2026 00:05:08", ns_of(2026, 11, 21, 0, 5, 8)),
            ("November 21 2026 00:05:08", ns_of(2026, 11, 21, 0, 5, 8)),
            ("21/Nov/2026:00:00:25 +0000", ns_of(2026, 11, 21, 0, 0, 25)),
            ("21/Nov/2026:00:00:25 -0800", ns_of(2026, 11, 21, 8, 0, 25)),
            ("21/nov/2026:00:00:25 +0530", ns_of(2026, 11, 20, 18, 30, 25)),
            ("21/Nov/2026:00:00:25.123 +0000", ns_of(2026, 11, 21, 0, 0, 25, ms(123))),
            ("Sun Nov 22 02:27:33 2026", ns_of(2026, 11, 22, 2, 27, 33)),
            ("Sun Nov  1 02:27:33 2026", ns_of(2026, 11, 1, 2, 27, 33)),
            ("Sat Nov 21 00:01:36.123456 2026", ns_of(2026, 11, 21, 0, 1, 36, us(123456))),
            ("Sun, 22 Nov 2026 02:27:33 GMT", ns_of(2026, 11, 22, 2, 27, 33)),
            ("Sun, 22 Nov 2026 02:27:33 +0100", ns_of(2026, 11, 22, 1, 27, 33)),
            ("Sun, 22 Nov 2026 02:27:33 -0330", ns_of(2026, 11, 22, 5, 57, 33)),
            ("Sun, 22 Nov 2026 02:27:33 EST", ns_of(2026, 11, 22, 7, 27, 33)),
            ("22 Nov 2026 02:27:33 +0000", ns_of(2026, 11, 22, 2, 27, 33)),
            ("21-Nov-2026 00:01:21.438", ns_of(2026, 11, 21, 0, 1, 21, ms(438))),
            ("Nov 21, 2026 12:01:36 AM", ns_of(2026, 11, 21, 0, 1, 36)),
            ("Nov 21, 2026 12:01:36 PM", ns_of(2026, 11, 21, 12, 1, 36)),
            ("Nov 21, 2026 1:01:36 PM", ns_of(2026, 11, 21, 13, 1, 36)),
            ("I1121 00:01:36.123456", ns_of(2026, 11, 21, 0, 1, 36, us(123456))),
            ("E1121 23:59:59.000001", ns_of(2026, 11, 21, 23, 59, 59, us(1))),
            ("11/21/2026 00:01:36", ns_of(2026, 11, 21, 0, 1, 36)),
            ("11/21/2026 11:01:36 PM", ns_of(2026, 11, 21, 23, 1, 36)),
            ("261121  0:01:36", ns_of(2026, 11, 21, 0, 1, 36)),
            ("261121 10:01:36", ns_of(2026, 11, 21, 10, 1, 36)),
        ],
    )
    def test_layout(self, text: str, expected: int) -> None:
        """Each layout parses to the instant `datetime` computes for it."""
        assert utc_parser().parse(text) == expected

    @pytest.mark.parametrize(
        "text",
        ["  2026-11-21T00:00:37Z  ", "[2026-11-21T00:00:37Z]", " [ 2026-11-21T00:00:37Z ] "],
    )
    def test_spaces_and_brackets(self, text: str) -> None:
        """Surrounding whitespace and brackets are ignored."""
        assert utc_parser().parse(text) == ns_of(2026, 11, 21, 0, 0, 37)

    def test_dmesg_bracketed_ctime(self) -> None:
        """`dmesg -T` wraps ctime in brackets."""
        assert utc_parser().parse("[Sun Nov 22 02:27:33 2026]") == ns_of(2026, 11, 22, 2, 27, 33)

    def test_layout_switch(self) -> None:
        """After one layout has been remembered, a different layout still parses."""
        parser = utc_parser()
        assert parser.parse("Nov 21 00:05:08") == ns_of(2026, 11, 21, 0, 5, 8)
        assert parser.parse("2026-11-21 00:01:36,014") == ns_of(2026, 11, 21, 0, 1, 36, ms(14))
        assert parser.parse("Nov 21 00:05:09") == ns_of(2026, 11, 21, 0, 5, 9)

    def test_repeated_minute_stays_exact(self) -> None:
        """Memoised minutes give the same answers as the first parse, second by second."""
        parser = utc_parser()
        for second in range(60):
            text = f"2026-11-21 00:01:{second:02d}.250"
            assert parser.parse(text) == ns_of(2026, 11, 21, 0, 1, second, ms(250))


class TestGarbage:
    """Strings that are not timestamps give None instead of a guess."""

    @pytest.mark.parametrize(
        "text",
        [
            "hello",
            "",
            "   ",
            "[]",
            "2026-13-45 99:99:99",
            "2026-13-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026-11-21 24:00:00",
            "2026-11-21 23:60:00",
            "2026-11-21 23:59:61",
            "2026-11-21T00:00:37+25:00",
            "Foo 21 00:05:08",
            "Nov 32 00:05:08",
            "32/Nov/2026:00:00:25 +0000",
            "Nov 21, 2026 13:01:36 PM",
            "2026-11-21 00:00:37 trailing words",
            "12345",
            "99999999999",
        ],
    )
    def test_not_a_timestamp(self, text: str) -> None:
        """Invalid or out-of-range values are rejected."""
        assert utc_parser().parse(text) is None

    def test_bad_then_good(self) -> None:
        """A rejected value does not poison the memo for valid ones that follow."""
        parser = utc_parser()
        assert parser.parse("2026-02-30 00:00:00") is None
        assert parser.parse("2026-02-28 00:00:00") == ns_of(2026, 2, 28)


class TestZones:
    """Naive stamps are read in the parser's zone; explicit offsets always win."""

    def test_berlin_winter(self) -> None:
        """CET is UTC+1."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.parse("2026-01-15 12:00:00") == ns_of(2026, 1, 15, 11)

    def test_berlin_summer(self) -> None:
        """CEST is UTC+2."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.parse("2026-07-15 12:00:00") == ns_of(2026, 7, 15, 10)

    def test_dst_change_same_parser(self) -> None:
        """One parser crossing the spring-forward change applies each side's offset."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.parse("2026-03-29 01:59:59") == ns_of(2026, 3, 29, 0, 59, 59)
        assert parser.parse("2026-03-29 03:00:00") == ns_of(2026, 3, 29, 1)

    def test_matches_zoneinfo(self) -> None:
        """Every layout without an offset agrees with zoneinfo for New York."""
        parser = TimestampParser(tz=NEW_YORK, reference_ns=REFERENCE)
        assert parser.parse("2026-07-04 09:30:00") == ns_of(2026, 7, 4, 9, 30, tz=NEW_YORK)
        assert parser.parse("Jul  4 09:30:00") == ns_of(2026, 7, 4, 9, 30, tz=NEW_YORK)
        assert parser.parse("04-Jul-2026 09:30:00.000") == ns_of(2026, 7, 4, 9, 30, tz=NEW_YORK)

    def test_explicit_offset_ignores_zone(self) -> None:
        """A stamp with its own offset is not shifted again by the parser's zone."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.parse("2026-07-15T12:00:00Z") == ns_of(2026, 7, 15, 12)
        assert parser.parse("21/Nov/2026:00:00:25 -0800") == ns_of(2026, 11, 21, 8, 0, 25)

    def test_same_key_naive_and_offset(self) -> None:
        """The same minute with and without an offset is memoised separately."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.parse("2026-07-15 12:00:00") == ns_of(2026, 7, 15, 10)
        assert parser.parse("2026-07-15 12:00:00Z") == ns_of(2026, 7, 15, 12)
        assert parser.parse("2026-07-15 12:00:00") == ns_of(2026, 7, 15, 10)

    def test_fixed_offset_zone(self) -> None:
        """A plain `timezone` works as the source zone too."""
        parser = TimestampParser(tz=timezone(timedelta(hours=-3)), reference_ns=REFERENCE)
        assert parser.parse("2026-11-21 00:00:00") == ns_of(2026, 11, 21, 3)

    def test_default_zone_is_local(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a zone the parser uses the machine's zone, named by TZ."""
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        parser = TimestampParser(reference_ns=REFERENCE)
        assert parser.parse("2026-11-21 09:00:00") == ns_of(2026, 11, 21)


class TestYearInference:
    """Stamps without a year take the one that puts them closest before the reference."""

    def test_december_line_january_reference(self) -> None:
        """A file spanning New Year with a January mtime reads December lines as last year."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2027, 1, 2, 8))
        assert parser.parse("Dec 31 23:59:58") == ns_of(2026, 12, 31, 23, 59, 58)
        assert parser.parse("Jan  2 07:00:00") == ns_of(2027, 1, 2, 7)

    def test_few_hours_after_reference(self) -> None:
        """Clock skew: a stamp a few hours after the reference stays in the reference's year."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 6, 1, 12))
        assert parser.parse("Jun  1 18:00:00") == ns_of(2026, 6, 1, 18)

    def test_more_than_a_day_after(self) -> None:
        """A stamp days after the reference belongs to the previous year."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 6, 1, 12))
        assert parser.parse("Jun  5 00:00:00") == ns_of(2025, 6, 5)

    def test_feb_29(self) -> None:
        """Feb 29 goes back to the most recent leap year."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 6, 1))
        assert parser.parse("Feb 29 12:00:00") == ns_of(2024, 2, 29, 12)

    def test_glog_year(self) -> None:
        """glog stamps follow the same rule."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2027, 1, 2))
        assert parser.parse("W1231 10:00:00.000001") == ns_of(2026, 12, 31, 10, 0, 0, us(1))

    def test_yearless_in_zone(self) -> None:
        """Year-less stamps are read in the parser's zone."""
        parser = TimestampParser(tz=BERLIN, reference_ns=ns_of(2026, 8, 1))
        assert parser.parse("Jul 15 12:00:00") == ns_of(2026, 7, 15, 10)

    def test_live_reference(self) -> None:
        """Without a reference, now is used: today's date in the current year."""
        now = datetime.now(UTC) - timedelta(minutes=5)
        parser = TimestampParser(tz=UTC)
        text = now.strftime("%b %d %H:%M:%S")
        expected = ns_of(now.year, now.month, now.day, now.hour, now.minute, now.second)
        assert parser.parse(text) == expected


class TestTimeOnly:
    """Stamps with only a time of day take the reference's date, or the day before."""

    def test_same_day(self) -> None:
        """A time before the reference's time is on the reference's date."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 11, 21, 12))
        assert parser.parse("00:01:21.438") == ns_of(2026, 11, 21, 0, 1, 21, ms(438))

    def test_previous_day(self) -> None:
        """A time later than the reference's time is on the day before."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 11, 21, 0, 5))
        assert parser.parse("23:59:59.999") == ns_of(2026, 11, 20, 23, 59, 59, ms(999))

    def test_small_skew(self) -> None:
        """A few minutes after the reference still counts as the same day."""
        parser = TimestampParser(tz=UTC, reference_ns=ns_of(2026, 11, 21, 12))
        assert parser.parse("12:03:00") == ns_of(2026, 11, 21, 12, 3)

    def test_comma_fraction_and_zone(self) -> None:
        """Time-only stamps accept a comma fraction and use the parser's zone."""
        parser = TimestampParser(tz=BERLIN, reference_ns=ns_of(2026, 7, 15, 12))
        assert parser.parse("08:00:00,5") == ns_of(2026, 7, 15, 6, 0, 0, ms(500))


class TestEpoch:
    """Epoch numbers are told apart by magnitude and range-checked."""

    SECONDS = 1763683237

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1763683237, 1763683237 * 10**9),
            (1763683237.165, 1763683237 * 10**9 + ms(165)),
            ("1763683237", 1763683237 * 10**9),
            ("1763683237.165", 1763683237 * 10**9 + ms(165)),
            (" 1763683237.165123 ", 1763683237 * 10**9 + us(165123)),
            (1763683237165, 1763683237165 * 10**6),
            ("1763683237165", 1763683237165 * 10**6),
            (1763683237165123, 1763683237165123 * 10**3),
            (1763683237165123456, 1763683237165123456),
            ("1763683237165123456", 1763683237165123456),
            (631152000, 631152000 * 10**9),
            (1763683237165.5, 1763683237165 * 10**6 + us(500)),
        ],
    )
    def test_magnitudes(self, value: int | float | str, expected: int) -> None:
        """Seconds (with fraction), ms, µs and ns all resolve to the same kind of ns value."""
        assert utc_parser().parse_epoch(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            0,
            -1763683237,
            631151999,
            4102444800,
            99999999999,
            4102444800000,
            "abc",
            "",
            "17636832.37.1",
            "1763683237.x",
            "-1763683237",
            "1_763_683_237",
            "１７６３６８３２３７",
            float("nan"),
            float("inf"),
            True,
        ],
    )
    def test_implausible(self, value: int | float | str) -> None:
        """Values outside 1990..2100 in every unit, or not numbers, give None."""
        assert utc_parser().parse_epoch(value) is None

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1763683237", 1763683237 * 10**9),
            ("1763683237.165", 1763683237 * 10**9 + ms(165)),
            ("1763683237165", 1763683237165 * 10**6),
            ("1763683237165123", 1763683237165123 * 10**3),
            ("1763683237165123456", 1763683237165123456),
        ],
    )
    def test_numeric_strings_in_parse(self, text: str, expected: int) -> None:
        """parse() accepts epoch numbers in every unit too."""
        assert utc_parser().parse(text) == expected


class TestParsePrefix:
    """Timestamps at the start of a line, with the index where they end."""

    @pytest.mark.parametrize(
        ("line", "expected", "end"),
        [
            ("2026-11-21 00:01:36,014 INFO app: started", ns_of(2026, 11, 21, 0, 1, 36, ms(14)), 23),
            ("2026-11-21T00:01:21.438+01:00 [main] INFO", ns_of(2026, 11, 20, 23, 1, 21, ms(438)), 29),
            ("2026-11-21 00:01:36 +0100 x", ns_of(2026, 11, 20, 23, 1, 36), 25),
            ("[2026-11-21 00:01:36] x", ns_of(2026, 11, 21, 0, 1, 36), 21),
            ("[2026-11-21 00:01:36,014][INFO] x", ns_of(2026, 11, 21, 0, 1, 36, ms(14)), 25),
            ("Nov 21 00:05:08 host sshd[123]: Accepted", ns_of(2026, 11, 21, 0, 5, 8), 15),
            ("I1121 00:01:36.123456 12345 main.cc:10] hi", ns_of(2026, 11, 21, 0, 1, 36, us(123456)), 21),
            ("[Sun Nov 22 02:27:33 2026] usb 1-1: new", ns_of(2026, 11, 22, 2, 27, 33), 26),
            ("21-Nov-2026 00:01:21.438 INFO [main] x", ns_of(2026, 11, 21, 0, 1, 21, ms(438)), 24),
            ("Nov 21, 2026 12:01:36 AM org.Foo bar", ns_of(2026, 11, 21, 0, 1, 36), 24),
            ("2026/11/21 00:01:36 [error] 12#0: x", ns_of(2026, 11, 21, 0, 1, 36), 19),
            ("1763683237.165    123 10.0.0.1 TCP_MISS/200", 1763683237 * 10**9 + ms(165), 14),
            ("00:01:21.438 [main] DEBUG x", ns_of(2026, 11, 22, 0, 1, 21, ms(438)), 12),
            ("2026-11-21 00:01:36", ns_of(2026, 11, 21, 0, 1, 36), 19),
        ],
    )
    def test_stamped_lines(self, line: str, expected: int, end: int) -> None:
        """The stamp's instant and its end index (past a closing bracket) are returned."""
        assert utc_parser().parse_prefix(line) == (expected, end)

    @pytest.mark.parametrize(
        "line",
        [
            "",
            "\tat com.example.Foo.bar(Foo.java:42)",
            "    at java.base/java.lang.Thread.run",
            "Caused by: java.lang.IllegalStateException",
            "Traceback (most recent call last):",
            "INFO starting",
            "Started GET /",
            "123 items processed",
            "12:34:5678 not a time",
            "2026-11-21 00:01:36abc",
            "[INFO] 2026-11-21 00:01:36",
            " 2026-11-21 00:01:36 leading space",
            "2026-13-45 99:99:99 bad",
            '{"ts": "2026-11-21T00:00:37Z"}',
            "[",
        ],
    )
    def test_unstamped_lines(self, line: str) -> None:
        """Lines that do not start with a stamp (continuations, JSON, junk) give None."""
        assert utc_parser().parse_prefix(line) is None

    def test_alternating(self) -> None:
        """Stamped and continuation lines interleaved keep working (the last layout is kept)."""
        parser = utc_parser()
        for second in range(5):
            found = parser.parse_prefix(f"2026-11-21 00:01:{second:02d},000 ERROR boom")
            assert found == (ns_of(2026, 11, 21, 0, 1, second), 23)
            assert parser.parse_prefix("\tat Foo.bar(Foo.java:1)") is None


class TestToIsoMs:
    """The CLI's timestamp text."""

    @pytest.mark.parametrize(
        ("ns", "text"),
        [
            (ns_of(2026, 11, 21, 0, 0, 37, ms(165)), "2026-11-21T00:00:37.165Z"),
            (ns_of(2026, 11, 21, 0, 0, 37, 999_999_999), "2026-11-21T00:00:37.999Z"),
            (ns_of(2026, 11, 21), "2026-11-21T00:00:00.000Z"),
            (0, "1970-01-01T00:00:00.000Z"),
            (ns_of(1999, 12, 31, 23, 59, 59, ms(1)), "1999-12-31T23:59:59.001Z"),
        ],
    )
    def test_format(self, ns: int, text: str) -> None:
        """UTC, milliseconds (truncated), trailing Z."""
        assert to_iso_ms(ns) == text

    def test_round_trip(self) -> None:
        """Output parses back to the same millisecond."""
        parser = utc_parser()
        for offset_ms in range(0, 5000, 7):
            ns = ns_of(2026, 11, 21) + ms(offset_ms)
            assert parser.parse(to_iso_ms(ns)) == ns


class TestAccessors:
    """Public read-only state."""

    def test_zone_and_reference(self) -> None:
        """The zone and reference given are reported back."""
        parser = TimestampParser(tz=BERLIN, reference_ns=REFERENCE)
        assert parser.tz is BERLIN
        assert parser.reference_ns == REFERENCE
