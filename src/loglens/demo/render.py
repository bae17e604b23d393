"""One function per file format: an `Event` as the text its service would have written (UTC times).

A multi-line event (a traceback, a stack trace) is one string with `\\n` between its lines and no
trailing newline. Stamps without a zone (syslog, Python, logback) are UTC wall time too: ingest them
with `timezone = "UTC"` (or TZ=UTC) so that they line up with the files that say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

import orjson

from loglens.demo.events import Event
from loglens.demo.values import Value
from loglens.formats.timestamp import to_iso_ms

Renderer = Callable[[Event], str]

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BOOT_US: Final = 1_766_200_365 * 10**6
"""When the demo host booted (2025-12-20T03:12:45Z): the kernel's uptime stamps count from it."""
_UPTIME_WRAP_US: Final = 97 * 86_400 * 10**6
"""It reboots every 97 days, so uptimes stay plausible for any span and never go negative."""


@lru_cache(maxsize=512)
def _second(seconds: int) -> tuple[str, str, str, str, str]:
    """(`2026-01-12`, `00:00:01`, `12/Jan/2026`, `Jan 12`, `Jan  2`-style) of a second."""
    moment = datetime.fromtimestamp(seconds, UTC)
    month = _MONTHS[moment.month - 1]
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    clock = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    clf = f"{moment.day:02d}/{month}/{moment.year:04d}"
    bsd = f"{month} {moment.day:2d}"
    return date, clock, clf, bsd, month


def _split(ts_ns: int) -> tuple[tuple[str, str, str, str, str], int]:
    seconds, rest = divmod(ts_ns, 10**9)
    return _second(seconds), rest // 1_000_000


def _number(value: float) -> str:
    return f"{value:.3f}"


def render_clf(event: Event) -> str:
    """nginx `combined` plus `$request_time`: the event's text is the request path."""
    f = event.fields
    (_, clock, day, _, _), _ = _split(event.ts_ns)
    rt = f.get("rt")
    return (
        f'{f["client"]} - {f.get("user", "-")} [{day}:{clock} +0000] "{f["method"]} {event.text} HTTP/1.1" '
        f'{f["status"]} {f["bytes"]} "{f["referer"]}" "{f["agent"]}" {_number(float(rt) if rt else 0.0)}'
    )


_JSON_LEVELS: Final = {
    "debug": "debug",
    "info": "info",
    "warning": "warn",
    "error": "error",
    "critical": "fatal",
}


def render_json(event: Event) -> str:
    """One JSON object per line: ts, level, service, host, msg, then the fields."""
    record: dict[str, Value] = {
        "ts": to_iso_ms(event.ts_ns),
        "level": _JSON_LEVELS[event.level],
        "service": event.service,
        "host": event.host,
        "msg": event.text,
    }
    record.update(event.fields)
    if event.trace:
        record["stack"] = event.trace
    return orjson.dumps(record).decode()


_PY_LEVELS: Final = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}


def render_python(event: Event) -> str:
    """`%(asctime)s %(levelname)s [%(name)s] %(message)s`, the traceback on the lines after."""
    (date, clock, _, _, _), ms = _split(event.ts_ns)
    line = f"{date} {clock},{ms:03d} {_PY_LEVELS[event.level]} [{event.source}] {event.text}"
    return f"{line}\n{event.trace}" if event.trace else line


_JAVA_LEVELS: Final = {
    "debug": "DEBUG",
    "info": "INFO ",
    "warning": "WARN ",
    "error": "ERROR",
    "critical": "ERROR",
}


def render_java(event: Event) -> str:
    """logback `%d %-5level [%thread] %logger - %msg%n%ex`, the stack trace on the lines after."""
    (date, clock, _, _, _), ms = _split(event.ts_ns)
    line = (
        f"{date} {clock}.{ms:03d} {_JAVA_LEVELS[event.level]} [{event.thread}] {event.source} - {event.text}"
    )
    return f"{line}\n{event.trace}" if event.trace else line


_PG_LEVELS: Final = {
    "debug": "DEBUG",
    "info": "LOG",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "FATAL",
}


def render_postgres(event: Event) -> str:
    """PostgreSQL's stderr log with `log_line_prefix = '%m [%p] '`: the source is the severity word."""
    (date, clock, _, _, _), ms = _split(event.ts_ns)
    severity = event.source or _PG_LEVELS[event.level]
    return f"{date} {clock}.{ms:03d} UTC [{event.fields.get('pid')}] {severity}:  {event.text}"


_LOGFMT_LEVELS: Final = _JSON_LEVELS


def logfmt_value(value: Value) -> str:
    """A logfmt value: bare when it can be, else quoted with `\\` and `"` escaped."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value and not any(c in value for c in ' ="\\\t\n'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_logfmt(event: Event) -> str:
    """`ts=… level=… msg=…` then the fields, as a Go service using logfmt writes them."""
    parts = [
        f"ts={to_iso_ms(event.ts_ns)}",
        f"level={_LOGFMT_LEVELS[event.level]}",
        f"msg={logfmt_value(event.text)}",
    ]
    parts.extend(f"{key}={logfmt_value(value)}" for key, value in event.fields.items())
    return " ".join(parts)


def render_syslog(event: Event) -> str:
    """RFC 3164 as rsyslog writes files: `Jan 12 00:00:01 host program[pid]: message`; kernel lines
    carry the uptime in brackets, as the kernel's ring buffer stamps them."""
    (_, clock, _, bsd, _), _ = _split(event.ts_ns)
    if event.source == "kernel":
        uptime = (event.ts_ns // 1_000 - _BOOT_US) % _UPTIME_WRAP_US
        seconds, micros = divmod(uptime, 10**6)
        return f"{bsd} {clock} {event.host} kernel: [{seconds:5d}.{micros:06d}] {event.text}"
    return f"{bsd} {clock} {event.host} {event.source}: {event.text}"


RENDERERS: Final[dict[str, Renderer]] = {
    "clf": render_clf,
    "json": render_json,
    "python": render_python,
    "java": render_java,
    "plain": render_postgres,
    "logfmt": render_logfmt,
    "syslog": render_syslog,
}
"""The renderer of each file format, by the loglens format name the file is detected as."""
