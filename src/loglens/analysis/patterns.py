"""Patterns: which templates a set of records comes from, how often, and whether each is rising.

Trend rule (stated, so that people and agents can check it): the time span of the matching records
of the template's service is split into a *recent* window (the last fifth of the span) and the
*baseline* (the rest). With the rate of a
template in each (records per second), it is **Rising** when the recent rate is more than 1.5× the
baseline rate and it has at least 5 recent records (a template absent from the baseline counts as
rising from 0), **Declining** when the recent rate is less than the baseline rate / 1.5 and it had at
least 5 baseline records, and **Stable** otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from loglens.formats.timestamp import to_iso_ms
from loglens.store.base import PatternStats

RECENT_SHARE = 0.2
TREND_FACTOR = 1.5
TREND_MIN_RECORDS = 5


@dataclass(frozen=True, slots=True)
class Pattern(PatternStats):
    """A template's figures with its share of all the matching records and its trend."""

    share: float = 0.0
    trend: str = "Stable"


def trend(recent: int, total: int, recent_seconds: float, baseline_seconds: float) -> str:
    """Rising, Stable or Declining by the module's rule."""
    baseline = total - recent
    recent_rate = recent / recent_seconds if recent_seconds > 0 else 0.0
    baseline_rate = baseline / baseline_seconds if baseline_seconds > 0 else 0.0
    if recent >= TREND_MIN_RECORDS and recent_rate > TREND_FACTOR * baseline_rate:
        return "Rising"
    if baseline >= TREND_MIN_RECORDS and recent_rate * TREND_FACTOR < baseline_rate:
        return "Declining"
    return "Stable"


def patterns(stats: list[PatternStats]) -> list[Pattern]:
    """Patterns with share and trend from a store's per-template figures (`Store.pattern_stats`,
    asked with `RECENT_SHARE`), most frequent first."""
    if not stats:
        return []
    total = sum(s.count for s in stats)
    found = []
    for s in stats:
        figures = {f.name: getattr(s, f.name) for f in fields(PatternStats)}
        figures["template"] = s.template if s.template is not None else s.sample
        span = (s.span_end - s.span_start) / 1e9
        rule = trend(s.recent, s.count, span * RECENT_SHARE, span * (1 - RECENT_SHARE))
        found.append(Pattern(**figures, share=s.count / total, trend=rule))
    return sorted(found, key=lambda p: (-p.count, p.first_ts, p.template_id))


def pattern_json(pattern: Pattern) -> dict[str, Any]:
    """One pattern as `loglens patterns --json` and `/api/patterns` give it (a contract: keys stable)."""
    return {
        "template_id": pattern.template_id,
        "template": pattern.template,
        "service": pattern.service,
        "count": pattern.count,
        "share": round(pattern.share, 6),
        "trend": pattern.trend,
        "level": pattern.level,
        "first": to_iso_ms(pattern.first_ts),
        "last": to_iso_ms(pattern.last_ts),
        "sample": pattern.sample,
    }
