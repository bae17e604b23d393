"""Syslog lines as files and relays write them: RFC 3164 (BSD), rsyslog's ISO-stamped variant,
Python's SysLogHandler (`<12>app[pid]: msg`) and RFC 5424 with structured data.

Service is the app name (the tag), host the syslog host; the level comes from PRI when there is one.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from loglens.formats.base import SourceContext, process_id, unparsed_record
from loglens.formats.level import level_from_syslog_pri, syslog_facility_name
from loglens.record import Record

# RFC 3164 and its relatives, in one pattern. Groups: pri, stamp, host, tag, pid, kernel uptime, message.
_BSD: Final = re.compile(
    r"""
    (?:<(\d{1,3})>(?!1\s(?:\d{4}-|-\s)))?          # PRI, unless this is RFC 5424's `<PRI>1 `
    (?:
      ( [A-Z][a-z]{2}\ [\ \d]\d\ \d\d:\d\d:\d\d    # Nov 21 00:05:08 (day space-padded)
      | \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)  # rsyslog high precision
      )\s+
      (?:([^\s\[]*[^\s\[:])\s+)?                   # host; a token ending in ':' or holding '[' is a tag
    )?
    (?:([^\s\[:]+)(?:\[(\d+)\])?:(?:\s|$))?        # tag[pid]:  (SysLogHandler: right after PRI)
    (?:(?<=[\s>]kernel:\s)\[\s*(\d+\.\d+)\])?      # kern.log: `kernel: [1209153.450814] `
    (.*)
    """,
    re.VERBOSE | re.DOTALL,
)

# RFC 5424. Groups: pri, timestamp, host, app, procid, msgid, structured data, message.
_RFC5424: Final = re.compile(
    r"""
    (?:<(\d{1,3})>)?1\s
    (\S+)\s(\S+)\s(\S+)\s(\S+)\s(\S+)\s
    (-|(?:\[(?:[^\]"\\]++|\\.|"(?:[^"\\]++|\\.)*+")*+\])++)
    (?:\s(.*))?
    """,
    re.VERBOSE | re.DOTALL,
)
_SD_ELEMENT: Final = re.compile(r"""\[([^\s\]"=]+)((?:[^\]"\\]++|\\.|"(?:[^"\\]++|\\.)*+")*+)\]""")
_SD_PARAM: Final = re.compile(r"""([^\s="\]]+)="((?:[^"\\]++|\\.)*+)\"""")
# RFC 5424 §6.3.3: only these three are escapes; any other backslash is a literal character.
_SD_ESCAPE: Final = re.compile(r"""\\(["\\\]])""")

# Stripped from messages: whitespace, the NUL SysLogHandler appends, a UTF-8 BOM (RFC 5424 MSG).
_STRIP: Final = " \t\r\n\x00\ufeff"
_NIL: Final = "-"
# Memo value for a minute the timestamp parser rejected.
_NO_MINUTE: Final = -1


def parse_structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 STRUCTURED-DATA (`[id k="v" …][…]`) as {sd_id: {param: value}}, escapes undone."""
    result: dict[str, dict[str, str]] = {}
    for sd_id, body in _SD_ELEMENT.findall(text):
        params = result.setdefault(sd_id, {})
        for name, value in _SD_PARAM.findall(body):
            params[name] = _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value
    return result


class SyslogFormat:
    """Syslog: RFC 3164 (`<PRI>` optional), rsyslog ISO stamps, SysLogHandler, and RFC 5424."""

    name: ClassVar[str] = "syslog"
    multiline: ClassVar[bool] = False

    def sniff(self, line: str) -> bool:
        """True for an RFC 5424 line, a line with `<PRI>`, or a stamped line with a `tag:`."""
        if _RFC5424.fullmatch(line) is not None:
            return True
        match = _BSD.match(line)
        if match is None:
            return False
        pri, stamp, _host, tag = match.group(1, 2, 3, 4)
        return pri is not None or (stamp is not None and tag is not None)

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line with neither PRI nor a timestamp gets `parse_error` set."""
        bsd = _BSD.match
        rfc5424 = _RFC5424.fullmatch
        parse_ts = ctx.timestamps.parse
        classify = ctx.levels.classify
        observed = ctx.observed_ns
        source = ctx.source
        default_service = ctx.service
        default_host = ctx.host
        strip = _STRIP
        # Minute of an RFC 3164 stamp -> epoch ns, for this batch. The parser decides the minute (and the
        # year, which the stamp lacks); the seconds are added here.
        minutes: dict[str, int] = {}
        # The variant that worked last is tried first: a file holds one of them.
        prefer_5424 = False
        out: list[Record] = []
        append = out.append
        for raw in events:
            if prefer_5424:
                match = rfc5424(raw)
                if match is None:
                    record = self._bsd_line(raw, ctx)
                    if record.parse_error is None:
                        prefer_5424 = False
                    append(record)
                    continue
                append(self._rfc5424_line(match, raw, ctx))
                continue
            # Every part of _BSD is optional and it ends in `(.*)` with DOTALL, so it always matches;
            # whether the line really is syslog is decided just below.
            bsd_match = bsd(raw)
            pri, stamp, host, tag, pid, uptime, message = bsd_match.groups()  # type: ignore[union-attr]
            if pri is None and stamp is None:
                match = rfc5424(raw)
                if match is not None:
                    prefer_5424 = True
                    append(self._rfc5424_line(match, raw, ctx))
                else:
                    append(unparsed_record(raw, "syslog: no <PRI> or timestamp at the start", ctx))
                continue

            ts: int | None = None
            if stamp is not None:
                if len(stamp) == 15:
                    minute = stamp[:12]
                    base = minutes.get(minute)
                    if base is None:
                        parsed = parse_ts(minute + ":00")
                        base = minutes[minute] = _NO_MINUTE if parsed is None else parsed
                    if base != _NO_MINUTE:
                        ts = base + int(stamp[13:]) * 1_000_000_000
                else:
                    ts = parse_ts(stamp)
            message = message.strip(strip)
            fields: dict[str, Any] = {"app": tag} if tag is not None else {}
            if pri is not None:
                code = int(pri)
                level = level_from_syslog_pri(code)
                fields["facility"] = syslog_facility_name(code)
            else:
                level = classify(message)
            if uptime is not None:
                fields["uptime"] = float(uptime)
            append(
                Record(
                    ts=observed if ts is None else ts,
                    observed_ts=observed,
                    service=tag or default_service,
                    source=source,
                    message=message,
                    raw=raw,
                    level=level,
                    host=host or default_host,
                    pid=None if pid is None else process_id(pid),
                    fields=fields or None,
                )
            )
        return out

    def _bsd_line(self, raw: str, ctx: SourceContext) -> Record:
        """A line that is not RFC 5424 in a file that was (rare: the batch path handles the common case)."""
        return self.parse([raw], ctx)[0]

    def _rfc5424_line(self, match: re.Match[str], raw: str, ctx: SourceContext) -> Record:
        pri, stamp, host, app, procid, msgid, sd, message = match.groups()
        fields: dict[str, Any] = {}
        if app != _NIL:
            fields["app"] = app
        level = None
        if pri is not None:
            code = int(pri)
            level = level_from_syslog_pri(code)
            fields["facility"] = syslog_facility_name(code)
        if msgid != _NIL:
            fields["msgid"] = msgid
        pid: int | None = None
        if procid != _NIL:
            pid = process_id(procid)
            if pid is None:
                fields["procid"] = procid
        if sd != _NIL:
            fields["sd"] = parse_structured_data(sd)
        message = "" if message is None else message.strip(_STRIP)
        ts = None if stamp == _NIL else ctx.timestamps.parse(stamp)
        return Record(
            ts=ctx.observed_ns if ts is None else ts,
            observed_ts=ctx.observed_ns,
            service=ctx.service if app == _NIL else app,
            source=ctx.source,
            message=message,
            raw=raw,
            level=ctx.levels.classify(message) if level is None else level,
            host=ctx.host if host == _NIL else host,
            pid=pid,
            fields=fields or None,
        )
