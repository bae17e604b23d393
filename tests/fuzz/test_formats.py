"""Fuzzing the log formats: any text in, one storable Record per event out, never an exception.

Covers every registered format's `sniff` and `parse`, detection, multi-line framing, timestamps and
levels; inputs are mutated real lines and soups of the fragments parsers look for.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzzing import (
    INT64,
    OBSERVED_NS,
    SAMPLE_LINES,
    ZONES,
    assert_storable,
    digit_runs,
    fuzz,
    log_text,
    make_context,
    mutated,
)
from loglens.formats import registry
from loglens.formats.detect import detect_format
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.formats.multiline import EventFramer
from loglens.formats.plain import PlainTextFormat
from loglens.formats.timestamp import TimestampParser, to_iso_ms
from loglens.record import Level

FORMAT_NAMES = list(registry())
decimals = digit_runs.map(".{}".format)
events_text = st.one_of(mutated(), log_text())
lines_text = st.one_of(mutated(newlines=False), log_text(newlines=False))


def _lines(events: list[str]) -> list[str]:
    return [line for event in events for line in event.split("\n")]


class TestFormats:
    @pytest.mark.parametrize("name", FORMAT_NAMES)
    @fuzz()
    @given(events=st.lists(events_text, max_size=6), tz=st.sampled_from(ZONES))
    def test_parse_gives_one_storable_record_per_event(
        self, name: str, events: list[str], tz: tzinfo
    ) -> None:
        """Any events give exactly one record each, in order, all of which the store can write."""
        fmt = registry()[name]
        for line in _lines(events):
            assert fmt.sniff(line) in (True, False)
        records = fmt.parse(events, make_context(tz))
        assert len(records) == len(events)
        assert_storable(records)

    @fuzz()
    @given(lines=st.lists(lines_text, max_size=12), tz=st.sampled_from(ZONES))
    def test_detect_frame_parse_as_a_file_is_read(self, lines: list[str], tz: tzinfo) -> None:
        """Lines go through detection, framing and parsing as a file's do, and every line is kept."""
        detection = detect_format(lines, list(registry().values()), PlainTextFormat())
        assert 0.0 <= detection.score <= 1.0
        framer = EventFramer(detection.fmt)
        events = framer.feed(lines) + framer.flush()
        assert all(events)
        kept = sum(event.count("\n") + 1 for event in events) + framer.dropped_lines
        assert kept == sum(1 for line in lines if line) or detection.fmt.multiline
        records = detection.fmt.parse(events, make_context(tz))
        assert len(records) == len(events)
        assert_storable(records)


class TestFraming:
    @pytest.mark.parametrize("name", [name for name, fmt in registry().items() if fmt.multiline])
    @fuzz()
    @given(
        chunks=st.lists(st.lists(lines_text, max_size=6), max_size=4),
        max_bytes=st.sampled_from([16, 200, 256 * 1024]),
        max_lines=st.sampled_from([2, 5, 2000]),
    )
    def test_framing_keeps_or_counts_every_line(
        self, name: str, chunks: list[list[str]], max_bytes: int, max_lines: int
    ) -> None:
        """Framed in any chunking, every non-empty line is in an event or counted as dropped, and the
        bytes held match the open event."""
        framer = EventFramer(registry()[name], max_event_bytes=max_bytes, max_event_lines=max_lines)
        events: list[str] = []
        for chunk in chunks:
            events += framer.feed(chunk)
            assert framer.pending_bytes() >= 0
        events += framer.flush()
        assert framer.pending_bytes() == 0
        lines = [line for chunk in chunks for line in chunk]
        framed = sum(
            1 for event in events for line in event.split("\n") if not line.startswith("…[truncated")
        )
        assert framed + framer.dropped_lines >= sum(1 for line in lines if line)


class TestTimestamps:
    @fuzz()
    @given(text=st.one_of(log_text(max_pieces=6), mutated(SAMPLE_LINES)), tz=st.sampled_from(ZONES))
    def test_parse_and_prefix_give_a_storable_time_or_none(self, text: str, tz: tzinfo) -> None:
        """Any text is a time the store can hold (ns in int64, printable as ISO) or no time at all."""
        for reference in (None, 1_795_305_600_000_000_000):
            parser = TimestampParser(tz=tz, reference_ns=reference)
            found = [parser.parse(text), parser.parse(text)]  # the second try takes the memo path
            prefix = parser.parse_prefix(text)
            if prefix is not None:
                found.append(prefix[0])
                assert 0 < prefix[1] <= len(text)
            for ns in found:
                if ns is not None:
                    assert INT64[0] <= ns <= INT64[1]
                    to_iso_ms(ns)
            assert found[0] == found[1]

    @fuzz()
    @given(
        value=st.one_of(
            st.integers(),
            st.floats(),
            st.text(max_size=30),
            st.builds(
                "{}{}{}".format,
                st.sampled_from(["", "-", " "]),
                digit_runs,
                st.just("") | digit_runs.map(".{}".format),
            ),
        )
    )
    def test_epoch_numbers_give_a_plausible_time_or_none(self, value: int | float | str) -> None:
        """An epoch value of any type and size is a time within 1990–2100 or None."""
        ns = TimestampParser(tz=None).parse_epoch(value)
        assert ns is None or 631_152_000 * 10**9 <= ns < 4_102_444_800 * 10**9


class TestLevels:
    @fuzz()
    @given(
        value=st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=20), log_text(max_pieces=4))
    )
    def test_level_names_give_a_level_or_none(self, value: str | int | float | None) -> None:
        """Any level field value is a Level or None, never an error."""
        assert level_from_name(value) in (None, *Level)

    @fuzz()
    @given(text=st.one_of(log_text(), mutated()))
    def test_classifier_gives_a_level(self, text: str) -> None:
        """The keyword classifier gives a Level for any message."""
        assert LevelClassifier().classify(text) in tuple(Level)


BIG = "9" * 4400
"""More digits than `int()` converts (4,300): a parser that calls it on them raises ValueError."""


class TestFoundByFuzzing:
    def test_a_year_past_2262_or_before_1677_is_no_time(self) -> None:
        """A stamp outside the store's int64 ns range is no time: the line is timed when it was read."""
        records = registry()["plain"].parse(["9999-12-31T23:59:59Z service started"], make_context())
        assert records[0].ts == OBSERVED_NS
        assert_storable(records)
        assert TimestampParser(tz=UTC).parse("0001-01-01T00:00:00Z") is None
        assert TimestampParser(tz=UTC).parse("2262-04-09T00:00:00Z") is not None

    def test_an_epoch_of_thousands_of_digits_is_no_time(self) -> None:
        """An epoch text longer than any time in any unit is None, not a ValueError from int()."""
        assert TimestampParser(tz=UTC).parse_epoch(BIG) is None
        assert TimestampParser(tz=UTC).parse_epoch(BIG + ".5") is None

    @pytest.mark.parametrize(
        ("name", "line"),
        [
            ("syslog", "<12>app[10000000023]: message from SysLogHandler"),
            ("syslog", "<165>1 2026-11-21T22:14:15.003Z host app 99999999999 - - message"),
            ("syslog", f"<12>app[{BIG}]: message"),
            ("json", '{"msg":"x","pid":99999999999}'),
            ("java", "2026-11-21T00:01:21.438+01:00  INFO 99999999999 --- [main] c.e.App : started"),
            ("apache_error", "[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 99999999999] gone"),
        ],
    )
    def test_a_pid_past_32_bits_is_no_pid(self, name: str, line: str) -> None:
        """A process id the store's 32-bit column cannot hold is no pid (the record is still stored)."""
        records = registry()[name].parse([line], make_context())
        assert records[0].pid is None
        assert_storable(records)

    @pytest.mark.parametrize(
        ("name", "line"),
        [
            ("logfmt", "level=176368323700000000000"),
            ("logfmt", f"n={BIG}"),
            ("kernel", f"6,{BIG},5140900,-;usb 1-1: new device"),
            ("kernel", f"6,339,{BIG},-;usb 1-1: new device"),
            ("clf", f'1.2.3.4 - - [21/Nov/2026:00:00:25 +0000] "GET / HTTP/1.1" 200 {BIG}'),
            ("apache_error", f"[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 1:tid {BIG}] gone"),
            ("json", '{"msg":"x","nested":' + "[" * 300 + "]" * 300 + "}"),
            ("json", '{"msg":"x","ts":"' + BIG + '"}'),
        ],
    )
    def test_huge_numbers_and_deep_nesting_are_stored(self, name: str, line: str) -> None:
        """Numbers past 64 bits (or past int()'s 4,300 digits) and JSON nested past what orjson writes
        make a storable record, not a ValueError or a batch the store refuses."""
        records = registry()[name].parse([line], make_context())
        assert len(records) == 1
        assert_storable(records)

    def test_a_lone_surrogate_escape_in_logfmt_is_kept_as_written(self) -> None:
        """`\\ud800` names half a character: the text keeps the escape rather than a lone surrogate."""
        records = registry()["logfmt"].parse(['msg="a \\ud800 b \\u00e9"'], make_context())
        assert records[0].message == "a \\ud800 b é"
        assert_storable(records)

    @pytest.mark.parametrize(
        ("name", "line"),
        [
            ("clf", '1.2.3.4 - - [21/Nov/2026:00:00::5 +0000] "GET / HTTP/1.1" 200 1'),
            ("clf", '1.2.3.4 - - [21/Nov/2026:00:00:2\u0663 +0000] "GET / HTTP/1.1" 200 1'),
            ("python", "2026-11-21 00:01:3\u0663,014 INFO [worker.tasks] rendered"),
            ("python", "2026-11-21 00:01:36,01\u0663 INFO [worker.tasks] rendered"),
            ("java", "2026-11-21 00:01:2\u0663.438 INFO  [main] c.a.b.Service - started"),
            ("java", "00:01:21.43\u0663 [main] INFO  c.a.b.Service - started"),
        ],
    )
    def test_a_stamp_with_odd_seconds_is_read_or_left_not_a_crash(self, name: str, line: str) -> None:
        """A CLF stamp whose seconds are not two digits (`00::5`), and Python or Java stamps with digits
        of another script, give a record: their seconds are looked up in tables of ASCII digits."""
        records = registry()[name].parse([line], make_context())
        assert len(records) == 1
        assert_storable(records)
