#!/usr/bin/env python3
"""Template-mining accuracy on Loghub-2k: the miner's one default configuration on every dataset.

Two modes, both scored with the shared `score_templates.py` (GA, PA, FGA, FTA): message-only (each
line's `Content` column, comparable with published results) and raw (the `.log` file's lines, with
loglens's own header parsing, as `loglens mine` does). Prints a table and the means; writes
bench/results/loghub.json.

    python bench/loghub.py ../shared/data/loghub-2k
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path

from scoring import METRICS, score

from loglens.mine import messages_of, mine_messages, read_lines

HERE = Path(__file__).resolve().parent


def mine_dataset(structured: Path, mode: str) -> tuple[list[str], float]:
    """Predicted template for every line (its template after the whole file), and seconds spent."""
    if mode == "message-only":
        with structured.open(newline="") as fh:
            contents = [row["Content"] for row in csv.DictReader(fh)]
    else:
        raw = structured.with_name(structured.name.replace("_structured.csv", ""))
        contents = messages_of(read_lines(raw), message_only=False)
    started = time.perf_counter()
    templates = mine_messages(contents)
    seconds = time.perf_counter() - started
    return [template.text for template in templates], seconds


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
    result: dict[str, object] = {}
    for mode in ("message-only", "raw"):
        rows: dict[str, dict[str, float]] = {}
        print(f"== {mode}")
        for structured in sorted(args.data.glob("*/*_2k.log_structured.csv")):
            name = structured.parent.name
            predictions, seconds = mine_dataset(structured, mode)
            rows[name] = {**score(structured, predictions, scorer), "seconds": seconds}
            print(f"{name:10s} " + " ".join(f"{m} {rows[name][m]:.3f}" for m in METRICS), flush=True)
        mean = {m: statistics.fmean(r[m] for r in rows.values()) for m in METRICS}
        print("mean       " + " ".join(f"{m} {mean[m]:.3f}" for m in METRICS))
        result[mode] = {"datasets": rows, "mean": mean}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
