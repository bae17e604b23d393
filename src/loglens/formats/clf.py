"""Web server access logs: NCSA common and combined log format (nginx, Apache), with trailing extras
such as nginx's `$request_time`.

The message is the request line (`GET /api/v1/products/58 HTTP/1.1`); the level follows the status.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from loglens.formats.base import SourceContext, unparsed_record, whole_number
from loglens.formats.level import level_from_http_status
from loglens.record import Record

# The common case in one pattern. Quoted fields are `[^"]*` (nginx writes a quote as `\x22`); an
# Apache `\"` inside one makes this fail, and _LENIENT reads the line. The request is captured whole
# and, when it is `METHOD PATH HTTP/x`, in parts too. Groups: client, ident, user, stamp, request,
# method, path, protocol, status, bytes, referer, user agent, request time, extra.
_STRICT: Final = re.compile(
    r"(\S++) (\S++) (\S++) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"((?:([A-Z]++) ([^\s"]++) (HTTP/[^\s"]++))|[^"]*+)" (\d{3}|-) (\d++|-)'
    r'(?: "([^"]*+)" "([^"]*+)")?+(?: (\d++\.\d++))?(?: (.*))?',
    re.DOTALL,
)
# Escaped or raw quotes inside fields, or an unusual stamp: the request runs to the last
# `" status bytes`, the user agent to the last quote. Groups: client, ident, user, stamp, request,
# status, bytes, referer, user agent, request time, extra.
_LENIENT: Final = re.compile(
    r'(\S+) (\S+) (.+?) \[([^\]]+)\] "(.*)" (\d{3}|-) (\d+|-)(?: "(.*?)" "(.*)")?(?: (\d+\.\d+))?(?: (.*))?',
    re.DOTALL,
)
_ESCAPE: Final = re.compile(r"""\\(?:(["\\])|x(22|5[cC]))""")
_STAMP_LEN: Final = 26  # 21/Nov/2026:00:00:25 +0000
_NO_MINUTE: Final = -1
_DASH: Final = "-"
_SECONDS: Final = frozenset(f"{second:02d}" for second in range(61))  # the lenient pattern takes any stamp
_METHODS: Final = frozenset(
    {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PROPFIND"}
)


def _unescape_one(match: re.Match[str]) -> str:
    return '"' if match.group(1) == '"' or match.group(2) == "22" else "\\"


def unescape(text: str) -> str:
    """A quoted access-log field as written by the client: undoes `\\"`, `\\\\`, `\\x22` and `\\x5C`.

    Other `\\xHH` escapes (nginx writes control bytes that way, e.g. TLS handshakes sent to a plain
    HTTP port) are kept as written, so the message stays printable.
    """
    return _ESCAPE.sub(_unescape_one, text)


def split_request(request: str, fields: dict[str, Any]) -> None:
    """Adds method, path and protocol to `fields` when `request` is `METHOD PATH [PROTOCOL]`."""
    method, space, rest = request.partition(" ")
    if not space or not (method in _METHODS or (method.isascii() and method.isalpha() and method.isupper())):
        return
    path, space, protocol = rest.rpartition(" ")
    if space and protocol.startswith("HTTP/"):
        fields["method"] = method
        fields["path"] = path
        fields["protocol"] = protocol
    elif " " not in rest:  # HTTP/0.9 style `GET /`
        fields["method"] = method
        fields["path"] = rest


class ClfFormat:
    """Common/combined access log: `client ident user [stamp] "request" status bytes "referer" "agent"`."""

    name: ClassVar[str] = "clf"
    multiline: ClassVar[bool] = False

    def sniff(self, line: str) -> bool:
        """True for a common or combined log format line."""
        return _STRICT.fullmatch(line) is not None or _LENIENT.fullmatch(line) is not None

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line that is not CLF gets `parse_error` set."""
        strict = _STRICT.fullmatch
        parse_ts = ctx.timestamps.parse
        observed = ctx.observed_ns
        source = ctx.source
        service = ctx.service
        host = ctx.host
        level_of = level_from_http_status
        # Minute of a stamp (with its offset) -> ns, for this batch; the parser decides the minute.
        minutes: dict[str, int] = {}
        out: list[Record] = []
        append = out.append
        for raw in events:
            match = strict(raw)
            groups: tuple[Any, ...] | None
            if match is not None:
                groups = match.groups()
                # Quoted text after status and bytes that did not parse as referer and agent: a raw
                # quote inside one of them, which only the lenient pattern reads right.
                if groups[10] is None and groups[13] and groups[13][0] == '"':
                    groups = _lenient_groups(raw)
            else:
                groups = _lenient_groups(raw)
            if groups is None:
                append(unparsed_record(raw, "clf: not a common/combined log format line", ctx))
                continue
            (client, ident, user, stamp, request, method, path, protocol, status, size, referer, agent,
             request_time, extra) = groups  # fmt: skip
            ts: int | None = None
            if len(stamp) == _STAMP_LEN and stamp[17] == ":" and stamp[18:20] in _SECONDS:
                minute = stamp[:17] + stamp[20:]
                base = minutes.get(minute)
                if base is None:
                    parsed = parse_ts(stamp[:17] + ":00" + stamp[20:])
                    base = minutes[minute] = _NO_MINUTE if parsed is None else parsed
                if base != _NO_MINUTE:
                    ts = base + int(stamp[18:20]) * 1_000_000_000
            else:
                ts = parse_ts(stamp)
            fields: dict[str, Any] = {"client_ip": client}
            if ident != _DASH:
                fields["ident"] = ident
            if user != _DASH:
                fields["user"] = user
            if method is not None and "\\" not in request:
                fields["method"] = method
                fields["path"] = path
                fields["protocol"] = protocol
            else:
                if "\\" in request:
                    request = unescape(request)
                split_request(request, fields)
            if status != _DASH:
                code = int(status)
                fields["status"] = code
                level = level_of(code)
            else:
                level = level_of(0)
            # Apache's %b writes `-` for an empty body: zero bytes, not an unknown size.
            fields["bytes"] = 0 if size == _DASH else whole_number(size)
            if referer is not None:
                if referer != _DASH:
                    fields["referer"] = unescape(referer) if "\\" in referer else referer
                if agent != _DASH:
                    fields["user_agent"] = unescape(agent) if "\\" in agent else agent
            if request_time is not None:
                fields["request_time"] = float(request_time)
            if extra:
                fields["extra"] = extra
            append(
                Record(
                    ts=observed if ts is None else ts,
                    observed_ts=observed,
                    service=service,
                    source=source,
                    message=request,
                    raw=raw,
                    level=level,
                    host=host,
                    fields=fields,
                )
            )
        return out


def _lenient_groups(raw: str) -> tuple[Any, ...] | None:
    """_LENIENT's groups laid out like _STRICT's (no request parts), or None when it fails too."""
    match = _LENIENT.fullmatch(raw)
    if match is None:
        return None
    client, ident, user, stamp, request, status, size, referer, agent, request_time, extra = match.groups()
    return (client, ident, user, stamp, request, None, None, None, status, size, referer, agent,
            request_time, extra)  # fmt: skip
