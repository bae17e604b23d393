#!/usr/bin/env python3
"""Ingest throughput: `loglens ingest` of a generated multi-service corpus, read + parse + store.

Prints lines/s, MB/s and peak RSS (median of --runs), against peers measured in the same run on the
same files (`wc -l`, and a bare Python loop over the lines), and writes bench/results/ingest.json.

    python bench/ingest.py --shared ../shared --lines 2000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from corpus import LOG_FILES, ensure_corpus

HERE = Path(__file__).resolve().parent


def tree_pss(pid: int) -> int:
    """Proportional set size of a process and all its descendants now, in bytes: resident memory with
    pages shared between them (libarrow, libpython) counted once, not once per process."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += next(
                int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


class TreePssSampler:
    """Samples the summed PSS of a process tree every 200 ms (ru_maxrss only sees one process: a
    mining subprocess' memory would go unreported)."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_pss(self._pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(cmd: list[str]) -> tuple[float, int, str, int]:
    """Runs `cmd`, returning (wall seconds, peak RSS in bytes of the child, stdout, peak summed PSS of
    the child and its own subprocesses)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreePssSampler(proc.pid)
    out, err = b"", b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    tree_peak = sampler.stop()
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    return elapsed, usage.ru_maxrss * 1024, out.decode(), tree_peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=None, help="where to keep the generated corpus")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ingest.json")
    args = parser.parse_args()

    corpus = args.corpus or HERE / "corpus" / f"{args.lines}-seed{args.seed}"
    truth = ensure_corpus(args.shared.resolve(), args.lines, args.seed, corpus)
    totals = truth["totals"]  # type: ignore[index]
    physical, events, size = totals["physical_lines"], totals["events"], totals["bytes"]
    files = [str(corpus / f) for f in LOG_FILES]
    loglens = shutil.which("loglens", path=str(Path(sys.executable).parent)) or "loglens"

    runs: list[dict[str, float]] = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            store = str(Path(tmp) / "bench.duckdb")
            seconds, rss, _, tree = run_measured(
                [loglens, "ingest", "--quiet", "--store", store, str(corpus)]
            )
            _, _, count, _ = run_measured([loglens, "sql", "--store", store, "SELECT count(*) FROM records"])
            stored = int(count.strip().splitlines()[-1])
        if stored != events:
            sys.exit(f"run {i + 1}: stored {stored:,} records, truth.json says {events:,} events")
        runs.append(
            {
                "seconds": seconds,
                "peak_rss_mb": rss / 1e6,
                "peak_pss_all_processes_mb": tree / 1e6,
                "lines_per_s": physical / seconds,
                "events_per_s": events / seconds,
                "mb_per_s": size / 1e6 / seconds,
            }
        )
        print(
            f"run {i + 1}: {seconds:.2f} s  {physical / seconds:,.0f} lines/s  "
            f"{size / 1e6 / seconds:.1f} MB/s  "
            f"peak RSS {rss / 1e6:.0f} MB; with the mining process, peak PSS {tree / 1e6:.0f} MB",
            flush=True,
        )

    peers: dict[str, float] = {}
    wc = [run_measured(["wc", "-l", *files])[0] for _ in range(args.runs)]
    peers["wc -l lines/s"] = physical / statistics.median(wc)
    loop = (
        "import sys\nn=0\nfor p in sys.argv[1:]:\n    with open(p, 'rb') as f:\n        for _ in f: n += 1\n"
    )
    py = [run_measured([sys.executable, "-c", loop, *files])[0] for _ in range(args.runs)]
    peers["python line loop lines/s"] = physical / statistics.median(py)

    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "bench": "ingest",
        "corpus": {
            "lines_requested": args.lines,
            "seed": args.seed,
            "physical_lines": physical,
            "events": events,
            "bytes": size,
        },
        "runs": runs,
        "median": median,
        "peers": peers,
        "ratios": {name: median["lines_per_s"] / value for name, value in peers.items()},
        "bar": {"lines_per_s": 100_000, "peak_rss_mb": 300, "peak_pss_all_processes_mb": 300},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"median of {args.runs}: {median['lines_per_s']:,.0f} lines/s, {median['mb_per_s']:.1f} MB/s, "
        f"peak RSS {median['peak_rss_mb']:.0f} MB, "
        f"all processes (PSS) {median['peak_pss_all_processes_mb']:.0f} MB (bar: ≥100,000 lines/s, ≤300 MB)"
    )
    for name, value in peers.items():
        print(f"peer {name}: {value:,.0f}  (loglens is {median['lines_per_s'] / value:.3f}× of it)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
