"""The log pane of `loglens monit`: the newest lines of one service or all, coloured by severity,
under a title saying what is shown (filter, paused, search)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from loglens.tui.data import (
    LEVEL_STYLES,
    MESSAGE_START,
    SERVICE_COLUMNS,
    SERVICE_START,
    TAG_START,
    TIME_COLUMNS,
    line_level,
)

SERVICE_COLOURS = ("cyan", "magenta", "green", "yellow", "#6f9ceb", "bright_cyan", "bright_magenta",
                   "bright_green", "bright_yellow", "bright_blue")  # fmt: skip
"""The colours `loglens logs` gives services, so the eye can follow one down the page."""


def service_colour(service: str) -> str:
    return SERVICE_COLOURS[zlib.crc32(service.encode()) % len(SERVICE_COLOURS)]


class SeverityHighlighter(Highlighter):
    """Colours a `log_line` by its level (read from its fixed columns): the time dim, the level in
    its colour, the service in its own, and the message too when it is a warning or worse."""

    def highlight(self, text: Text) -> None:
        plain = text.plain
        level = line_level(plain)
        if level is None:
            return
        style = LEVEL_STYLES.get(level, "")
        text.stylize("dim", 0, TIME_COLUMNS)
        text.stylize(style, TAG_START, TAG_START + 5)
        service = plain[SERVICE_START : SERVICE_START + SERVICE_COLUMNS].rstrip()
        text.stylize(service_colour(service), SERVICE_START, SERVICE_START + SERVICE_COLUMNS)
        if level in ("warning", "error", "critical", "fatal"):
            text.stylize(style, MESSAGE_START, len(plain))


class LogPane(Vertical):
    """A title line and a `Log` that keeps at most `max_lines` (it renders only what is visible)."""

    DEFAULT_CSS = """
    LogPane #log-title { height: 1; background: $boost; }
    LogPane #log-lines { height: 1fr; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield Static("", id="log-title")
        log = Log(id="log-lines", max_lines=self.max_lines, highlight=True)
        log.highlighter = SeverityHighlighter()
        yield log

    @property
    def view(self) -> Log:
        return self.query_one("#log-lines", Log)

    @property
    def lines(self) -> list[str]:
        """The lines the pane holds now, oldest first."""
        return list(self.view.lines)

    def write(self, lines: Iterable[str]) -> None:
        lines = list(lines)
        if lines:
            self.view.write_lines(lines)

    def replace(self, lines: Iterable[str]) -> None:
        self.view.clear()
        self.write(lines)

    def title(self, text: Text) -> None:
        self.query_one("#log-title", Static).update(text)
