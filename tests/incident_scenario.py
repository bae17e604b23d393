"""A small two-service scenario with one injected incident, for the detector, watch and CLI tests.

`db` starts failing at minute 40 (a new error shape, then a burst of it); `web`, which calls it, logs
errors from minute 42. Baseline: 40–60 lines a minute per service, a handful of steady templates.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from loglens.record import Level, Record

START_NS = 1_795_000_000 * 10**9 - (1_795_000_000 * 10**9) % (60 * 10**9)
MINUTE = 60 * 10**9
INCIDENT_MINUTE = 40

WEB_TEMPLATES = ("GET /api/items/{n} 200 in {ms}ms", "user {n} logged in", "cache hit ratio {ms}")
DB_TEMPLATES = (
    "query ok rows={n} took {ms}ms",
    "checkpoint complete: wrote {n} buffers",
    "vacuum table t{n} done",
)


def lines(minutes: int = 60, seed: int = 7) -> list[tuple[int, str, str, str]]:
    """(ts_ns, service, level, message) in time order."""
    rng = random.Random(seed)
    out: list[tuple[int, str, str, str]] = []
    for minute in range(minutes):
        base = START_NS + minute * MINUTE
        for service, templates in (("web", WEB_TEMPLATES), ("db", DB_TEMPLATES)):
            for _ in range(rng.randint(40, 60)):
                text = rng.choice(templates).format(n=rng.randint(1, 9999), ms=rng.randint(1, 90))
                out.append((base + rng.randint(0, MINUTE - 1), service, "info", text))
        if INCIDENT_MINUTE <= minute < INCIDENT_MINUTE + 5:
            for i in range(30):
                ts = base + 20 * 10**9 + i * 10**9
                out.append((ts, "db", "error", f"deadlock detected on relation {rng.randint(1, 99)} pid {i}"))
        if INCIDENT_MINUTE + 2 <= minute < INCIDENT_MINUTE + 5:
            for i in range(25):
                ts = base + 5 * 10**9 + i * 2 * 10**9
                out.append((ts, "web", "error", f"upstream db failed after {rng.randint(1000, 3000)}ms"))
    out.sort()
    return out


def write_jsonl(path: Path, minutes: int = 60) -> Path:
    """The scenario as one JSON-lines file (loglens reads `ts`, `level`, `msg`, `service`)."""
    from loglens.formats.timestamp import to_iso_ms

    with path.open("w") as fh:
        for ts, service, level, message in lines(minutes):
            fh.write(
                json.dumps({"ts": to_iso_ms(ts), "level": level, "service": service, "msg": message}) + "\n"
            )
    return path


def records(minutes: int = 60) -> list[Record]:
    """The scenario as records labelled by a miner, as ingest would store them."""
    from loglens.mining.drain import TemplateMiner

    out = [
        Record(
            ts=ts,
            observed_ts=ts,
            service=service,
            source="test",
            message=message,
            raw=message,
            level=Level.ERROR if level == "error" else Level.INFO,
            id=i,
        )
        for i, (ts, service, level, message) in enumerate(lines(minutes))
    ]
    TemplateMiner().label(out)
    return out
