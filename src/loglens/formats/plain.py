"""The fallback format: any text, one event per line plus the indented or trace lines that follow it.

Picks up a leading timestamp and level token when a line has them; otherwise the level is guessed
from the message's words. Never sets `parse_error`: plain text is, by definition, always parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from loglens.formats.base import SourceContext
from loglens.formats.level import level_from_name
from loglens.record import Record

__all__ = ["PlainTextFormat"]

# Unindented lines that still continue the event before them: Java/Python trace furniture. A Python
# traceback's first line comes after the line that logged it, so `Traceback …` continues too.
_CONTINUATION_STARTS = (
    "at ",
    "Caused by:",
    "Suppressed:",
    "...",
    "Traceback (most recent call last):",
    "During handling of the above exception",
    "The above exception was the direct cause",
)
# An exception line closing a traceback (`KeyError: 'x'`, `java.net.SocketTimeoutException: …`).
# A bare `Error: disk full` is not one (nothing before `Error`), nor is `app.Main: started` (one dot):
# those are ordinary messages and must start their own events.
_EXCEPTION_LINE = re.compile(
    r"[A-Za-z_$][\w.$]*(?:Error|Exception|Exit|Interrupt|Throwable|Failure|Warning)(?::|$)"
    r"|(?:[a-z_][\w$]*\.){2,}[A-Z][\w$]*(?::\s|$)"
).match
# A compiler's quoted source line (`12 |     let x = 5;`, rustc and gcc): part of the diagnostic above.
_SOURCE_GUTTER = re.compile(r"\d{1,6} +\|").match
# A level token: bracketed in any case (`[error]`, `<warn>`, `(INFO)`), all capitals (`ERROR`, `W`),
# or any case with a colon (`error:`, `Warning:`). A capitalised word without a colon (`Error
# connecting…`) is the message's first word, not a level.
_LEVEL_TOKEN = re.compile(
    r"(?:\[([A-Za-z]{1,9})\]|<([A-Za-z]{1,9})>|\(([A-Za-z]{1,9})\)|([A-Z]{1,9}):?|([A-Za-z]{2,9}):)(?=\s|$)"
).match
_AFTER_STAMP = " \t]|-:,"
# A level a line states further in, where its own header (not understood) put it: bracketed in any
# case (MariaDB's `… 3 [Warning] Aborted…`) or capitals after `#`/`|` (Redis' `…14.180 # WARNING …`).
# Only the first 80 characters are searched: a stated level belongs to the header, not the text.
_LEVEL_NAMES = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|ALERT|EMERG"
_STATED_LEVEL = re.compile(rf"\[((?i:{_LEVEL_NAMES}))\]|(?<=[#|] )({_LEVEL_NAMES})\b").search
_STATED_WITHIN = 80


LEVEL_COLUMN_SHARE = 0.9
MAX_HEADER_FIELDS = 12
MIN_SAMPLE_LINES = 20


@dataclass(frozen=True, slots=True)
class HeaderColumns:
    """A file's header learned from its first lines: whitespace-separated fields, the level at field
    `level` (0-based) on nearly every line, and, when `logger`, a `name:` field right after it.

    For layouts no format knows, such as Hadoop's `081109 203615 148 INFO dfs.DataNode$PacketResponder:
    …` or Blue Gene/L's `- 1117838570 2005.06.03 R02-M1-N0 … RAS KERNEL INFO …`.
    """

    level: int
    logger: bool


def learn_columns(lines: list[str]) -> HeaderColumns | None:
    """The header columns of a sample of lines, when one field position holds a level name (three
    letters or more) on at least 90% of the event lines; None otherwise or for fewer than 20 lines."""
    sample = [line for line in lines if line[:1] not in ("", " ", "\t")][:400]
    if len(sample) < MIN_SAMPLE_LINES:
        return None
    rows = [line.split(None, MAX_HEADER_FIELDS) for line in sample]
    need = LEVEL_COLUMN_SHARE * len(sample)
    for k in range(1, MAX_HEADER_FIELDS):
        hits = [f for f in rows if len(f) > k + 1 and len(f[k]) >= 3 and level_from_name(f[k]) is not None]
        if len(hits) >= need:
            named = sum(1 for f in hits if len(f) > k + 2 and f[k + 1].endswith(":"))
            return HeaderColumns(k, named >= LEVEL_COLUMN_SHARE * len(hits))
    return None


class PlainTextFormat:
    """Free text: an event is a line plus the continuation lines (indented, trace-like, blank) after it.

    sniff is False on a continuation line: empty or blank, starting with whitespace, a compiler's
    quoted source line (`12 |     let x = 5;`), `at `,
    `Caused by:`, `Suppressed:`, `...` (`... 12 more`), `Traceback (most recent call last):`, a Python
    chaining phrase, a closing bracket (the tail of a pretty-printed JSON/dict dump), or an exception
    line (`ValueError: bad`, `a.b.SomeClass: text`); True on every other line.

    parse: an optional leading timestamp (through `ctx.timestamps.parse_prefix`, else the observation
    time), then an optional level token (`ERROR`, `[error]`, `<warn>`, `W`, `error:`; a single capital
    letter only after a timestamp, so that "I think…" keeps its "I"), else a level the line states in
    its first 80 characters (`[Warning]`, `# WARNING`), else the level the classifier guesses from the
    message. The message is the rest of the first line (for an event that is a bare Python
    traceback, its closing exception line); continuation lines go to `fields["stack"]`.
    """

    name: ClassVar[str] = "plain"
    multiline: ClassVar[bool] = True

    def __init__(self, columns: HeaderColumns | None = None) -> None:
        self.columns = columns

    def for_sample(self, lines: list[str]) -> PlainTextFormat:
        """This format fitted to a file: with its header columns when `learn_columns` finds them."""
        columns = learn_columns(lines)
        return PlainTextFormat(columns) if columns is not None else self

    def sniff(self, line: str) -> bool:
        """True when `line` starts an event (it does not look like the continuation of one)."""
        c = line[:1]
        if not c or c in " \t\r\f\v}])":
            return False
        if c in "aCS.TD" and line.startswith(_CONTINUATION_STARTS):
            return False
        if c.isdigit() and _SOURCE_GUTTER(line) is not None:
            return False
        return _EXCEPTION_LINE(line) is None

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per event; plain text is never a parse error."""
        prefix = ctx.timestamps.parse_prefix
        classify = ctx.levels.classify
        observed = ctx.observed_ns
        service = ctx.service
        source = ctx.source
        host = ctx.host
        token_match = _LEVEL_TOKEN
        out: list[Record] = []
        append = out.append
        columns = self.columns
        for event in events:
            nl = event.find("\n")
            header = event if nl < 0 else event[:nl]
            if columns is not None:
                record = self._by_columns(columns, event, header, nl, ctx)
                if record is not None:
                    append(record)
                    continue
            found = prefix(header) if header[:1].isalnum() or header[:1] == "[" else None
            if found is not None:
                ts, end = found
                rest = header[end:].lstrip(_AFTER_STAMP)
            else:
                ts = observed
                rest = header.strip()
            level = None
            if found is not None and header[1:2].isdigit() and header[0] in "IWEF":
                # glog (`E1121 09:00:06.123456 …`): the level letter is glued to the stamp.
                level = level_from_name(header[0])
            m = None if level is not None else token_match(rest)
            if m is not None:
                name = m.group(m.lastindex or 0)
                # A lone capital is a level only after a stamp (glog-style `W`); else it is a word.
                if len(name) > 1 or found is not None or m.lastindex != 4:
                    level = level_from_name(name)
                if level is not None:
                    rest = rest[m.end() :].lstrip(" \t:|-")
            message = rest.rstrip()
            if level is None:
                stated = _STATED_LEVEL(message, 0, _STATED_WITHIN)
                if stated is not None:
                    level = level_from_name(stated.group(stated.lastindex or 0))
            if level is None:
                level = classify(message)
            fields = None
            if nl >= 0:
                stack = event[nl + 1 :]
                if stack.strip():
                    fields = {"stack": stack}
                if header.startswith("Traceback (most recent call last)"):
                    # An uncaught Python exception: what went wrong is its last line.
                    last = event[event.rfind("\n") + 1 :].strip()
                    if last and _EXCEPTION_LINE(last) is not None:
                        message = last
            append(Record(ts, observed, service, source, message, event, level, host, None, fields))
        return out

    def _by_columns(
        self, columns: HeaderColumns, event: str, header: str, nl: int, ctx: SourceContext
    ) -> Record | None:
        """A record read by the learned header columns, or None when this line does not have them."""
        k = columns.level
        fields = header.split(None, k + (2 if columns.logger else 1))
        if len(fields) <= k + 1 or len(fields[k]) < 3:
            return None
        level = level_from_name(fields[k])
        if level is None:
            return None
        extra: dict[str, Any] = {}
        message = fields[-1]
        if columns.logger and len(fields) == k + 3 and fields[k + 1].endswith(":"):
            extra["logger"] = fields[k + 1][:-1]
        elif columns.logger:
            message = " ".join(fields[k + 1 :])
        found = ctx.timestamps.parse_prefix(header) if header[:1].isalnum() or header[:1] == "[" else None
        ts = found[0] if found is not None else ctx.observed_ns
        if nl >= 0 and event[nl + 1 :].strip():
            extra["stack"] = event[nl + 1 :]
        return Record(ts, ctx.observed_ns, ctx.service, ctx.source, message.rstrip(), event, level, ctx.host,
                      None, extra or None)  # fmt: skip
