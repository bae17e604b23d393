#!/usr/bin/env python3
"""Incident detection against ground truth: generated corpora with injected incidents.

For each seed: generate a 6-hour default-scenario corpus (../shared/bench/gen_corpus.py), ingest it
with `loglens ingest`, ask `loglens incidents --json`, and score every incident of truth.json:
- found: a reported incident whose `start` lies from 1 minute before to 2 minutes after the true start;
- delay: that incident's `detected_at` minus the true start (bar: ≤ 2 minutes);
- root-cause rank: where the true root-cause service stands among the incident's candidates;
- false incidents: reported incidents that overlap no true incident's [start, end] (bar: ≤ 1 per 6 h).

Services: the corpus' auth.log holds several syslog programs (sshd, sudo, CRON …), which loglens keeps
as services of their own; each stored service is mapped to truth's service through the file its
records came from. Writes bench/results/detect.json.

    python bench/detect.py --shared ../shared --seeds 1 2 3 --lines 500000
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from corpus import LOG_FILES, ensure_corpus

HERE = Path(__file__).resolve().parent
BEFORE_NS = 60 * 10**9
AFTER_NS = 120 * 10**9


def ns(stamp: str) -> int:
    """An ISO 8601 UTC stamp as ns since the epoch."""
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1e9)


def loglens(*args: str) -> str:
    """Runs the loglens CLI of this checkout's venv and returns its stdout."""
    command = [str(Path(sys.executable).with_name("loglens")), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def service_map(store: Path, corpus: Path, truth: dict[str, Any]) -> dict[str, str]:
    """Stored service → truth service, through the file each service's records came from."""
    rows = json.loads(
        "["
        + ",".join(
            loglens(
                "sql",
                "--store",
                str(store),
                "--json",
                "SELECT service, any_value(source) AS source FROM records GROUP BY 1",
            )
            .strip()
            .splitlines()
        )
        + "]"
    )
    mapping = {}
    for row in rows:
        relative = str(Path(row["source"]).resolve().relative_to(corpus.resolve()))
        mapping[row["service"]] = truth["files"][relative]["service"]
    return mapping


def score_seed(
    truth: dict[str, Any], reported: list[dict[str, Any]], mapping: dict[str, str]
) -> dict[str, Any]:
    """Found, delay and root-cause rank per true incident, and the false incidents."""
    results = []
    matched: set[str] = set()
    for true in truth["incidents"]:
        start = ns(true["start"])
        hits = [r for r in reported if start - BEFORE_NS <= ns(r["start"]) <= start + AFTER_NS]
        hit = min(hits, key=lambda r: abs(ns(r["start"]) - start), default=None)
        entry: dict[str, Any] = {
            "id": true["id"],
            "kind": true["kind"],
            "true_start": true["start"],
            "found": hit is not None,
        }
        if hit is not None:
            matched.add(hit["id"])
            ranked = [mapping.get(c["service"], c["service"]) for c in hit["candidates"]]
            root = true["root_cause_service"]
            entry |= {
                "incident": hit["id"],
                "start_offset_s": round((ns(hit["start"]) - start) / 1e9, 1),
                "delay_s": round((ns(hit["detected_at"]) - start) / 1e9, 1),
                "root_cause": mapping.get(hit["root_cause"]["service"], hit["root_cause"]["service"]),
                "root_rank": ranked.index(root) + 1 if root in ranked else None,
                "confidence": hit["root_cause"]["confidence"],
            }
        results.append(entry)
    false = []
    for r in reported:
        if r["id"] in matched:
            continue
        overlaps = any(
            ns(r["start"]) <= ns(t["end"]) and ns(r["end"]) >= ns(t["start"]) for t in truth["incidents"]
        )
        if not overlaps:
            false.append({"id": r["id"], "start": r["start"], "services": r["services"]})
    return {"incidents": results, "false_incidents": false}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--hours", type=float, default=6.0, help="Span of each corpus (the bar is per 6 h).")
    parser.add_argument("--start", default=None, help="Start of each corpus, ISO 8601 (generator's default).")
    parser.add_argument(
        "--work", type=Path, default=None, help="Keep corpora and stores here (default: a temp dir)."
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "detect.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="loglens-detect-"))
    seeds = []
    for seed in args.seeds:
        corpus = work / f"corpus-{seed}"
        truth = ensure_corpus(args.shared, args.lines, seed, corpus, args.hours, args.start)
        store = work / f"store-{seed}.duckdb"
        if not store.exists():
            loglens("ingest", "--store", str(store), *(str(corpus / f) for f in LOG_FILES))
        started = time.perf_counter()
        reported = json.loads(loglens("incidents", "--store", str(store), "--json"))
        elapsed = time.perf_counter() - started
        scored = score_seed(truth, reported, service_map(store, corpus, truth))
        scored |= {
            "seed": seed,
            "hours": truth["hours"],
            "records": truth["totals"]["events"],
            "incidents_s": round(elapsed, 2),
        }
        seeds.append(scored)
        for item in scored["incidents"]:
            if item["found"]:
                print(
                    f"seed {seed} {item['id']:<6} {item['kind']:<16} found  "
                    f"start {item['start_offset_s']:+6.1f} s  detected after {item['delay_s']:6.1f} s  "
                    f"root cause {item['root_cause']} (rank {item['root_rank']}, "
                    f"confidence {item['confidence']:.2f})"
                )
            else:
                print(f"seed {seed} {item['id']:<6} {item['kind']:<16} MISSED")
        print(
            f"seed {seed}: {len(scored['false_incidents'])} false incidents in {truth['hours']:.0f} h "
            f"{[f['id'] for f in scored['false_incidents']]}; `loglens incidents` took {elapsed:.1f} s"
        )
    everything = [i for s in seeds for i in s["incidents"]]
    found = [i for i in everything if i["found"]]
    summary = {
        "incidents": len(everything),
        "found": len(found),
        "max_delay_s": max((i["delay_s"] for i in found), default=None),
        "root_cause_first": sum(1 for i in found if i["root_rank"] == 1),
        "false_per_6h_max": max(len(s["false_incidents"]) * 6 / s["hours"] for s in seeds),
    }
    bars = {
        "every_incident_found": summary["found"] == summary["incidents"],
        "detected_within_120s": all(0 <= i["delay_s"] <= 120 for i in found),
        "false_per_6h_at_most_1": summary["false_per_6h_max"] <= 1,
        "root_cause_ranked_first": summary["root_cause_first"] == summary["incidents"],
    }
    print(json.dumps(summary), "bars:", json.dumps(bars))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.machine(),
                "python": platform.python_version(),
                "lines": args.lines,
                "seeds": seeds,
                "summary": summary,
                "bars": bars,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
