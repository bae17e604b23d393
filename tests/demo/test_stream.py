"""Tests for loglens.demo.stream: the line iterator every other part stands on."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import time
from collections import Counter

from loglens.demo.baseline import HOUR_NS
from loglens.demo.services import SERVICES
from loglens.demo.stream import DEFAULT_START_NS, DemoLine, demo_lines, history_spec, live_spec


def digest(lines: list[DemoLine]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(f"{line.ts_ns}|{line.path}|{line.text}\n".encode())
    return h.hexdigest()


def physical(lines: list[DemoLine]) -> int:
    return sum(line.text.count("\n") + 1 for line in lines)


class TestDeterminism:
    def test_same_seed_same_lines(self) -> None:
        """The same spec gives the same lines, run after run."""
        spec = history_spec(hours=2, lines=20_000, seed=9)
        assert digest(list(demo_lines(spec))) == digest(list(demo_lines(spec)))

    def test_hash_seed_does_not_matter(self) -> None:
        """Two interpreters with different hash seeds draw the same corpus (no set or hash order leaks in)."""
        code = (
            "import hashlib; from loglens.demo import demo_lines, history_spec; h = hashlib.sha256(); "
            "[h.update(f'{x.ts_ns}{x.path}{x.text}'.encode()) for x in demo_lines(history_spec(hours=1, "
            "lines=3000))]; print(h.hexdigest())"
        )
        digests = {
            subprocess.run(
                [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                capture_output=True, text=True, check=True,
            ).stdout
            for seed in ("1", "2")
        }  # fmt: skip
        assert len(digests) == 1

    def test_other_seed_other_lines(self) -> None:
        """Another seed gives another corpus, of about the same size."""
        a = list(demo_lines(history_spec(hours=2, lines=20_000, seed=9)))
        b = list(demo_lines(history_spec(hours=2, lines=20_000, seed=10)))
        assert digest(a) != digest(b)
        assert abs(len(a) - len(b)) < 0.05 * len(a)


class TestShape:
    def test_time_order_across_files(self) -> None:
        """Lines come in time order over all files, so every file is in time order too."""
        stamps = [line.ts_ns for line in demo_lines(history_spec(hours=2, lines=20_000))]
        assert stamps == sorted(stamps)

    def test_every_file_is_written(self) -> None:
        """All seven services log, each to its own file."""
        paths = Counter(line.path for line in demo_lines(history_spec(hours=2, lines=20_000)))
        assert set(paths) == {s.path for s in SERVICES}
        assert min(paths.values()) > 500

    def test_size_is_about_what_was_asked(self) -> None:
        """About `lines` physical lines: the baseline within 2%, incidents on top (more of a small one)."""
        for hours, lines, extra in ((2, 20_000, 0.12), (6, 100_000, 0.04), (1, 10_000, 0.0)):
            found = list(demo_lines(history_spec(hours=hours, lines=lines, seed=4)))
            baseline = physical([line for line in found if line.incident is None])
            assert lines * 0.97 < baseline < lines * 1.02, (hours, lines, baseline)
            assert physical(found) < lines * (1.02 + extra)

    def test_day_shape(self) -> None:
        """Over a day, 14:00 UTC is far busier than 04:00 UTC (the web tiers most of all)."""
        per_hour: Counter[int] = Counter()
        edge: Counter[int] = Counter()
        for line in demo_lines(history_spec(hours=24, lines=120_000, seed=2)):
            if line.incident is not None:
                continue
            hour = (line.ts_ns - DEFAULT_START_NS) // HOUR_NS
            per_hour[hour] += 1
            if line.path == "edge/access.log":
                edge[hour] += 1
        assert per_hour[14] > 2 * per_hour[4]
        assert edge[14] > 2.8 * edge[4]
        assert min(per_hour, key=lambda h: per_hour[h]) in (3, 4, 5)
        assert max(per_hour, key=lambda h: per_hour[h]) in (13, 14, 15, 16)


class TestStreaming:
    def test_memory_stays_bounded(self) -> None:
        """Streaming three times the lines takes about the same memory: nothing corpus-sized is kept."""

        # In a fresh interpreter: tracemalloc counts every thread's allocations, and a test run has
        # other threads (servers and workers of earlier tests) allocating meanwhile. The small run
        # first, as a warm-up of the generator's caches, then the three-times-larger one.
        code = """
import tracemalloc
from loglens.demo.stream import demo_lines, history_spec
for hours, lines in ((1, 10_000), (3, 30_000)):
    tracemalloc.start()
    size = sum(len(line.text) for line in demo_lines(history_spec(hours=hours, lines=lines)))
    print(tracemalloc.get_traced_memory()[1], size)
    tracemalloc.stop()
"""
        ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        (small_peak, _), (peak, size) = [map(int, line.split()) for line in ran.stdout.splitlines()]
        assert peak < 2 * small_peak  # three times the lines: a corpus-sized list would triple it
        assert peak < size / 4

    def test_endless_stream_starts_at_once(self) -> None:
        """A live spec has no end: its first lines come without generating anything ahead."""
        started = time.monotonic()
        first = list(itertools.islice(demo_lines(live_spec(DEFAULT_START_NS, rate=50)), 500))
        assert time.monotonic() - started < 2
        assert first[0].ts_ns >= DEFAULT_START_NS
        assert (first[-1].ts_ns - first[0].ts_ns) / 1e9 < 30  # ~50 lines a second

    def test_live_rate_is_the_asked_rate(self) -> None:
        """A live stream runs at about the asked lines a second."""
        spec = live_spec(DEFAULT_START_NS + 10 * HOUR_NS, rate=200, seconds=600, incident_every_s=None)
        assert 200 * 600 * 0.93 < physical(list(demo_lines(spec))) < 200 * 600 * 1.07
