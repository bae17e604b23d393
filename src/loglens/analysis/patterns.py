"""Patterns: which templates a set of records comes from, how often, and whether each is rising.

Trend rule (stated, so that people and agents can check it): the time span of the records is split
into a *recent* window (the last fifth of the span) and the *baseline* (the rest). With the rate of a
template in each (records per second), it is **Rising** when the recent rate is more than 1.5× the
baseline rate and it has at least 5 recent records (a template absent from the baseline counts as
rising from 0), **Declining** when the recent rate is less than the baseline rate / 1.5 and it had at
least 5 baseline records, and **Stable** otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from loglens.mining.drain import TemplateMiner
from loglens.record import LEVEL_LABELS, MessageRecord

RECENT_SHARE = 0.2
TREND_FACTOR = 1.5
TREND_MIN_RECORDS = 5


class PatternInput(MessageRecord, Protocol):
    """A stored record, as far as pattern statistics read it (level as its label)."""

    @property
    def level(self) -> str: ...
    @property
    def raw(self) -> str: ...


@dataclass(slots=True)
class Pattern:
    """One template's statistics over the records given."""

    template_id: str
    template: str
    service: str
    count: int
    first_ts: int
    last_ts: int
    level: str
    sample: str
    recent: int = 0
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


def patterns(records: Iterable[PatternInput], miner: TemplateMiner | None = None) -> list[Pattern]:
    """Every template of `records` (oldest first) with counts, share, first/last seen and trend, most
    frequent first."""
    miner = miner or TemplateMiner()
    found: dict[str, Pattern] = {}
    stamps: list[tuple[int, Pattern]] = []
    for record in records:
        template = miner.add(record.message, record.service).template
        pattern = found.get(template.id)
        if pattern is None:
            pattern = found[template.id] = Pattern(
                template.id,
                "",
                record.service,
                0,
                record.ts,
                record.ts,
                record.level,
                record.raw.split("\n", 1)[0],
            )
        pattern.count += 1
        pattern.first_ts = min(pattern.first_ts, record.ts)
        pattern.last_ts = max(pattern.last_ts, record.ts)
        if LEVEL_LABELS.index(record.level) > LEVEL_LABELS.index(pattern.level):
            pattern.level = record.level
        stamps.append((record.ts, pattern))
    if not stamps:
        return []
    start = min(ts for ts, _ in stamps)
    end = max(ts for ts, _ in stamps)
    cut = end - (end - start) * RECENT_SHARE
    for ts, pattern in stamps:
        if ts > cut:
            pattern.recent += 1
    total = len(stamps)
    recent_seconds = (end - cut) / 1e9
    baseline_seconds = (cut - start) / 1e9
    for template_id, pattern in found.items():
        pattern.template = miner.templates[template_id].text  # as it stands after all records
        pattern.share = pattern.count / total
        pattern.trend = trend(pattern.recent, pattern.count, recent_seconds, baseline_seconds)
    return sorted(found.values(), key=lambda p: (-p.count, p.first_ts))
