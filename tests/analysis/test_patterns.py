"""Tests for loglens.analysis.patterns: counts, shares, final templates and the trend rule."""

from __future__ import annotations

from pathlib import Path

from loglens.analysis.patterns import RECENT_SHARE, patterns, trend
from loglens.mining.drain import TemplateMiner
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore

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


def _store_with(tmp_path: Path, records: list[Record]) -> DuckDBStore:
    """A real store holding `records`, mined as ingest mines them (templates saved, then committed)."""
    store = DuckDBStore(tmp_path / "p.duckdb")
    miner = TemplateMiner()
    miner.label(records)
    store.save_templates(miner.take_changes())
    store.write(records)
    return store


def _rec(ts: int, service: str, message: str, level: Level = Level.INFO) -> Record:
    return Record(ts, ts, service, "test", message, message, level)


class TestPatterns:
    def test_counts_shares_levels_and_trend(self, tmp_path: Path) -> None:
        """A steady template is Stable, a burst at the end is Rising; the worst level seen is kept."""
        records = [_rec(i * S, "api", f"request {i} done in {i % 7}ms") for i in range(100)]
        records += [_rec((95 + i % 5) * S, "api", f"pool exhausted size={i}", Level.ERROR) for i in range(30)]
        records.sort(key=lambda r: r.ts)
        store = _store_with(tmp_path, records)
        found = patterns(store.pattern_stats("true", [], RECENT_SHARE))
        assert [(p.template, p.count, p.trend) for p in found] == [
            ("request <*> done in <*>", 100, "Stable"),
            ("pool exhausted size=<*>", 30, "Rising"),
        ]
        assert round(found[0].share + found[1].share, 6) == 1.0
        assert found[1].level == "error" and found[1].first_ts == 95 * S
        assert found[0].sample == "request 0 done in 0ms"
        store.close()

    def test_declining_and_filtered(self, tmp_path: Path) -> None:
        """A template that stops early is Declining; the query's filter limits what is counted."""
        records = [_rec(i * S, "db", f"slow query {i} ms") for i in range(50)]
        records += [_rec(i * S, "db", f"vacuum done in {i}s") for i in range(60, 100)]
        records += [_rec(i * S, "web", "GET /") for i in range(100)]
        store = _store_with(tmp_path, records)
        found = patterns(store.pattern_stats("service = ?", ["db"], RECENT_SHARE))
        assert {p.template: (p.count, p.trend) for p in found} == {
            "slow query <*> ms": (50, "Declining"),
            "vacuum done in <*>": (40, "Rising"),
        }
        store.close()

    def test_each_service_has_its_own_span(self, tmp_path: Path) -> None:
        """A service stamped hours away (dmesg anchored at read time) does not make others Declining."""
        records = [_rec(i * S, "web", f"GET /item/{i} took {i}ms") for i in range(100)]
        records += [_rec((36_000 + i) * S, "kernel", f"eth{i % 2} link up") for i in range(10)]
        store = _store_with(tmp_path, records)
        found = patterns(store.pattern_stats("true", [], RECENT_SHARE))
        assert {p.service: p.trend for p in found} == {"web": "Stable", "kernel": "Stable"}
        store.close()

    def test_empty(self) -> None:
        """No figures, no patterns."""
        assert patterns([]) == []
