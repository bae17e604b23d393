#!/usr/bin/env python3
"""`make fuzz`: every fuzz target of tests/fuzz on the `fuzz` profile (100,000 cases each), one pytest
process per target, `--jobs` at a time, with the cases and time of each written to bench/results/fuzz.json.

    python bench/fuzz.py [--examples 100000] [--jobs 2] [--seed N] [-k EXPR] [--out FILE]
                         [--tmp DIR] [PATH …]

The endpoint targets drive a real daemon on a real DuckDB file. Each push's commit syncs that file, and
on a disk the sync is a third of a case's time without being what is fuzzed; so the targets' temporary
directories go to `--tmp` (default /dev/shm, a RAM file system, where it exists).

A target that fails leaves its falsifying case in the output (and in .hypothesis/, replayed first by
the next run, `make test` included); the exit status is 1 when any did.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Plain tests of the cases fuzzing found: they run in `make test`; here they would be 100k-less noise.
REGRESSION_CLASSES = ("TestFoundByFuzzing", "TestDumpsAny")
RAM_TMP = Path("/dev/shm")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
_STOPPED = re.compile(r"- Stopped because (.+)")


@dataclass
class TargetResult:
    """One target's run: pytest's outcome, the cases Hypothesis ran and the wall time."""

    target: str
    outcome: str
    passing: int
    failing: int
    invalid: int
    seconds: float
    stopped_because: str
    failure: str


def collect(paths: list[str], keyword: str | None) -> list[str]:
    """The node ids of the fuzz targets under `paths` (regression tests left out)."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-p", "no:warnings", *paths]
    if keyword:
        command += ["-k", keyword]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False).stdout
    return [
        line.strip()
        for line in out.splitlines()
        if "::" in line and not any(c in line for c in REGRESSION_CLASSES)
    ]


def run_target(target: str, examples: int, seed: int | None, tmp: Path | None) -> TargetResult:
    """Runs one target in its own pytest process on the fuzz profile, its temporary files under `tmp`."""
    env = {**os.environ, "LOGLENS_FUZZ_PROFILE": "fuzz", "LOGLENS_FUZZ_EXAMPLES": str(examples)}
    command = [sys.executable, "-m", "pytest", target, "--timeout", "0", "-p", "no:warnings"]
    command += ["-p", "no:cacheprovider", "--hypothesis-show-statistics"]
    if seed is not None:
        command.append(f"--hypothesis-seed={seed}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="loglens-fuzz-", dir=tmp) as basetemp:
        proc = subprocess.run(
            [*command, "--basetemp", basetemp], cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
    seconds = time.monotonic() - started
    out = proc.stdout + proc.stderr
    counts = [tuple(map(int, m.groups())) for m in _COUNTS.finditer(out)]
    passing, failing, invalid = (sum(c[i] for c in counts) for i in range(3))
    outcome = {0: "passed", 1: "failed"}.get(proc.returncode, f"exit {proc.returncode}")
    if " xfailed" in out:
        outcome = "xfailed"
    stopped = _STOPPED.search(out)
    failure = "\n".join(line for line in out.splitlines() if line.startswith("E ")) if proc.returncode else ""
    return TargetResult(
        target,
        outcome,
        passing,
        failing,
        invalid,
        round(seconds, 1),
        stopped[1] if stopped else "",
        failure[-4000:],
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", default=["tests/fuzz"])
    parser.add_argument("--examples", type=int, default=100_000, help="cases per target (default 100000)")
    parser.add_argument("--jobs", type=int, default=2, help="targets run at once (default 2)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    parser.add_argument(
        "-k", dest="keyword", default=None, help="only targets matching this pytest -k expression"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fuzz.json")
    parser.add_argument(
        "--tmp",
        type=Path,
        default=RAM_TMP if RAM_TMP.is_dir() and os.access(RAM_TMP, os.W_OK) else None,
        help="where the targets' stores go (default /dev/shm where it exists, else the system's)",
    )
    args = parser.parse_args()

    targets = collect(args.paths, args.keyword)
    print(f"{len(targets)} targets, {args.examples:,} cases each, {args.jobs} at a time", flush=True)
    started = time.monotonic()
    results: list[TargetResult] = []

    def write_report() -> dict[str, object]:
        # After every target: a run stopped early (they take hours) still leaves its figures.
        report = {
            "examples_per_target": args.examples,
            "seed": args.seed,
            "jobs": args.jobs,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "tmp": str(args.tmp) if args.tmp else tempfile.gettempdir(),
            "targets_planned": len(targets),
            "wall_seconds": round(time.monotonic() - started, 1),
            "targets": [asdict(result) for result in results],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        return report

    with ThreadPoolExecutor(args.jobs) as pool:
        running = [pool.submit(run_target, target, args.examples, args.seed, args.tmp) for target in targets]
        for done in as_completed(running):
            result = done.result()
            results.append(result)
            print(
                f"{result.outcome:8} {result.passing:>7,} cases {result.seconds:>8.1f} s  {result.target}",
                flush=True,
            )
            if result.failure:
                print(result.failure, flush=True)
            write_report()
    report = write_report()
    bad = [r for r in results if r.outcome not in ("passed", "xfailed")]
    passed = len(results) - len(bad)
    print(f"{passed}/{len(results)} targets passed in {report['wall_seconds']:.0f} s -> {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
