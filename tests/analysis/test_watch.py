"""The watcher live (records in) and over a store (replay) says the same."""

from __future__ import annotations

import random
from pathlib import Path

import incident_scenario as scenario
from loglens.analysis.buckets import BucketBuilder, by_minute
from loglens.analysis.watch import Watcher, replay
from loglens.store.duckdb import DuckDBStore

MINUTE = 60 * 10**9


def summary(anomalies: list) -> list[tuple]:
    return [(a.kind, a.service, a.start_ns, a.detected_ns, a.severity, a.template_id) for a in anomalies]


class TestWatcher:
    def test_finds_the_injected_incident_with_its_cause(self) -> None:
        """One incident from the db failure, db ranked first, opened within a minute of its start."""
        watcher = Watcher()
        watcher.add(scenario.records())
        incidents = watcher.finish()
        assert len(incidents) == 1
        (incident,) = incidents
        start = scenario.START_NS + scenario.INCIDENT_MINUTE * MINUTE
        assert start <= incident.start_ns < start + MINUTE
        assert incident.detected_ns - incident.start_ns <= 2 * MINUTE
        assert [c.service for c in incident.candidates()] == ["db", "web"]

    def test_live_equals_replay(self, tmp_path: Path) -> None:
        """The same records give the same anomalies live and replayed from a DuckDB store."""
        records = scenario.records()
        live = Watcher()
        for i in range(0, len(records), 500):
            live.add(records[i : i + 500])
        live.finish()
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.write(records)
        store.commit()
        replayed = replay(store)
        store.close()
        assert summary(live.anomalies) == summary(replayed.anomalies)
        assert len(live.anomalies) > 5

    def test_out_of_order_within_lateness(self) -> None:
        """Records shuffled by up to 10 s (lateness 30 s) give the same anomalies as in order."""
        records = scenario.records()
        rng = random.Random(3)
        shuffled = sorted(records, key=lambda r: r.ts + rng.randint(0, 10 * 10**9))
        ordered, jittered = Watcher(), Watcher()
        ordered.add(records)
        ordered.finish()
        jittered.add(shuffled)
        jittered.finish()
        assert summary(ordered.anomalies) == summary(jittered.anomalies)


class TestBuckets:
    def test_late_records_are_counted_not_folded(self) -> None:
        """A record older than the watermark's closed minutes is counted in `late`."""
        records = scenario.records(minutes=5)
        builder = BucketBuilder(lateness_ns=30 * 10**9)
        builder.add(records)
        builder.close()
        builder.add([records[0]])
        assert builder.late == 1

    def test_silences_are_filled(self) -> None:
        """A service that logged nothing in a minute gets an empty bucket there."""
        third = scenario.START_NS // MINUTE + 2
        records = [
            r for r in scenario.records(minutes=6) if not (r.service == "db" and r.ts // MINUTE == third)
        ]
        builder = BucketBuilder()
        builder.add(records)
        minutes = list(by_minute(builder.close(flush=True)))
        assert all(len(group) == 2 for _, group in minutes)
        assert any(b.total == 0 for _, group in minutes for b in group)

    def test_open_minutes_are_bounded(self) -> None:
        """Closing as records arrive keeps only the minutes within the lateness open."""
        builder = BucketBuilder()
        peak = 0
        for record in scenario.records(minutes=30):
            builder.add([record])
            builder.close()
            peak = max(peak, len(builder._open))
        assert peak <= 2 * 3


class TestSettings:
    def test_analysis_table(self) -> None:
        """`[analysis]` sets lateness, warm-up and watched fields; a bad key is named."""
        import pytest

        from loglens.config import parse_config
        from loglens.errors import ConfigError

        config = parse_config(
            {"analysis": {"lateness": "2m", "warmup_minutes": 20, "watched_fields": ["rt"]}}
        )
        assert config.analysis.detectors.lateness_ns == 120 * 10**9
        assert config.analysis.detectors.warmup_minutes == 20
        assert config.analysis.watched_fields == ("rt",)
        with pytest.raises(ConfigError, match="latenes"):
            parse_config({"analysis": {"latenes": "2m"}})
        with pytest.raises(ConfigError, match="warmup_minutes"):
            parse_config({"analysis": {"warmup_minutes": 0}})
