"""Bounds on what one MCP tool call may read and answer — its time range, its lines, its size — so an
agent cannot flood its own context or the store, and errors that say which parameter to change."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.timerange import parse_time_bound

DAY_NS = 86_400 * 10**9
DEFAULT_RANGE_NS = 7 * DAY_NS
"""The range a call reads when it gives no `since`: the 7 days before `until` (or now)."""
MAX_RANGE_NS = 90 * DAY_NS
"""The longest range one call may name explicitly."""
DEFAULT_LINES = 50
MAX_LINES = 500
MAX_OUTPUT_CHARS = 60_000
"""About 15k tokens: what one answer may hold before lines are cut (with a note saying so)."""
MESSAGE_CHARS = 400
"""A message longer than this is cut in listings (get_context shows a record whole)."""


class GuardrailError(LoglensError):
    """A call asked for more than one answer may hold; the message names the parameter to change."""


@dataclass(frozen=True, slots=True)
class Window:
    """A call's time range as the API takes it (RFC 3339, UTC), and whether `since` was defaulted."""

    since: str
    until: str | None
    defaulted: bool

    def params(self) -> dict[str, str | None]:
        return {"since": self.since, "until": self.until}

    def describe(self) -> str:
        """`2026-11-20T18:00:00.000Z..now (the default: last 7 days)`."""
        text = f"{self.since}..{self.until or 'now'}"
        return text + (" (no since given: the last 7 days)" if self.defaulted else "")


def time_window(
    since: str | None, until: str | None, tz: tzinfo | None = None, now_ns: int | None = None
) -> Window:
    """The range to read: `since`/`until` as given (RFC 3339, `now-1h`, `1h`, `2d`, `today` …), with
    `since` defaulting to 7 days before `until`; raises GuardrailError for a range that ends before it
    starts or spans more than 90 days."""
    now = time.time_ns() if now_ns is None else now_ns
    until_ns = parse_time_bound(until, now, tz) if until else None
    end = now if until_ns is None else until_ns
    since_ns = parse_time_bound(since, now, tz) if since else end - DEFAULT_RANGE_NS
    if since_ns > end:
        raise GuardrailError(
            f"since ({to_iso_ms(since_ns)}) is after until ({to_iso_ms(end)}): give the earlier time as "
            "since, e.g. since='2h', until='1h'"
        )
    if end - since_ns > MAX_RANGE_NS:
        days = (end - since_ns) // DAY_NS
        example = to_iso_ms(end - DEFAULT_RANGE_NS)
        raise GuardrailError(
            f"the range {to_iso_ms(since_ns)}..{to_iso_ms(end)} spans {days} days; one call reads at most "
            f"{MAX_RANGE_NS // DAY_NS} days: give a later since (e.g. since='{example}') or an until, or "
            "call get_stats(bucket='1d') first to find the days that matter"
        )
    until_text = None if until_ns is None else to_iso_ms(until_ns)
    return Window(to_iso_ms(since_ns), until_text, defaulted=not since)


def check_limit(value: int, maximum: int, name: str = "limit", narrow: str = "") -> int:
    """`value` when 1 ≤ value ≤ maximum; else a GuardrailError saying what to ask for instead."""
    if value < 1:
        raise GuardrailError(f"{name} must be at least 1 (got {value})")
    if value > maximum:
        hint = narrow or (
            "narrow the call instead: a query (query='level:>=error'), services=['api'], a shorter "
            "range (since='1h'), or count first with get_stats"
        )
        raise GuardrailError(
            f"{name}={value} is more than {maximum}: ask for {name}={maximum} or fewer; {hint}"
        )
    return value


def clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    """The first line of `text`, cut at `limit` characters; what was left out is counted."""
    first, _, rest = text.partition("\n")
    more_lines = rest.count("\n") + 1 if rest else 0
    if len(first) > limit:
        first = f"{first[:limit]}… (+{len(first) - limit} chars)"
    return first + (f" (+{more_lines} lines)" if more_lines else "")


def fit(lines: Sequence[str], budget: int = MAX_OUTPUT_CHARS, narrow: str = "") -> list[str]:
    """As many of `lines` as fit in `budget` characters, then a line saying how many were cut and how
    to ask for less."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        used += len(line) + 1
        if used > budget:
            hint = narrow or "ask for fewer lines (limit) or narrow the query, services or range"
            kept.append(f"… {len(lines) - index} more lines cut at {budget:,} characters: {hint}")
            break
        kept.append(line)
    return kept
