"""How records look on a terminal and in `--json`: aligned, coloured by severity, plain when piped.

Colour is used only when the stream is a terminal and `NO_COLOR` is unset (https://no-color.org).
The JSON shape is a contract (DESIGN.md, docs/cli.md): keep its keys stable.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import replace
from typing import Any, TextIO

import orjson

from loglens.formats.timestamp import to_iso_ms
from loglens.mining.dedup import DedupGroup
from loglens.record import Level, Record
from loglens.store.base import StoredRecord

RESET = "\x1b[0m"
DIM = "\x1b[2m"
LEVEL_STYLES: dict[str, str] = {
    "fatal": "\x1b[1;97;41m",
    "critical": "\x1b[1;38;2;255;68;68m",
    "error": "\x1b[38;2;255;107;107m",
    "warning": "\x1b[38;2;255;165;0m",
    "notice": "\x1b[38;2;74;144;226m",
    "info": "\x1b[38;2;74;144;226m",
    "debug": "\x1b[38;2;156;163;175m",
    "trace": "\x1b[2;38;2;156;163;175m",
}
_SERVICE_COLOURS = (36, 35, 32, 33, 34, 96, 95, 92, 93, 94)
LEVEL_WIDTH = 8
SERVICE_WIDTH = 12


def use_colour(stream: TextIO) -> bool:
    """True when `stream` is a terminal and the user has not asked for no colour."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _service_style(service: str) -> str:
    # A stable colour per service name, so the eye can follow one service down the page.
    return f"\x1b[{_SERVICE_COLOURS[zlib.crc32(service.encode()) % len(_SERVICE_COLOURS)]}m"


def _label(level: str | Level) -> str:
    return level.label if isinstance(level, Level) else level


def format_line(record: StoredRecord | Record, colour: bool) -> str:
    """`time  service  level  message`, with a multi-line event's other lines indented below.

    Takes a stored record or a fresh one (the live views print records before they are stored)."""
    ts = to_iso_ms(record.ts)
    service = record.service[:SERVICE_WIDTH].ljust(SERVICE_WIDTH)
    label = _label(record.level)
    level = label.upper().ljust(LEVEL_WIDTH)
    message = record.message
    rest = ""
    if "\n" in record.raw:
        rest = "\n".join("    " + line for line in record.raw.split("\n")[1:])
    if "\n" in message:
        message = message.split("\n", 1)[0]
    if not colour:
        line = f"{ts}  {service} {level} {message}"
        return f"{line}\n{rest}" if rest else line
    style = LEVEL_STYLES.get(label, "")
    line = (
        f"{DIM}{ts}{RESET}  {_service_style(record.service)}{service}{RESET} {style}{level}{RESET} {message}"
    )
    return f"{line}\n{DIM}{rest}{RESET}" if rest else line


def record_json(record: StoredRecord | Record) -> dict[str, Any]:
    """The `--json` object of one record, stored or fresh (see docs/cli.md for the contract)."""
    out: dict[str, Any] = {
        "ts": to_iso_ms(record.ts),
        "lvl": _label(record.level),
        "svc": record.service,
        "host": record.host,
        "pid": record.pid,
        "msg": record.message,
        "src": record.source,
    }
    if record.template_id is not None:
        out["tpl"] = record.template_id
        out["params"] = record.params or []
    out["fields"] = record.fields or {}
    if record.parse_error is not None:
        out["parse_error"] = record.parse_error
    return out


def format_dedup_group(group: DedupGroup[StoredRecord], as_json: bool, colour: bool) -> str:
    """One `--dedupe` line: the run's first record with `(xN, first: …, last: …)` after its message."""
    first, last = to_iso_ms(group.first_ts), to_iso_ms(group.last_ts)
    if as_json:
        data = record_json(group.record)
        data.update({"count": group.count, "first": first, "last": last})
        return orjson.dumps(data).decode()
    message = f"{group.record.message} (x{group.count}, first: {first}, last: {last})"
    return format_line(replace(group.record, message=message), colour)


def format_json(record: StoredRecord | Record) -> str:
    """One `--json` line."""
    return orjson.dumps(record_json(record)).decode()
