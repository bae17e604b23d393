"""Tests for loglens.output: terminal lines and the --json shape."""

from __future__ import annotations

import io

import pytest

from loglens.output import format_json, format_line, record_json, use_colour
from loglens.store.base import StoredRecord


def stored(**kw: object) -> StoredRecord:
    values: dict[str, object] = {
        "id": 1, "ts": 1_795_219_237_165_000_000, "service": "api", "host": "web-1", "pid": 42,
        "level": "error", "message": "boom", "raw": "boom", "source": "api.log", "template_id": None,
        "fields": None, "parse_error": None,
    }  # fmt: skip
    values.update(kw)
    return StoredRecord(**values)  # type: ignore[arg-type]


class TestFormatLine:
    def test_plain_columns(self) -> None:
        """Plain output is time, service, level, message, with no escape codes."""
        line = format_line(stored(), colour=False)
        assert line == "2026-11-21T00:00:37.165Z  api          ERROR    boom"

    def test_multiline_event_indents_the_rest(self) -> None:
        """A traceback's other lines print indented under the first."""
        line = format_line(stored(message="failed", raw="failed\nTraceback\n  x"), colour=False)
        assert line.splitlines() == [
            "2026-11-21T00:00:37.165Z  api          ERROR    failed",
            "    Traceback",
            "      x",
        ]

    def test_colour_by_severity(self) -> None:
        """Colour output styles the level with the severity colour (error #FF6B6B)."""
        assert "\x1b[38;2;255;107;107mERROR" in format_line(stored(), colour=True)


class TestJson:
    def test_keys_and_optional_ones(self) -> None:
        """tpl and parse_error appear only when known; fields is {} when empty."""
        assert list(record_json(stored())) == ["ts", "lvl", "svc", "host", "pid", "msg", "src", "fields"]
        full = record_json(stored(template_id="api-3", parse_error="json: bad", fields={"a": {"b": 1}}))
        assert (
            full["tpl"] == "api-3"
            and full["parse_error"] == "json: bad"
            and full["fields"] == {"a": {"b": 1}}
        )
        assert format_json(stored()).startswith('{"ts":"2026-11-21T00:00:37.165Z","lvl":"error"')


class TestUseColour:
    def test_not_a_tty(self) -> None:
        """A pipe or file gets no colour."""
        assert not use_colour(io.StringIO())

    def test_no_color_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """NO_COLOR turns colour off even on a terminal."""

        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        monkeypatch.delenv("NO_COLOR", raising=False)
        assert use_colour(Tty())
        monkeypatch.setenv("NO_COLOR", "1")
        assert not use_colour(Tty())
