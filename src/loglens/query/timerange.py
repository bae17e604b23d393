"""`--since` / `--until` values → nanoseconds UTC, and the SQL that bounds `ts` with them.

Accepted: durations back from now (`90s`, `15m`, `1h`, `2d`, `1w`, also `now-1h`), `now`, `today`,
`yesterday`, and absolute times in any layout loglens parses; a time without a zone is local time.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, tzinfo

from loglens.errors import QueryError
from loglens.formats.timestamp import TimestampParser
from loglens.query.language import CompiledQuery

_UNITS_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_DURATION = re.compile(
    r"^(?:now\s*-\s*)?(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d|day|days|w|week|weeks)$", re.I
)
_MAX_NS = 2**63 - 1  # times and durations are int64 ns: 292 years either way
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NO_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$")


def parse_duration(text: str) -> int:
    """A duration (`250ms`, `90s`, `5m`, `1h`, `2d`, `1w`) in nanoseconds; raises QueryError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip().lower().startswith("now"):
        raise QueryError(
            f"cannot read the duration {text!r}: use a number and a unit, such as 30s, 5m, 1h or 2d"
        )
    ns = _duration_ns(match)
    if ns is None:
        raise QueryError(f"the duration {text!r} is too long: at most 292 years (106,751 days)")
    return ns


def _duration_ns(match: re.Match[str]) -> int | None:
    """ns of a `_DURATION` match; None past what an int64 of ns holds."""
    unit = match.group(2).lower()
    scale = 10**6 if unit == "ms" else _UNITS_NS[unit[0]]
    ns = float(match.group(1)) * scale  # inf for a number of hundreds of digits
    return int(ns) if ns <= _MAX_NS else None


def format_duration(ns: int) -> str:
    """The inverse of `parse_duration`: the largest unit that divides it (`1m`, `90s`, `1.5s`)."""
    for unit in ("w", "d", "h", "m"):
        if ns % _UNITS_NS[unit] == 0:
            return f"{ns // _UNITS_NS[unit]}{unit}"
    whole, rest = divmod(ns, 10**9)
    return f"{whole}s" if not rest else f"{whole}.{rest:09d}".rstrip("0") + "s"


def parse_time_bound(text: str, now_ns: int | None = None, tz: tzinfo | None = None) -> int:
    """One `--since`/`--until` value as ns since the epoch, UTC; raises QueryError when unreadable."""
    value = text.strip()
    now = time.time_ns() if now_ns is None else now_ns
    lowered = value.lower()
    if lowered == "now":
        return now
    match = _DURATION.match(value)
    if match:
        ns = _duration_ns(match)
        if ns is None:
            raise QueryError(f"cannot go back {value!r}: at most 292 years (106,751 days)")
        return now - ns
    if lowered in ("today", "yesterday"):
        local = datetime.fromtimestamp(now / 1e9, tz).astimezone(tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if lowered == "yesterday":
            midnight -= timedelta(days=1)
        return int(midnight.timestamp()) * 10**9
    if _DATE_ONLY.match(value):
        value += " 00:00:00"
    elif _NO_SECONDS.match(value):
        value += ":00"
    parsed = TimestampParser(tz=tz, reference_ns=now).parse(value)
    if parsed is None:
        raise QueryError(
            f"cannot read the time {text!r}: use a duration such as 15m, 1h, 2d, or a time such as "
            "'2026-02-12 10:00' (local) or '2026-02-12T10:00:00Z'"
        )
    return parsed


def time_clause(
    since: str | None, until: str | None, now_ns: int | None = None, tz: tzinfo | None = None
) -> CompiledQuery:
    """SQL bounding `ts` by `since` (inclusive) and `until` (exclusive)."""
    parts: list[str] = []
    params: list[object] = []
    if since:
        parts.append("ts >= make_timestamp_ns(?)")
        params.append(parse_time_bound(since, now_ns, tz))
    if until:
        parts.append("ts < make_timestamp_ns(?)")
        params.append(parse_time_bound(until, now_ns, tz))
    return CompiledQuery(" AND ".join(parts) or "TRUE", params)
