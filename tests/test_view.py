"""Tests for loglens.view: the live printer of `loglens tail` and `loglens run`."""

from __future__ import annotations

import io
import json

from loglens.output import LEVEL_STYLES
from loglens.query.language import compile_query
from loglens.query.matcher import RecordMatcher
from loglens.record import Level, Record
from loglens.view import LivePrinter

BASE_NS = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z


def rec(i: int, level: Level = Level.INFO, **kw: object) -> Record:
    values: dict[str, object] = {
        "ts": BASE_NS + i * 1_000_000_000,
        "observed_ts": BASE_NS,
        "service": "api",
        "source": "api.log",
        "message": f"msg {i}",
        "raw": f"msg {i}",
        "level": level,
    }
    values.update(kw)
    return Record(**values)  # type: ignore[arg-type]


def printed_messages(out: io.StringIO) -> list[str]:
    """The message (`msg N`, its last two words) of every printed line."""
    return [" ".join(line.split()[-2:]) for line in out.getvalue().splitlines()]


class BrokenStream:
    """A stream whose reader has gone away: every write raises BrokenPipeError."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        pass


class TestLivePrinter:
    def test_backlog_kept_until_caught_up(self) -> None:
        """Before caught_up nothing is printed; then only the last `backlog` records appear."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=3)
        printer([rec(i) for i in range(5)])
        printer([rec(5), rec(6)])
        assert out.getvalue() == ""
        assert printer.shown == 0
        printer.caught_up()
        assert printed_messages(out) == ["msg 4", "msg 5", "msg 6"]
        assert printer.shown == 3

    def test_live_after_caught_up(self) -> None:
        """After caught_up every batch is printed as soon as it is given, and caught_up again adds nothing."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=2)
        printer([rec(0)])
        printer.caught_up()
        printer([rec(1), rec(2)])
        assert printed_messages(out) == ["msg 0", "msg 1", "msg 2"]
        printer.caught_up()
        printer([rec(3)])
        assert printed_messages(out) == ["msg 0", "msg 1", "msg 2", "msg 3"]

    def test_backlog_zero_skips_catch_up(self) -> None:
        """backlog=0 shows none of the catch-up, only what arrives afterwards."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=0)
        printer([rec(0), rec(1)])
        printer.caught_up()
        assert out.getvalue() == ""
        printer([rec(2)])
        assert printed_messages(out) == ["msg 2"]

    def test_backlog_none_prints_from_start(self) -> None:
        """backlog=None prints every batch at once, and caught_up does not print anything twice."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=None)
        printer([rec(0), rec(1)])
        assert printed_messages(out) == ["msg 0", "msg 1"]
        printer.caught_up()
        assert printed_messages(out) == ["msg 0", "msg 1"]

    def test_backlog_counts_matching_records_only(self) -> None:
        """The backlog keeps the last matching records, so non-matching ones do not push them out."""
        out = io.StringIO()
        matcher = RecordMatcher(compile_query("level:>=error"))
        printer = LivePrinter(out, colour=False, matcher=matcher, backlog=2)
        levels = [Level.ERROR, Level.INFO, Level.ERROR, Level.CRITICAL, Level.INFO, Level.DEBUG]
        printer([rec(i, level) for i, level in enumerate(levels)])
        printer.caught_up()
        printer([rec(6, Level.INFO), rec(7, Level.FATAL)])
        matcher.close()
        assert printed_messages(out) == ["msg 2", "msg 3", "msg 7"]

    def test_plain_text_has_no_escape_codes(self) -> None:
        """colour=False prints aligned plain text: time, service, level and message, no escape codes."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=None)
        printer([rec(0, Level.ERROR)])
        text = out.getvalue()
        assert "\x1b" not in text
        assert text.startswith("2025-11-21T00:00:00.000Z  api")
        assert "ERROR" in text and text.endswith("msg 0\n")

    def test_colour_uses_severity_style(self) -> None:
        """colour=True paints the level with its severity colour."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=True, backlog=None)
        printer([rec(0, Level.ERROR)])
        assert LEVEL_STYLES["error"] + "ERROR" in out.getvalue()
        assert LEVEL_STYLES["warning"] not in out.getvalue()

    def test_json_lines(self) -> None:
        """as_json prints one JSON object per record with the documented keys."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=True, as_json=True, backlog=None)
        printer(
            [
                rec(0, Level.WARNING, host="h1", pid=42, fields={"status": 503}),
                rec(1, template_id="api-7", params=["x"], parse_error="no format"),
            ]
        )
        lines = out.getvalue().splitlines()
        assert len(lines) == 2
        first, second = (json.loads(line) for line in lines)
        assert first == {
            "ts": "2025-11-21T00:00:00.000Z",
            "lvl": "warning",
            "svc": "api",
            "host": "h1",
            "pid": 42,
            "msg": "msg 0",
            "src": "api.log",
            "fields": {"status": 503},
        }
        assert second["tpl"] == "api-7" and second["params"] == ["x"]
        assert second["parse_error"] == "no format"
        assert "\x1b" not in out.getvalue()

    def test_multiline_record_indented(self) -> None:
        """A multi-line event prints its first line, then its other lines indented beneath it."""
        out = io.StringIO()
        printer = LivePrinter(out, colour=False, backlog=None)
        printer([rec(0, message="Traceback", raw="Traceback\nValueError: x")])
        lines = out.getvalue().splitlines()
        assert lines[0].endswith("Traceback")
        assert lines[1] == "    ValueError: x"

    def test_broken_pipe_closes_once(self) -> None:
        """BrokenPipeError on write sets `closed`, calls on_closed once, and later calls print nothing."""
        stream = BrokenStream()
        calls: list[str] = []
        printer = LivePrinter(stream, colour=False, backlog=None, on_closed=lambda: calls.append("closed"))  # type: ignore[arg-type]
        printer([rec(0)])
        assert printer.closed
        assert calls == ["closed"]
        printer([rec(1)])
        printer.caught_up()
        assert stream.writes == 1
        assert calls == ["closed"]
        assert printer.shown == 0

    def test_broken_pipe_during_backlog_flush(self) -> None:
        """A reader gone before the backlog is shown is noticed at caught_up, once."""
        stream = BrokenStream()
        calls: list[int] = []
        printer = LivePrinter(stream, colour=False, backlog=5, on_closed=lambda: calls.append(1))  # type: ignore[arg-type]
        printer([rec(0), rec(1)])
        assert not printer.closed
        printer.caught_up()
        assert printer.closed
        printer([rec(2)])
        assert stream.writes == 1
        assert calls == [1]
