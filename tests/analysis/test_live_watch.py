"""Tests for the daemon's live detectors: warm start from the store, events as minutes close, the
clock closing the minutes of a quiet live stream (and never those of an old file)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import incident_scenario
from loglens.analysis.baseline import MINUTE_NS
from loglens.analysis.live_watch import LiveWatch
from loglens.analysis.watch import WatchSettings, replay
from loglens.record import Record
from loglens.store.duckdb import DuckDBStore


def shifted(records: list[Record], to_ns: int) -> list[Record]:
    """The scenario moved so that its first minute starts at `to_ns`."""
    delta = to_ns - incident_scenario.START_NS
    return [replace(r, ts=r.ts + delta, observed_ts=r.observed_ts + delta) for r in records]


def watching(events: list[dict[str, Any]]) -> LiveWatch:
    return LiveWatch(WatchSettings(), events.append, lambda ids: {i: f"text of {i}" for i in ids})


def test_live_events_match_the_replay(tmp_path: Path) -> None:
    """Fed in batches, the live watch announces every anomaly the replay finds and the incident
    opened, then closed — with template texts for its evidence."""
    records = incident_scenario.records()
    events: list[dict[str, Any]] = []
    watch = watching(events)
    for start in range(0, len(records), 300):
        watch.add(records[start : start + 300])
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write(records)
    found = replay(store)
    store.close()
    kinds = [(e["type"], e.get("state")) for e in events]
    announced = [e["anomaly"] for e in events if e["type"] == "anomaly"]
    replayed_early = [a for a in found.anomalies if a.detected_ns <= max(r.ts for r in records)]
    assert [(a["kind"], a["service"]) for a in announced] == [(a.kind, a.service) for a in replayed_early]
    assert kinds.count(("incident", "opened")) == 1 and kinds.index(("incident", "opened")) < kinds.index(
        ("incident", "closed")
    )
    incident = next(e["incident"] for e in events if e["type"] == "incident")
    assert incident["id"] == found.incidents[0].id and incident["root_cause"]["service"] == "db"
    assert incident["root_cause"]["template"].startswith("text of ")
    assert watch.incidents_opened == 1 and watch.incidents_closed == 1


def test_the_clock_closes_a_quiet_live_stream_but_not_an_old_file() -> None:
    """Records stamped just now: their minute closes on `tick` once the clock passes it (plus the
    lateness) though nothing else arrives. Records from a day ago: the clock does not touch them."""
    now = 1_900_000_000 * 10**9
    events: list[dict[str, Any]] = []
    watch = watching(events)
    live = shifted(incident_scenario.records(45), now - 45 * MINUTE_NS)
    watch.add(live)
    before = len(events)
    watch.tick(now + 2 * MINUTE_NS)
    assert len(events) > before  # the incident's last minutes closed on the clock
    old_events: list[dict[str, Any]] = []
    old = watching(old_events)
    old.add(shifted(incident_scenario.records(45), now - 24 * 60 * MINUTE_NS))
    settled = len(old_events)
    old.tick(now)
    assert len(old_events) == settled


def test_warm_start_knows_the_past(tmp_path: Path) -> None:
    """Warmed on the stored hour, the watch announces nothing of that past, and the templates in it
    are not new when they come again."""
    now = 1_900_000_000 * 10**9
    records = shifted(incident_scenario.records(60), now - 60 * MINUTE_NS)
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write(records[: len(records) // 2])
    events: list[dict[str, Any]] = []
    watch = watching(events)
    watch.warm(store, now)
    store.close()
    assert events == [] and watch.watcher.services
    later = [r for r in records if r.ts < now - 20 * MINUTE_NS and r.ts >= records[len(records) // 2].ts]
    watch.add(later)
    assert not [e for e in events if e["type"] == "anomaly" and e["anomaly"]["kind"] == "new_template"
                and e["anomaly"]["service"] == "web"]  # fmt: skip
