"""Tests for loglens.analysis.patterns: counts, shares, final templates and the trend rule."""

from __future__ import annotations

from conftest import Rec
from loglens.analysis.patterns import patterns, trend

S = 10**9


class TestTrend:
    def test_rule(self) -> None:
        """Rising above 1.5× the baseline rate with ≥5 recent; Declining below /1.5 with ≥5 before."""
        assert trend(recent=20, total=40, recent_seconds=10, baseline_seconds=40) == "Rising"  # 2/s vs 0.5/s
        assert (
            trend(recent=1, total=41, recent_seconds=10, baseline_seconds=40) == "Declining"
        )  # 0.1/s vs 1/s
        assert trend(recent=10, total=50, recent_seconds=10, baseline_seconds=40) == "Stable"  # 1/s vs 1/s
        assert trend(recent=3, total=3, recent_seconds=10, baseline_seconds=40) == "Stable"  # too few to call


class TestPatterns:
    def test_counts_shares_levels_and_trend(self) -> None:
        """A steady template is Stable, a burst at the end is Rising; the worst level seen is kept."""
        records = [Rec(i * S, "api", f"request {i} done in {i % 7}ms") for i in range(100)]
        records += [
            Rec((95 + i % 5) * S, "api", f"pool exhausted size={i}", level="error") for i in range(30)
        ]
        records.sort(key=lambda r: r.ts)
        found = patterns(records)
        assert [(p.template, p.count, p.trend) for p in found] == [
            ("request <*> done in <*>", 100, "Stable"),
            ("pool exhausted size=<*>", 30, "Rising"),
        ]
        assert round(found[0].share + found[1].share, 6) == 1.0
        assert found[1].level == "error" and found[1].first_ts == 95 * S

    def test_empty(self) -> None:
        """No records, no patterns."""
        assert patterns([]) == []
