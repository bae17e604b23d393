"""What a log format is to the pipeline: a sniffer for event starts and a batch parser.

Formats register in `registry()` (see `formats/__init__.py`); detection and forcing a format by name
in `loglens.toml` both go through it, so a format that is not registered cannot be used or documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record


@dataclass(slots=True)
class SourceContext:
    """What a parser knows about the source its events come from.

    `service` and `host` are fallbacks: a format that carries its own (a JSON `service` field, a
    syslog host) uses those instead. `observed_ns` is when the events were read; it is the timestamp
    of an event that carries none.
    """

    source: str
    service: str
    host: str | None
    observed_ns: int
    timestamps: TimestampParser
    levels: LevelClassifier
    max_event_bytes: int = 256 * 1024


MAX_PID = 2**31 - 1
"""The largest process id a record holds: the store's column is 32-bit (Linux's pids stop at 2^22)."""


def process_id(value: str | int) -> int | None:
    """A process id from its digits or its number; None for one that cannot be a pid (too many
    digits, negative, past `MAX_PID`), which a record could not store."""
    if isinstance(value, str):
        if not (0 < len(value) <= 10 and value.isascii() and value.isdigit()):
            return None
        value = int(value)
    return value if 0 <= value <= MAX_PID else None


def whole_number(digits: str) -> int | str:
    """Digits as an int; more than 19 of them stay text: such a number may be past 64 bits, which
    JSON writers (the store's, the live channel's) refuse, and int() refuses past 4,300 digits."""
    return int(digits) if len(digits) <= 19 else digits


def unparsed_record(raw: str, error: str, ctx: SourceContext, level: Level | None = None) -> Record:
    """The Record of an event its format could not parse: kept whole, timed when it was read.

    `level` defaults to what the keyword rules make of the raw text.
    """
    return Record(
        ts=ctx.observed_ns,
        observed_ts=ctx.observed_ns,
        service=ctx.service,
        source=ctx.source,
        message=raw,
        raw=raw,
        level=ctx.levels.classify(raw) if level is None else level,
        host=ctx.host,
        parse_error=error,
    )


class LogFormat(Protocol):
    """A format: recognises the first line of an event and turns events into Records.

    `multiline` formats (Python tracebacks, Java stack traces) own every line that does not start an
    event: framing joins such lines onto the event before them. Single-line formats get one event per
    physical line; a line they cannot parse becomes a Record with `parse_error` set.
    """

    name: ClassVar[str]
    multiline: ClassVar[bool]

    def sniff(self, line: str) -> bool:
        """True when `line` is the first (or only) line of an event in this format."""
        ...

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per event, in order; never raises for bad input (sets `parse_error`)."""
        ...
