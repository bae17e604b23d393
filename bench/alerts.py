#!/usr/bin/env python3
"""What alerting and explaining cost: the alert engine's time per record with the rules of
tests/alerts/test_corpus.py (five rules: incident, two regex matches, two thresholds) against the
same records with no rule, and the offline explainer's time per incident — on the shared generator's
default scenario (4 injected incidents). Medians of `--runs`. Writes bench/results/alerts.json.

    python bench/alerts.py --shared ../shared [--lines 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

from loglens.ai.explain import explain_offline
from loglens.ai.kb import all_signatures
from loglens.alerts.engine import AlertEngine
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.replay import stored_batches
from loglens.alerts.rules import parse_rule
from loglens.alerts.settings import AlertSettings
from loglens.analysis.explain import explain_view
from loglens.analysis.watch import replay
from loglens.config import Config
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore

HERE = Path(__file__).resolve().parent
RULES = [
    {"name": "incidents", "type": "incident", "min_severity": "warning"},
    {"name": "oom", "type": "match", "regex": r"invoked oom-killer|Out of memory: Killed process"},
    {"name": "deadlocks", "type": "match", "regex": "deadlock detected"},
    {"name": "ssh-guessing", "type": "threshold", "query": 'service:sshd "Failed password"', "window": "1m",
     "threshold": 20},
    {"name": "queue-storm", "type": "threshold", "query": "service:queue level:debug", "window": "1m",
     "threshold": 150},
]  # fmt: skip


def engine_seconds(batches: list[list], rules: list[dict]) -> tuple[float, int]:
    """CPU seconds for one engine to observe every batch (and tick after each), and alerts opened."""
    settings = AlertSettings(rules=tuple(parse_rule(r) for r in rules), group_wait_ns=0)
    engine = AlertEngine(settings, AlertLedger(None), lambda channels, notification: None, channels=("x",))
    started = time.process_time()
    for batch in batches:
        engine.observe(batch)
        engine.tick(batch[-1].ts)
    engine.flush()
    return time.process_time() - started, engine.counts["opened"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generator = args.shared / "bench" / "gen_corpus.py"
        subprocess.run([sys.executable, str(generator), "--lines", str(args.lines), "--seed", "42",
                        "--out", str(root / "c"), "--quiet"], check=True)  # fmt: skip
        config = Config(timezone=UTC)
        store = DuckDBStore(root / "s.duckdb")
        Ingestor(store, config).ingest_paths([str(root / "c")])
        store.close()
        store = DuckDBStore(root / "s.duckdb", read_only=True)
        batches = list(stored_batches(store, None, None))
        records = sum(len(b) for b in batches)
        with_rules, without, opened = [], [], 0
        for _ in range(args.runs):
            seconds, opened = engine_seconds(batches, RULES)
            with_rules.append(seconds)
            without.append(engine_seconds(batches, [])[0])
        incidents = replay(store, None, None, config.analysis).incidents
        explain_s = []
        for incident in incidents:
            started = time.perf_counter()
            found = explain_view(store, config, incident.id, 3)
            explain_offline(store, found, all_signatures(store))
            explain_s.append(time.perf_counter() - started)
        store.close()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "records": records,
        "rules": len(RULES),
        "alerts_opened": opened,
        "engine_us_per_record_median": round(statistics.median(with_rules) / records * 1e6, 3),
        "no_rules_us_per_record_median": round(statistics.median(without) / records * 1e6, 3),
        "runs": args.runs,
        "incidents": len(incidents),
        "explain_seconds_median": round(statistics.median(explain_s), 3) if explain_s else None,
        "explain_seconds_max": round(max(explain_s), 3) if explain_s else None,
        "note": "records: the match and threshold rules (the incident rule waits for detector events, not "
        "fed here); explain: replaying the store to find the incident, then the offline explainer",
    }
    print(json.dumps(result, indent=2))
    out = HERE / "results" / "alerts.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
