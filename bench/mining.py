#!/usr/bin/env python3
"""Template-mining speed: the loglens miner against Drain3 (with masks and with defaults), same messages.

Inputs: the messages of a generated multi-service corpus (values rarely repeat there), and each shared
Loghub-2k dataset's `Content` repeated to `--repeat-lines` lines. Every miner also extracts each
message's parameters. Prints lines/s per miner, ratios against both Drain3 set-ups, template counts,
and peak RSS; writes bench/results/mining.json. Median of `--runs`.

    python bench/mining.py --shared ../shared --lines 2000000 --repeat-lines 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from corpus import LOG_FILES, ensure_corpus

from loglens.mine import messages_of, read_lines
from loglens.mining.drain import TemplateMiner

HERE = Path(__file__).resolve().parent

# Drain3's masking set-up as its own examples recommend it (IPs, numbers, hex, ids).
DRAIN3_MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
]


def loglens_run(messages: list[str]) -> int:
    miner = TemplateMiner()
    add = miner.add
    for message in messages:
        add(message)  # mines and extracts the parameters
    return len(miner.templates)


def drain3_run(messages: list[str], masks: bool) -> int:
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    if masks:
        config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name in DRAIN3_MASKS]
    miner = Drain3Miner(config=config)
    for message in messages:
        result = miner.add_log_message(message)
        miner.extract_parameters(result["template_mined"], message)
    return len(miner.drain.clusters)


MINERS: dict[str, Callable[[list[str]], int]] = {
    "loglens": loglens_run,
    "drain3_masks": lambda m: drain3_run(m, masks=True),
    "drain3_defaults": lambda m: drain3_run(m, masks=False),
}


def timed(name: str, messages: list[str], runs: int) -> dict[str, float]:
    seconds = []
    templates = 0
    for _ in range(runs):
        started = time.perf_counter()
        templates = MINERS[name](messages)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {"lines_per_s": len(messages) / median, "seconds": median, "templates": templates}


def corpus_messages(shared: Path, lines: int, out: Path) -> list[str]:
    """The messages (headers parsed off) of every log file of a generated corpus."""
    ensure_corpus(shared, lines, 42, out)
    messages: list[str] = []
    for name in LOG_FILES:
        messages.extend(m for m in messages_of(read_lines(out / name), message_only=False) if m)
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat-lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mining.json")
    args = parser.parse_args()

    inputs: dict[str, list[str]] = {
        "generated": corpus_messages(args.shared, args.lines, HERE / "corpus" / f"{args.lines}-seed42")
    }
    for structured in sorted((args.shared / "data" / "loghub-2k").glob("*/*_2k.log_structured.csv")):
        with structured.open(newline="") as fh:
            contents = [row["Content"] for row in csv.DictReader(fh)]
        inputs[structured.parent.name] = (contents * (args.repeat_lines // len(contents) + 1))[
            : args.repeat_lines
        ]

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, messages in inputs.items():
        results[name] = {miner: timed(miner, messages, args.runs) for miner in MINERS}
        row = results[name]
        print(
            f"{name:10s} {len(messages):>9,} lines  "
            + "  ".join(
                f"{m} {row[m]['lines_per_s']:>9,.0f}/s ({row[m]['templates']:.0f} tpl)" for m in MINERS
            )
            + f"  ×masks {row['loglens']['lines_per_s'] / row['drain3_masks']['lines_per_s']:.1f}"
            + f"  ×defaults {row['loglens']['lines_per_s'] / row['drain3_defaults']['lines_per_s']:.1f}",
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (all miners, all inputs): {peak:.0f} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"runs": args.runs, "results": results, "peak_rss_mb": peak}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
