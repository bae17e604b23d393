#!/usr/bin/env python3
"""Template-mining speed: the loglens miner against Drain3 (with masks and with defaults), same messages.

Inputs: the messages of a generated multi-service corpus (one per event, as ingest frames and parses
them; values rarely repeat there), and each shared Loghub-2k dataset's `Content` repeated to
`--repeat-lines` lines. Every miner also extracts each message's parameters. Prints lines/s per miner,
ratios against both Drain3 set-ups, template counts, and peak RSS; scores the three miners' grouping of
the corpus' first `--score-events` events against its templates.csv with the shared score_templates.py
(the "at better accuracy" half of the bar); writes bench/results/mining.json. Median of `--runs`.

    python bench/mining.py --shared ../shared --lines 2000000 --repeat-lines 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from corpus import LOG_FILES, ensure_corpus
from scoring import score, write_templates

from loglens.formats import registry
from loglens.formats.base import SourceContext
from loglens.formats.detect import detect_format
from loglens.formats.level import LevelClassifier
from loglens.formats.multiline import EventFramer
from loglens.formats.timestamp import TimestampParser
from loglens.mine import read_lines
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


def loglens_run(messages: list[str]) -> list[str]:
    """Each message's template (as it stands at the end) from the loglens miner."""
    miner = TemplateMiner()
    add = miner.add
    matches = [add(message) for message in messages]  # mines and extracts the parameters
    return [match.template.text for match in matches]


def drain3_run(messages: list[str], masks: bool) -> list[str]:
    """Each message's template (its cluster's template at the end) from Drain3."""
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    if masks:
        config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name in DRAIN3_MASKS]
    miner = Drain3Miner(config=config)
    clusters = []
    for message in messages:
        result = miner.add_log_message(message)
        miner.extract_parameters(result["template_mined"], message)
        clusters.append(result["cluster_id"])
    return [miner.drain.id_to_cluster[c].get_template() for c in clusters]


MINERS: dict[str, Callable[[list[str]], list[str]]] = {
    "loglens": loglens_run,
    "drain3_masks": lambda m: drain3_run(m, masks=True),
    "drain3_defaults": lambda m: drain3_run(m, masks=False),
}


def timed(name: str, messages: list[str], runs: int) -> dict[str, float]:
    seconds = []
    templates = 0
    for _ in range(runs):
        # Every miner runs with the cyclic collector off, as loglens' ingest does (bulk_allocation):
        # with it on, its full passes over the millions of input strings held here dominate the timings.
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        templates = len(set(MINERS[name](messages)))
        seconds.append(time.perf_counter() - started)
        gc.enable()
    median = statistics.median(seconds)
    return {"lines_per_s": len(messages) / median, "seconds": median, "templates": templates}


def corpus_events(shared: Path, lines: int, out: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Per log file of a generated corpus: the message of every event, framed and parsed as ingest
    does, and each event's true template from templates.csv."""
    ensure_corpus(shared, lines, 42, out)
    formats = registry()
    truth: dict[str, list[str]] = {name: [] for name in LOG_FILES}
    with (out / "templates.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            truth[row["file"]].append(row["template"])
    events_of: dict[str, tuple[list[str], list[str]]] = {}
    for name in LOG_FILES:
        text = read_lines(out / name)
        fmt = detect_format(text[:800], list(formats.values()), formats["plain"]).fmt
        ctx = SourceContext(source=name, service="bench", host=None, observed_ns=0,
                            timestamps=TimestampParser(tz=UTC), levels=LevelClassifier())  # fmt: skip
        framer = EventFramer(fmt, ctx.max_event_bytes)
        events = framer.feed(text) + framer.flush()
        messages = [record.message for record in fmt.parse(events, ctx)]
        if len(messages) != len(truth[name]):
            sys.exit(f"{name}: {len(messages):,} events framed, templates.csv has {len(truth[name]):,}")
        events_of[name] = (messages, truth[name])
    return events_of


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat-lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--score-events", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mining.json")
    args = parser.parse_args()

    events = corpus_events(args.shared, args.lines, HERE / "corpus" / f"{args.lines}-seed42")
    inputs: dict[str, list[str]] = {"generated": [m for messages, _ in events.values() for m in messages]}
    # Scored on the first events of every file (one service each), mined as one stream.
    share = args.score_events // len(events)
    sample = [m for messages, _ in events.values() for m in messages[:share]]
    truth = [t for _, templates in events.values() for t in templates[:share]]
    scorer = args.shared / "bench" / "score_templates.py"
    with tempfile.TemporaryDirectory() as tmp:
        truth_csv = Path(tmp) / "truth.csv"
        write_templates(truth_csv, truth)
        accuracy = {miner: score(truth_csv, MINERS[miner](sample), scorer) for miner in MINERS}
    for miner, figures in accuracy.items():
        print(f"accuracy on {len(sample):,} generated events ({share:,} of each file), {miner}: "
              + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)  # fmt: skip
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
        json.dumps(
            {"runs": args.runs, "results": results, "accuracy_generated": accuracy, "peak_rss_mb": peak},
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
