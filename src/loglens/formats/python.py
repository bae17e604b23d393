"""Python `logging` output, with tracebacks (and chained exceptions) joined onto the line that logged them.

Recognises the corpus layout and the layouts `logging` users most often configure; see `PythonLoggingFormat`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from loglens.formats.base import SourceContext, unparsed_record
from loglens.formats.headers import HeaderLayouts
from loglens.formats.level import level_from_name
from loglens.formats.timestamp import MILLI_NS, MINSEC_NS, TimestampParser
from loglens.record import Level, Record

__all__ = ["PythonLoggingFormat", "python_exceptions"]

# ASCII digits only (`\d` takes any script's): the minutes, seconds and milliseconds are table keys.
_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}"
_LEVELS = r"CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG|NOTSET|TRACE"

# Header layouts. Every pattern yields (stamp, level, logger, message) except the cookbook one, whose
# name comes before its level; the basicConfig layout has no stamp (its group is empty).
_HEADERS: tuple[re.Pattern[str], ...] = (
    # `%(asctime)s %(levelname)s [%(name)s] %(message)s` (the corpus)
    re.compile(rf"({_STAMP}) +([A-Za-z]+) +\[([^\]]*)\] ?(.*)"),
    # `%(asctime)s - %(name)s - %(levelname)s - %(message)s` (the logging cookbook)
    re.compile(rf"({_STAMP}) - (.*?) - ([A-Za-z]+) - (.*)"),
    # `%(asctime)s %(levelname)s %(name)s: %(message)s`, also `[LEVEL]` or `%(levelname)-8s` padding
    re.compile(rf"({_STAMP}) +\[?({_LEVELS})\]? +([^\s:\[\]]+): ?(.*)"),
    # Flask's default: `[%(asctime)s] %(levelname)s in %(module)s: %(message)s`
    re.compile(rf"\[({_STAMP})\] ([A-Za-z]+) in ([^\s:]+): ?(.*)"),
    # basicConfig's default: `%(levelname)s:%(name)s:%(message)s`
    re.compile(r"()(CRITICAL|ERROR|WARNING|INFO|DEBUG):([^:\s]*):(.*)"),
    # Any other line starting with the stamp, with or without a level: `%(asctime)s %(message)s`, …
    re.compile(rf"({_STAMP})[ :|-]+(?:\[?({_LEVELS})\]?[ :|-]+)?()(.*)"),
)
_NAME_FIRST = 1  # the last layout is the catch-all (see HeaderLayouts)

# log4j writes the same comma-millisecond stamp. Its lines are refused here when they carry what
# Python's logging never prints: a level name it does not use (WARN, TRACE, FATAL) before `[thread]`,
# or `INFO` padded with two or more spaces before `[` (log4j's `%-5p`). See the class docstring.
# Refused too: log4j's `LEVEL [thread] org.pkg.Class: message` (Hadoop and most Java servers), whose
# logger is a dotted Java class name ending in a capitalised class and a colon, and log4j's
# `- LEVEL [thread] - message` (ZooKeeper), where Python's cookbook layout has a logger name first.
_SNIFF_STAMP = re.compile(
    rf"{_STAMP}(?! +(?:(?:WARN|TRACE|FATAL) +|INFO {{2,}})\[)"
    r"(?! +[A-Z]+ +\[[^\]]*\] +(?:[a-z_][\w$]*\.){2,}[A-Z][\w$]*: )"
    r"(?! +- +(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL) +\[)"
).match
_SNIFF_FLASK = re.compile(rf"\[{_STAMP}\] ").match
_SNIFF_BASIC = re.compile(r"(?:CRITICAL|ERROR|WARNING|INFO|DEBUG):[^:\s]*:").match
_TRACEBACK = "Traceback (most recent call last):"
_CHAIN_PHRASES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_EXC_TYPE = re.compile(r"[A-Za-z_][\w.]*(?=:|$)").match

# ns of a stamp's "MM:SS" and "mmm" parts: two dict hits are cheaper than slicing and int(). The hour
# itself goes through the source's TimestampParser once, so its zone rules apply; zones change offset
# on whole hours, so adding minutes to the hour is exact (except inside a repeated DST hour, where
# the parser's own choice for the hour's start holds for the whole hour).
# Bounds on the per-instance memos: values come from the input, which must not grow memory unbounded.
_MEMO_LIMIT = 4096


def python_exceptions(continuation: str) -> list[str]:
    """The exception lines (`ValueError: bad`) of a traceback text, oldest first.

    An exception line is the first unindented line after a `Traceback (most recent call last):`
    header; frames and source lines are indented, and blank lines, `^^^^` markers and the chaining
    phrases between tracebacks are skipped.
    """
    found: list[str] = []
    expecting = False
    for line in continuation.split("\n"):
        if not line or line[0] in " \t":
            continue
        if line.startswith(_TRACEBACK):
            expecting = True
        elif expecting:
            found.append(line)
            expecting = False
    return found


def exception_type(line: str) -> str:
    """`pkg.SomeError` from `pkg.SomeError: text`, or the text before the first colon otherwise."""
    m = _EXC_TYPE(line)
    if m is not None:
        return m.group()
    return line.partition(":")[0].strip()


def traceback_fields(continuation: str) -> dict[str, Any] | None:
    """The exception fields of an event's continuation text, or None when it holds no traceback."""
    if _TRACEBACK not in continuation:
        return None
    excs = python_exceptions(continuation)
    fields: dict[str, Any] = {"stack": continuation}
    if excs:
        last = excs[-1]
        fields["exception"] = last
        fields["exception_type"] = exception_type(last)
        if len(excs) > 1 and any(p in continuation for p in _CHAIN_PHRASES):
            fields["exception_chain"] = [exception_type(e) for e in excs]
    return fields


class PythonLoggingFormat:
    """Python `logging` lines; the traceback that follows a line belongs to its event.

    Headers: `2026-11-21 00:01:36,014 INFO [worker.tasks] msg`, `… - name - LEVEL - msg`,
    `… LEVEL name: msg`, Flask's `[…] LEVEL in module: msg` and basicConfig's `LEVEL:name:msg`
    (no stamp: the record takes the observation time). Fields: `logger`; with a traceback also
    `exception` (the last exception line), `exception_type`, `stack` (the continuation text) and,
    for chained exceptions, `exception_chain` (the types, oldest first).

    Telling Python from Java: `asctime` always writes comma milliseconds, so a dot-millisecond line
    (logback) is never a Python header. log4j also writes commas; `JavaLogFormat` claims a comma line
    only in log4j's `LEVEL [thread] logger: msg` / `- msg` shape, and this format refuses a comma line
    when it shows a log4j-only trait (level WARN/TRACE/FATAL before `[`, or `INFO` padded to 5). What
    is left ambiguous is a Python line whose message starts with `word - ` or `dotted.word: `
    (`ERROR [app] config.yaml: unreadable`): both formats accept it, and detection decides on the
    other lines (on the corpus' worker.log, Java accepts none of 10 470 headers).
    """

    name: ClassVar[str] = "python"
    multiline: ClassVar[bool] = True

    def __init__(self) -> None:
        self._layouts = HeaderLayouts(_HEADERS)
        self._levels: dict[str, Level | None] = {}
        self._hours: dict[str, int | None] = {}
        self._parser: TimestampParser | None = None

    def sniff(self, line: str) -> bool:
        """True on a header line; false on traceback text, blank lines and other formats' lines."""
        c = line[:1]
        if c.isdigit():
            return line[19:20] == "," and _SNIFF_STAMP(line) is not None
        if c == "[":
            return line[20:21] == "," and _SNIFF_FLASK(line) is not None
        if c and c in "CDEIW":
            return _SNIFF_BASIC(line) is not None
        return False

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per event; an event whose header matches no layout gets `parse_error`."""
        if self._parser is not ctx.timestamps or len(self._hours) > _MEMO_LIMIT:
            # Hour bases depend on the source's zone, so they are only reused for the same parser.
            self._parser = ctx.timestamps
            self._hours = {}
        hours = self._hours
        level_memo = self._levels
        layouts = self._layouts
        parse_ts = ctx.timestamps.parse
        minsec_ns = MINSEC_NS
        milli_ns = MILLI_NS
        classify = ctx.levels.classify
        observed = ctx.observed_ns
        service = ctx.service
        source = ctx.source
        host = ctx.host
        out: list[Record] = []
        append = out.append
        for event in events:
            nl = event.find("\n")
            header = event if nl < 0 else event[:nl]
            m = layouts.front(header)
            i = layouts.front_index
            if m is None:
                i, m = layouts.match_other(header)
            if m is None:
                append(unparsed_record(event, "not a Python logging line", ctx, classify(header)))
                continue
            if i == _NAME_FIRST:
                stamp, logger, token, message = m.groups()
            else:
                stamp, token, logger, message = m.groups()
            if stamp:
                # The hour is parsed once by the source's parser; the rest is table lookups.
                key = stamp[:13]
                base = hours.get(key, -1)
                if base == -1:
                    base = parse_ts(key + ":00:00")
                    hours[key] = base
                ts = observed if base is None else base + minsec_ns[stamp[14:19]] + milli_ns[stamp[20:23]]
            else:
                ts = observed
            level = level_memo.get(token) if token else None
            if level is None:
                if token and token not in level_memo:
                    level = level_from_name(token)
                    if len(level_memo) < _MEMO_LIMIT:
                        level_memo[token] = level
                if level is None:
                    level = classify(message)
            fields: dict[str, Any] = {"logger": logger} if logger else {}
            if nl >= 0:
                extra = traceback_fields(event[nl + 1 :])
                if extra is not None:
                    fields.update(extra)
            append(Record(ts, observed, service, source, message, event, level, host, None, fields or None))
        return out
