"""Kernel ring buffer dumps: `dmesg` (`[ 1234.567890] msg`), `dmesg -T` (`[Sun Nov 22 02:27:33 2026] msg`),
`dmesg -r` (`<6>[ 1234.567890] msg`) and `/dev/kmsg` records (`6,339,5140900,-;msg`).

Plain `dmesg` carries only the time since boot, so such records are timed when they were read and the
uptime is kept in `fields["uptime"]`. (Kernel lines inside syslog files belong to `formats.syslog`.)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from loglens.formats.base import SourceContext, unparsed_record
from loglens.formats.level import level_from_syslog_pri, syslog_facility_name
from loglens.record import Record

# Groups: pri, uptime, wall-clock stamp, message.
_DMESG: Final = re.compile(
    r"(?:<(\d{1,3})>)?\[\s*(?:(\d+\.\d+)|([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}))\] ?(.*)",
    re.DOTALL,
)
# Groups: pri (facility and level), sequence number, µs since boot, message. Fields after the flags
# (newer kernels add `,caller=T123`) are skipped. Both counters are 64-bit: at most 20 digits.
_KMSG: Final = re.compile(r"(\d{1,3}),(\d{1,20}),(\d{1,20}),[^;,]*(?:,[^;]*)?;(.*)", re.DOTALL)
_STAMP_LEN: Final = 24  # Sun Nov 22 02:27:33 2026
_NO_MINUTE: Final = -1
SERVICE: Final = "kernel"


class KernelFormat:
    """Raw kernel log output: `dmesg` in its plain, `-T` and `-r` forms, and `/dev/kmsg` records."""

    name: ClassVar[str] = "kernel"
    multiline: ClassVar[bool] = False

    def sniff(self, line: str) -> bool:
        """True for a dmesg line or a /dev/kmsg record."""
        return _DMESG.match(line) is not None or _KMSG.match(line) is not None

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line in neither shape gets `parse_error` set."""
        parse_ts = ctx.timestamps.parse
        classify = ctx.levels.classify
        observed = ctx.observed_ns
        source = ctx.source
        host = ctx.host
        # The shape that matched last is tried first: a file holds one of them.
        first, second = _DMESG.match, _KMSG.match
        minutes: dict[str, int] = {}
        out: list[Record] = []
        append = out.append
        for raw in events:
            match = first(raw)
            if match is None:
                match = second(raw)
                if match is None:
                    append(unparsed_record(raw, "kernel: not a dmesg line or /dev/kmsg record", ctx))
                    continue
                first, second = second, first
            fields: dict[str, Any]
            ts: int | None = None
            if match.re is _DMESG:
                pri, uptime, stamp, message = match.groups()
                fields = {} if uptime is None else {"uptime": float(uptime)}
                if stamp is not None:
                    if len(stamp) == _STAMP_LEN:
                        minute = stamp[:16] + stamp[19:]
                        base = minutes.get(minute)
                        if base is None:
                            parsed = parse_ts(stamp[:16] + ":00" + stamp[19:])
                            base = minutes[minute] = _NO_MINUTE if parsed is None else parsed
                        if base != _NO_MINUTE:
                            ts = base + int(stamp[17:19]) * 1_000_000_000
                    else:
                        ts = parse_ts(stamp)
            else:
                pri, seq, usec, message = match.groups()
                fields = {"seq": int(seq), "uptime": int(usec) / 1_000_000}
            message = message.strip()
            if pri is not None:
                code = int(pri)
                level = level_from_syslog_pri(code)
                fields["facility"] = syslog_facility_name(code)
            else:
                level = classify(message)
            append(
                Record(
                    ts=observed if ts is None else ts,
                    observed_ts=observed,
                    service=SERVICE,
                    source=source,
                    message=message,
                    raw=raw,
                    level=level,
                    host=host,
                    fields=fields or None,
                )
            )
        return out
