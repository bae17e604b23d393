"""The watcher live (records in) and over a store (replay) says the same."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import incident_scenario as scenario
from loglens.analysis.buckets import MAX_FIELD_SAMPLES, BucketBuilder, FieldSample, p95
from loglens.analysis.detectors import Anomaly
from loglens.analysis.incidents import Incident
from loglens.analysis.watch import Watcher, WatchSettings, replay
from loglens.config import parse_config
from loglens.errors import ConfigError
from loglens.mining.drain import TemplateChange
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore

MINUTE = 60 * 10**9


def summary(anomalies: list[Anomaly]) -> list[tuple[object, ...]]:
    return [(a.kind, a.service, a.start_ns, a.detected_ns, a.severity, a.template_id) for a in anomalies]


def live(records: list[Record], batch: int = 500) -> tuple[list[Anomaly], list[Incident]]:
    """Records fed to a live watcher in batches, then flushed."""
    watcher = Watcher()
    found: list[Anomaly] = []
    for i in range(0, len(records), batch):
        found.extend(watcher.add(records[i : i + batch]))
    found.extend(watcher.flush())
    return found, watcher.take_incidents(everything=True)


def stored(tmp_path: Path, records: list[Record]) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write(records)
    store.commit()
    return store


class TestWatcher:
    def test_finds_the_injected_incident_with_its_cause(self) -> None:
        """One incident from the db failure, db ranked first, known within two minutes of its start."""
        _, incidents = live(scenario.records())
        assert len(incidents) == 1
        (incident,) = incidents
        start = scenario.START_NS + scenario.INCIDENT_MINUTE * MINUTE
        assert start <= incident.start_ns < start + MINUTE
        assert incident.detected_ns - incident.start_ns <= 2 * MINUTE
        assert [c.service for c in incident.candidates()] == ["db", "web"]

    def test_live_equals_replay(self, tmp_path: Path) -> None:
        """The same records give the same anomalies and incidents live and replayed from DuckDB."""
        records = scenario.records()
        found, incidents = live(records)
        store = stored(tmp_path, records)
        replayed = replay(store)
        store.close()
        assert summary(found) == summary(replayed.anomalies)
        assert [i.id for i in incidents] == [i.id for i in replayed.incidents]
        assert len(found) > 5

    def test_out_of_order_within_lateness(self) -> None:
        """Records shuffled by up to 10 s (lateness 30 s) give the same anomalies as in order."""
        records = scenario.records()
        rng = random.Random(3)
        shuffled = sorted(records, key=lambda r: r.ts + rng.randint(0, 10 * 10**9))
        assert summary(live(records)[0]) == summary(live(shuffled, batch=97)[0])

    def test_a_silent_service_is_seen(self) -> None:
        """A service that stops logging while the others go on is reported silent."""
        records = [
            r
            for r in scenario.records()
            if not (r.service == "db" and r.ts >= scenario.START_NS + 30 * MINUTE)
        ]
        found, _ = live(records)
        silent = [a for a in found if a.kind == "service_silent"]
        assert silent and silent[0].service == "db" and silent[0].start_ns == scenario.START_NS + 30 * MINUTE

    def test_services_are_bounded(self) -> None:
        """Past `max_services`, further services are not watched (memory stays bounded)."""
        watcher = Watcher(WatchSettings(max_services=3))
        records = [
            Record(ts=scenario.START_NS + i * 10**9, observed_ts=0, service=f"s{i % 10}", source="t",
                   message="m", raw="m", template_id="t1", id=i)
            for i in range(600)
        ]  # fmt: skip
        watcher.add(records)
        watcher.flush()
        assert len(watcher.services) == 3


class TestGaps:
    @staticmethod
    def steady(start_ns: int, minutes: int, per_minute: int, first_id: int) -> list[Record]:
        """One service logging `per_minute` lines of two templates every minute."""
        return [
            Record(ts=start_ns + m * MINUTE + i * (MINUTE // per_minute), observed_ts=0, service="api",
                   source="t", message="m", raw="m", template_id=f"t{i % 2}",
                   id=first_id + m * per_minute + i)
            for m in range(minutes)
            for i in range(per_minute)
        ]  # fmt: skip

    def test_a_long_gap_starts_the_baselines_over(self) -> None:
        """Back after a gap longer than the history at four times its old rate, a service is judged
        against its new past (after a fresh warm-up), not flagged for an hour against the old level."""
        before = self.steady(scenario.START_NS, 60, 20, 0)
        after = self.steady(scenario.START_NS + 300 * 24 * 60 * MINUTE, 60, 80, 10**6)
        found, incidents = live(before + after)
        assert [a for a in found if a.kind.startswith("volume")] == []
        assert incidents == []

    def test_a_short_gap_keeps_them(self) -> None:
        """After a gap within the history, the old level still counts: the jump is an anomaly."""
        before = self.steady(scenario.START_NS, 60, 20, 0)
        after = self.steady(scenario.START_NS + 90 * MINUTE, 20, 80, 10**6)
        found, _ = live(before + after)
        assert any(a.kind.startswith("volume") for a in found)


class TestReplay:
    def test_templates_older_than_the_lookback_are_not_new(self, tmp_path: Path) -> None:
        """Replaying from mid-stream, a rare template last seen before the lookback is known (the
        store's templates table says so), not a new one; without that knowledge it would be."""
        records = [r for r in scenario.records(minutes=200) if r.level < Level.ERROR]
        rare = [
            Record(ts=scenario.START_NS + m * MINUTE + 7 * 10**9, observed_ts=0, service="db", source="t",
                   message="replica lag high", raw="replica lag high", level=Level.WARNING,
                   template_id="rare", id=10**7 + m)
            for m in (5, 170)
        ]  # fmt: skip
        store = DuckDBStore(tmp_path / "s.duckdb")
        store.append(sorted(records + rare, key=lambda r: r.ts))
        store.save_templates([TemplateChange("rare", "db", "replica lag high", False)])  # as ingest does
        store.commit()
        since = scenario.START_NS + 130 * MINUTE  # the lookback starts at minute 10, after the first "rare"

        def new_rare(found: list[Anomaly]) -> list[Anomaly]:
            return [a for a in found if a.kind == "new_template" and a.template_id == "rare"]

        known = replay(store, since_ns=since)
        forgetful = replay(_Forgetful(store), since_ns=since)
        store.close()
        assert new_rare(known.anomalies) == []
        assert len(new_rare(forgetful.anomalies)) == 1
        assert all(a.start_ns >= since for a in known.anomalies)


class _Forgetful:
    """A store that knows no templates from before a replay (the control for the test above)."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store

    def minute_stats(self, *args: object) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        return self._store.minute_stats(*args)  # type: ignore[arg-type]

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]:
        return []


class TestBuckets:
    def test_late_records_land_in_their_minute(self) -> None:
        """A record 20 s late (within 30 s) lands in its own minute; one past the watermark is counted
        as late and left out."""
        t0 = scenario.START_NS
        make = lambda ts: Record(ts=ts, observed_ts=ts, service="api", source="t", message="m", raw="m",  # noqa: E731
                                 template_id="t1")  # fmt: skip
        builder = BucketBuilder(lateness_ns=30 * 10**9)
        builder.add([make(t0 + 10 * 10**9), make(t0 + 65 * 10**9), make(t0 + 50 * 10**9)])
        assert builder.close() == []  # watermark t0+35 s: minute 0 has not ended for it
        builder.add([make(t0 + 95 * 10**9)])  # watermark t0+65 s: minute 0 closes
        (first,) = builder.close()
        assert (first.start_ns, first.total) == (t0, 2)
        builder.add([make(t0 + 5 * 10**9)])
        assert builder.late == 1
        (second,) = builder.close(flush=True)
        assert (second.start_ns, second.total) == (t0 + MINUTE, 2)

    def test_open_minutes_are_bounded(self) -> None:
        """Closing as records arrive keeps only the minutes within the lateness open."""
        builder = BucketBuilder()
        peak = 0
        for record in scenario.records(minutes=30):
            builder.add([record])
            builder.close()
            peak = max(peak, len(builder._open))
        assert peak <= 2 * 3

    def test_field_sample_is_bounded_and_uniform(self) -> None:
        """Past MAX_FIELD_SAMPLES values a minute keeps a uniform sample of that size, whose p95 is
        close to the p95 of everything."""
        sample = FieldSample()
        values = [float(v) for v in range(10 * MAX_FIELD_SAMPLES)]
        for v in values:
            sample.add(v)
        assert len(sample.values) == MAX_FIELD_SAMPLES and sample.seen == len(values)
        assert p95(sample.values) == pytest.approx(p95(values), rel=0.01)
        assert min(sample.values) < 0.1 * len(values)  # the start of the stream is still sampled


class TestSettings:
    def test_analysis_table(self) -> None:
        """`[analysis]` sets lateness, warm-up and watched fields; a bad key is named."""
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
