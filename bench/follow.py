#!/usr/bin/env python3
"""Live sources: rotation under SIGKILL at other rates and timings, follow throughput and latency.

1. The torture test of tests/rotation_scenario.py (writer + rotations + SIGKILLed follower), for each
   rotation mode at several writer rates and rotation/kill timings: stored == written, in order.
2. Throughput: lines appended as fast as a writer can while `loglens tail` follows (stored and
   printed), against GNU `tail -F` on the same file in the same run (it only prints).
3. Latency: one line every 100 ms; the time until `loglens tail` prints it (median, p95), for a
   single-line format (JSON) and for plain text (whose events wait for a possible continuation
   line until the quiet period), against `tail -F`.

Writes bench/results/follow.json.

    python bench/follow.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from rotation_scenario import MODES, TortureSettings, run_torture  # noqa: E402

TORTURE_VARIANTS: list[dict[str, Any]] = [
    {"rate": 500, "rotate_every": (2.0, 4.0), "kill_every": (0.5, 2.0), "down_for": (0.0, 2.0)},
    {"rate": 2500, "rotate_every": (0.4, 1.4), "kill_every": (0.3, 1.5)},
    {"rate": 8000, "rotate_every": (0.05, 0.6), "kill_every": (0.1, 1.0), "multiline_share": 0.2},
    {"rate": 20000, "rotate_every": (0.5, 1.0), "kill_every": (1.0, 3.0)},
]


def torture(seconds: float, variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for mode in MODES:
        for i, variant in enumerate(variants):
            settings = TortureSettings(mode=mode, seconds=seconds, seed=100 + i, **variant)
            with tempfile.TemporaryDirectory() as tmp:
                result = run_torture(Path(tmp), settings)
            row = {
                "mode": mode,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in variant.items()},
                "written": len(result.written),
                "stored": len(result.stored),
                "exact": result.stored == result.written,
                "rotations": result.rotations,
                "kills": result.kills,
                "follower_errors": result.follower_errors,
            }
            out.append(row)
            print(
                f"  {mode:<12} rate {variant['rate']:>6}/s  rotations {result.rotations:>3}  "
                f"kills {result.kills:>3}  written {len(result.written):>7}  stored {len(result.stored):>7}  "
                f"{'EXACT' if row['exact'] else 'DIFFERENT: ' + result.first_difference()}",
                flush=True,
            )
    return out


class LineCounter(threading.Thread):
    """Reads a process' stdout and notes when each line arrived."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.arrivals: list[tuple[float, bytes]] = []
        self.count = 0

    def run(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = b""
        while True:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            data = os.read(fd, 1 << 20)
            if not data:
                return
            now = time.monotonic()
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            self.count += len(lines)
            if len(self.arrivals) < 2000:
                self.arrivals.extend((now, line) for line in lines[: 2000 - len(self.arrivals)])


def write_lines(fh: Any, lines: int) -> None:
    """`lines` Python-logging lines, written a thousand at a time (as fast as Python can)."""
    for i in range(0, lines, 1000):
        fh.write(
            "".join(
                f"2026-11-27 10:00:00,{j % 1000:03d} INFO worker-{j % 7} processed job {j} in {j % 97} ms\n"
                for j in range(i, min(i + 1000, lines))
            )
        )


def loglens_tail(path: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "loglens", "tail", "--store", str(store), "-n", "0", str(path)]


def gnu_tail(path: Path, store: Path) -> list[str]:
    return ["tail", "-n", "0", "-F", str(path)]


def following(cmd_of: Any, log: Path) -> tuple[subprocess.Popen[bytes], LineCounter]:
    """A follower started on the new, empty file `log` (its store beside it), its output counted."""
    log.touch()
    proc = subprocess.Popen(
        cmd_of(log, log.parent / "s.duckdb"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    counter = LineCounter(proc)
    counter.start()
    return proc, counter


def throughput(cmd_of: Any, lines: int) -> dict[str, float]:
    """Lines/s a follower keeps up with while `lines` are appended as fast as possible."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "app.log"
        proc, counter = following(cmd_of, log)
        time.sleep(1.5)  # started and following
        started = time.monotonic()
        with log.open("a") as fh:
            write_lines(fh, lines)
        written = time.monotonic() - started
        deadline = time.monotonic() + 300
        while counter.count < lines and time.monotonic() < deadline:
            time.sleep(0.01)
        seconds = time.monotonic() - started
        proc.terminate()
        proc.wait(30)
        return {"lines": counter.count, "seconds": round(seconds, 3), "write_seconds": round(written, 3),
                "lines_per_s": round(counter.count / seconds)}  # fmt: skip


def latency(cmd_of: Any, json_lines: bool, samples: int = 40) -> dict[str, float]:
    """Milliseconds from a line's write to its appearance on the follower's output."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "app.log"
        proc, counter = following(cmd_of, log)
        with log.open("a") as fh:  # the first lines of a new file wait (≤ 0.5 s) for format detection
            for i in range(60):
                fh.write(
                    json.dumps({"ts": "2026-11-27T10:00:00Z", "level": "info", "msg": f"warm {i}"})
                    if json_lines
                    else f"2026-11-27 10:00:00 INFO warm {i}"
                )
                fh.write("\n")
        time.sleep(2.0)
        written: list[float] = []
        with log.open("a") as fh:
            for i in range(samples):
                line = (
                    json.dumps({"ts": "2026-11-27T10:00:00Z", "level": "info", "msg": f"tick {i}"})
                    if json_lines
                    else f"2026-11-27 10:00:00 INFO tick {i}"
                )
                written.append(time.monotonic())
                fh.write(line + "\n")
                fh.flush()
                time.sleep(0.1)
        time.sleep(2.0)
        proc.terminate()
        proc.wait(30)
        delays = [
            (arrived - written[i]) * 1000
            for i in range(samples)
            for arrived, text in counter.arrivals
            if text.endswith(f"tick {i}".encode()) or text.endswith(f'tick {i}"}}'.encode())
        ]
        delays.sort()
        return {
            "samples": len(delays),
            "median_ms": round(statistics.median(delays), 1) if delays else -1,
            "p95_ms": round(delays[int(len(delays) * 0.95) - 1], 1) if delays else -1,
        }


def stdin_memory(lines: int) -> dict[str, float]:
    """Peak RSS of `loglens tail - --store` reading `lines` from a pipe (the file is written first,
    so that the writer does not compete for the CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        log, store = Path(tmp) / "in.log", Path(tmp) / "s.duckdb"
        with log.open("w") as fh:
            write_lines(fh, lines)
        started = time.monotonic()
        with log.open("rb") as source:
            cat = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
            proc = subprocess.Popen(
                [sys.executable, "-m", "loglens", "tail", "--store", str(store), "-n", "0", "-"],
                stdin=cat.stdout,
                stdout=subprocess.DEVNULL,
            )
            assert cat.stdout is not None
            cat.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            cat.wait()
        seconds = time.monotonic() - started
        return {
            "lines": lines,
            "seconds": round(seconds, 1),
            "lines_per_s": round(lines / seconds),
            "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "exit": os.waitstatus_to_exitcode(status),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="Shorter tortures, one run each.")
    parser.add_argument("--runs", type=int, default=3, help="Throughput runs per follower (median).")
    parser.add_argument("--out", default=str(HERE / "results" / "follow.json"))
    args = parser.parse_args()
    seconds = 6.0 if args.quick else 15.0
    print(f"torture: {len(MODES)} modes x {len(TORTURE_VARIANTS)} variants, {seconds:.0f} s each", flush=True)
    tortures = torture(seconds, TORTURE_VARIANTS)
    lines = 200_000
    runs = {"loglens tail": [], "GNU tail -F": []}  # type: dict[str, list[dict[str, float]]]
    for _ in range(1 if args.quick else args.runs):
        runs["loglens tail"].append(throughput(loglens_tail, lines))
        runs["GNU tail -F"].append(throughput(gnu_tail, lines))
    through = {
        name: {"median_lines_per_s": statistics.median(r["lines_per_s"] for r in rs), "runs": rs}
        for name, rs in runs.items()
    }
    ratio = through["loglens tail"]["median_lines_per_s"] / through["GNU tail -F"]["median_lines_per_s"]
    print(f"throughput ({lines:,} lines appended at full speed, median of {len(runs['loglens tail'])}):")
    for name, row in through.items():
        print(f"  {name:<14} {row['median_lines_per_s']:>10,.0f} lines/s")
    print(f"  loglens/GNU tail: {ratio:.3f} (loglens also parses, mines and stores)")
    lat = {
        "loglens tail, JSON lines": latency(loglens_tail, True),
        "loglens tail, plain text": latency(loglens_tail, False),
        "GNU tail -F": latency(gnu_tail, False),
    }
    print("latency (write → printed, one line every 100 ms):")
    for name, row in lat.items():
        print(
            f"  {name:<26} median {row['median_ms']:>7.1f} ms   p95 {row['p95_ms']:>7.1f} ms   "
            f"n={row['samples']}"
        )
    memory = [stdin_memory(n) for n in ((200_000, 800_000) if args.quick else (1_000_000, 4_000_000))]
    print("stdin into the store (`… | loglens tail -`), peak RSS at two sizes:")
    for row in memory:
        rate, rss = row["lines_per_s"], row["peak_rss_mb"]
        print(f"  {row['lines']:>10,} lines  {rate:>8,} lines/s  peak RSS {rss} MB")
    result = {
        "bench": "follow",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "torture": tortures,
        "torture_all_exact": all(row["exact"] for row in tortures),
        "throughput": through,
        "throughput_ratio_vs_gnu_tail": round(ratio, 4),
        "latency": lat,
        "stdin_memory": memory,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
