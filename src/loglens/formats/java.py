"""Java logging output (logback, log4j, Spring Boot), with stack traces joined onto the line that logged them.

See `JavaLogFormat` for the layouts and the rule that keeps it apart from Python's `logging`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from loglens.formats.base import SourceContext, process_id, unparsed_record
from loglens.formats.headers import HeaderLayouts
from loglens.formats.level import level_from_name
from loglens.formats.timestamp import MILLI_NS, MINSEC_NS, TimestampParser
from loglens.record import Level, Record

__all__ = ["JavaLogFormat", "java_exception_fields"]

# ASCII digits only (`\d` takes any script's): the minutes, seconds and milliseconds are table keys.
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}[.,][0-9]{3}"
_DATETIME = rf"{_DATE}[ T]{_TIME}(?:Z|[+-][0-9]{{2}}:?[0-9]{{2}})?"
_LEVELS = r"TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE"
# Logger names have no spaces or colons but may hold brackets: `o.a.c.c.C.[.[.[/].[dispatcherServlet]`.
_LOGGER_SEP = r"([^\s:]+)(?: +-|:) ?(.*)"

# Header layouts, tried most-recently-successful first; `parse` knows each one's group order.
_HEADERS: tuple[re.Pattern[str], ...] = (
    # logback/log4j `%d %-5level [%thread] %logger - %msg` (the corpus), log4j `… %c: %m`
    re.compile(rf"({_DATETIME}) +({_LEVELS}) +\[([^\]]*)\] +{_LOGGER_SEP}"),
    # logback's default `%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg`, with or without a date
    re.compile(rf"((?:{_DATE}[ T])?{_TIME}) +\[([^\]]*)\] +({_LEVELS}) +{_LOGGER_SEP}"),
    # Spring Boot: `… INFO 12345 --- [           main] c.e.App : msg`, since 3.2 with `[app] ` first
    re.compile(rf"({_DATETIME}) +({_LEVELS}) +(\d+) +--- +(?:\[[^\]]*\] +)?\[ *([^\]]*)\] +(\S+) +: ?(.*)"),
    # log4j `%d - %-5p [%t:%C{1}@%L] - %m` (ZooKeeper); the thread may hold brackets itself.
    re.compile(rf"({_DATETIME}) +- +({_LEVELS}) +\[(.*?)\] +- ()(.*)"),
    # Anything else starting with a stamp: optional `[thread]`, optional level, then the message.
    re.compile(rf"({_DATETIME}|{_TIME}) +(?:\[([^\]]*)\] +)?(?:({_LEVELS}) +)?()(.*)"),
)
# The last layout is the catch-all (see HeaderLayouts).
_DASHED = 3

_LOG4J_LEVELS = r"TRACE|DEBUG|INFO|WARN|ERROR|FATAL"
_SNIFF_DOT = re.compile(rf"{_DATETIME} +(?:(?:{_LEVELS}) |\[)").match
_SNIFF_TIME = re.compile(rf"{_TIME} +(?:(?:{_LEVELS}) |\[)").match
# A comma stamp is Python's too: claim it only in log4j's `LEVEL [thread] logger - ` shape, or with
# `logger: ` when the logger is dotted (so Python's `INFO [w] Heartbeat: ok` is not taken for log4j).
_SNIFF_COMMA = re.compile(
    rf"{_DATETIME} +(?:(?:(?:{_LOG4J_LEVELS}) +\[[^\]]*\]|\[[^\]]*\] +(?:{_LOG4J_LEVELS}))"
    r" +(?:[^\s:]+ +- |[^\s:.]*\.[^\s:]*: )"
    rf"|- +(?:{_LOG4J_LEVELS}) +\[.*?\] +- )"
).match

_EXC_CLASS = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?=: |:$|$)").match
_CAUSED_BY = "Caused by: "
# ns of a stamp's "MM:SS" and "mmm" parts: two dict hits are cheaper than slicing and int(). The hour
# itself goes through the source's TimestampParser once, so its zone rules apply; zones change offset
# on whole hours, so adding minutes to the hour is exact (except inside a repeated DST hour, where
# the parser's own choice for the hour's start holds for the whole hour).
# Bounds on the per-instance memos: values come from the input, which must not grow memory unbounded.
_MEMO_LIMIT = 4096


def _exception_class(line: str) -> str | None:
    """The class name starting a Java exception line, or None when the line is not one."""
    m = _EXC_CLASS(line)
    if m is None:
        return None
    name = m.group()
    if "." in name or name.endswith(("Exception", "Error", "Throwable")):
        return name
    return None


def java_exception_fields(continuation: str) -> dict[str, Any] | None:
    """`exception`, `exception_type`, `root_cause`, `stack` of a stack trace, or None when there is none.

    The exception is the first unindented line that starts with a class name (`java.lang.X: text`);
    the root cause is the last `Caused by:` line. Frames (`\\tat …`), `... 12 more`, `\\t... 87 common
    frames omitted` and PostgreSQL's indented `  Detail:` lines only count towards `stack`.
    """
    exception: str | None = None
    exc_type: str | None = None
    root: str | None = None
    for line in continuation.split("\n"):
        if not line or line[0] in " \t":
            continue
        if line.startswith(_CAUSED_BY):
            root = line[len(_CAUSED_BY) :]
        elif exception is None:
            exc_type = _exception_class(line)
            if exc_type is not None:
                exception = line
    if exception is None and root is None:
        return None
    fields: dict[str, Any] = {}
    if exception is not None:
        fields["exception"] = exception
        fields["exception_type"] = exc_type
    if root is not None:
        fields["root_cause"] = root
        fields["root_cause_type"] = _exception_class(root) or root.partition(":")[0]
    fields["stack"] = continuation
    return fields


class JavaLogFormat:
    """Java logging lines; the stack trace that follows a line belongs to its event.

    Headers: logback `2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.Svc - msg` (thread
    names may hold spaces), logback's default `00:01:21.438 [main] INFO  c.e.App - msg` (time only:
    the source's `TimestampParser` dates it, the last such moment before its reference time),
    log4j `2026-11-21 00:01:21,438 ERROR [main] c.e.App: msg` and Spring Boot
    `2026-11-21T00:01:21.438+01:00  INFO 12345 --- [  main] c.e.App : msg` (pid in `Record.pid`).
    Fields: `thread`, `logger`; with a stack trace `exception` (its first line), `exception_type`,
    `root_cause` and `root_cause_type` (the last `Caused by:`) and `stack` (the continuation text).

    Telling Java from Python: a dot-millisecond stamp is claimed outright (Python's `asctime` always
    writes a comma). A comma stamp is claimed only in log4j's shape, `LEVEL [thread] logger - ` or
    `LEVEL [thread] a.dotted.Logger: ` (also `[thread] LEVEL logger …`), with a log4j level name (WARN,
    not WARNING). Python's corpus layout `INFO [worker.tasks] Invoice PDF rendered` or `INFO
    [worker.main] Heartbeat: ok` fails it; a Python message that starts with `word - ` or
    `dotted.word: ` is accepted by both formats, and detection decides on the other lines.
    """

    name: ClassVar[str] = "java"
    multiline: ClassVar[bool] = True

    def __init__(self) -> None:
        self._layouts = HeaderLayouts(_HEADERS)
        self._levels: dict[str, Level | None] = {}
        self._hours: dict[str, int | None] = {}
        self._parser: TimestampParser | None = None

    def sniff(self, line: str) -> bool:
        """True on a header line; false on stack-trace lines, blank lines and other formats' lines."""
        if not line[:1].isdigit():
            return False
        sep = line[19:20]
        if sep == ".":
            return _SNIFF_DOT(line) is not None
        if sep == ",":
            return _SNIFF_COMMA(line) is not None
        if line[8:9] in ".," and line[2:3] == ":":
            return _SNIFF_TIME(line) is not None
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
                append(unparsed_record(event, "not a Java log line", ctx, classify(header)))
                continue
            pid: int | None = None
            if i in (0, _DASHED):
                stamp, token, thread, logger, message = m.groups()
            elif i == 2:
                stamp, token, pid_text, thread, logger, message = m.groups()
                pid = process_id(pid_text)
            else:
                stamp, thread, token, logger, message = m.groups()
            if stamp[2] == ":":
                # Time only (logback's default): the source's parser places it before its reference time.
                ts = parse_ts(stamp) or observed
            else:
                # The hour (and offset) is parsed once by the source's parser; the rest is table lookups.
                key = stamp[:13] if len(stamp) == 23 else stamp[:13] + stamp[23:]
                base = hours.get(key, -1)
                if base == -1:
                    base = parse_ts(stamp[:13] + ":00:00" + stamp[23:])
                    hours[key] = base
                ts = observed if base is None else base + minsec_ns[stamp[14:19]] + milli_ns[stamp[20:23]]
            level = level_memo.get(token) if token else None
            if level is None:
                if token and token not in level_memo:
                    level = level_from_name(token)
                    if len(level_memo) < _MEMO_LIMIT:
                        level_memo[token] = level
                if level is None:
                    level = classify(message)
            fields: dict[str, Any]
            if logger:
                fields = {"thread": thread, "logger": logger} if thread is not None else {"logger": logger}
            else:
                fields = {"thread": thread} if thread is not None else {}
            if nl >= 0:
                extra = java_exception_fields(event[nl + 1 :])
                if extra is not None:
                    fields.update(extra)
            append(Record(ts, observed, service, source, message, event, level, host, pid, fields or None))
        return out
