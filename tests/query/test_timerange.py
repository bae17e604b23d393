"""Tests for loglens.query.timerange: --since/--until values."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from loglens.errors import QueryError
from loglens.query.timerange import parse_time_bound, time_clause

NOW = int(datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()) * 10**9


def ns(*args: int, tz: object = UTC) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp()) * 10**9  # type: ignore[arg-type, misc]


class TestParseTimeBound:
    @pytest.mark.parametrize(
        ("text", "back_s"),
        [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1w", 604800), ("now-1h", 3600)],
    )
    def test_durations(self, text: str, back_s: int) -> None:
        """A duration counts back from now."""
        assert parse_time_bound(text, NOW) == NOW - back_s * 10**9

    def test_absolute_local_and_zoned(self) -> None:
        """A time without a zone is local (the given zone); one with a zone keeps it."""
        berlin = ZoneInfo("Europe/Berlin")
        assert parse_time_bound("2026-02-12 10:00", NOW, berlin) == ns(2026, 2, 12, 9, 0)
        assert parse_time_bound("2026-02-12T10:00:00Z", NOW, berlin) == ns(2026, 2, 12, 10, 0)
        assert parse_time_bound("2026-02-12", NOW, ZoneInfo("UTC")) == ns(2026, 2, 12)

    def test_today_and_now(self) -> None:
        """`now` is now; `today` is local midnight."""
        assert parse_time_bound("now", NOW) == NOW
        assert parse_time_bound("today", NOW, ZoneInfo("UTC")) == ns(2026, 11, 21)
        assert parse_time_bound("yesterday", NOW, ZoneInfo("UTC")) == ns(2026, 11, 20)

    def test_garbage(self) -> None:
        """An unreadable time says which forms work."""
        with pytest.raises(QueryError, match="use a duration"):
            parse_time_bound("last tuesday-ish", NOW)


def test_time_clause() -> None:
    """Both bounds become bound parameters; none gives TRUE."""
    clause = time_clause("1h", "now", NOW)
    assert clause.where == "ts >= make_timestamp_ns(?) AND ts < make_timestamp_ns(?)"
    assert clause.params == [NOW - 3600 * 10**9, NOW]
    assert time_clause(None, None).where == "TRUE"


def test_format_duration_inverts_parse_duration() -> None:
    """Durations print in the largest unit dividing them, and read back to the same length."""
    from loglens.query.timerange import format_duration, parse_duration

    lengths = (60 * 10**9, 90 * 10**9, 3600 * 10**9, 1500 * 10**6, 7 * 86400 * 10**9)
    assert [format_duration(n) for n in lengths] == ["1m", "90s", "1h", "1.5s", "1w"]
    assert [parse_duration(format_duration(n)) for n in lengths] == list(lengths)
