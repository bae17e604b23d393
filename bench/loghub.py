#!/usr/bin/env python3
"""Template-mining accuracy on Loghub-2k: the miner's one default configuration on every dataset.

Message-only mode: each line's `Content` column is mined; predictions are scored with the shared
`score_templates.py` (GA, PA, FGA, FTA). Prints a table and the mean; writes bench/results/loghub.json.

    python bench/loghub.py ../shared/data/loghub-2k
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loglens.mining.drain import TemplateMiner

HERE = Path(__file__).resolve().parent
METRICS = ("GA", "PA", "FGA", "FTA")


def mine_dataset(structured: Path) -> tuple[list[str], float]:
    """Predicted template for every line (its template after the whole file), and seconds spent."""
    with structured.open(newline="") as fh:
        contents = [row["Content"] for row in csv.DictReader(fh)]
    miner = TemplateMiner()
    started = time.perf_counter()
    matches = [miner.add(content) for content in contents]
    seconds = time.perf_counter() - started
    return [m.template.text for m in matches], seconds


def score(structured: Path, predictions: list[str], scorer: Path) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as fh:
        writer = csv.writer(fh)
        writer.writerow(["LineId", "EventTemplate"])
        for i, template in enumerate(predictions, 1):
            writer.writerow([i, template])
        pred = fh.name
    out = subprocess.run(
        [sys.executable, str(scorer), "--truth", str(structured), "--pred", pred],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(pred).unlink()
    result = json.loads(out)
    return {m: float(result[m]) for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data", nargs="?", type=Path, default=HERE.parent.parent / "shared" / "data" / "loghub-2k"
    )
    parser.add_argument("--scorer", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "loghub.json")
    args = parser.parse_args()
    scorer = args.scorer or args.data.parent.parent / "bench" / "score_templates.py"
    rows: dict[str, dict[str, float]] = {}
    for structured in sorted(args.data.glob("*/*_2k.log_structured.csv")):
        name = structured.parent.name
        predictions, seconds = mine_dataset(structured)
        rows[name] = {**score(structured, predictions, scorer), "seconds": seconds}
        print(f"{name:10s} " + " ".join(f"{m} {rows[name][m]:.3f}" for m in METRICS), flush=True)
    mean = {m: statistics.fmean(r[m] for r in rows.values()) for m in METRICS}
    print("mean       " + " ".join(f"{m} {mean[m]:.3f}" for m in METRICS))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"mode": "message-only", "datasets": rows, "mean": mean}, indent=2) + "\n")


if __name__ == "__main__":
    main()
