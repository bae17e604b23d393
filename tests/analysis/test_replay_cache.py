"""Tests for loglens.analysis.findings.ReplayCache: one replay per range and store version."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from loglens.analysis.findings import ReplayCache


class Counting:
    """A replay stand-in that counts its runs and takes a while, as a real one does."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.runs = 0
        self.seconds = seconds

    def __call__(self) -> Any:
        self.runs += 1
        time.sleep(self.seconds)
        return object()


class TestReplayCache:
    def test_concurrent_requests_for_one_range_share_one_replay(self) -> None:
        cache, replay = ReplayCache(), Counting()
        got: list[Any] = []
        threads = [
            threading.Thread(target=lambda: got.append(cache.get(("1h", None, 3), replay))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert replay.runs == 1 and len(got) == 4 and all(g is got[0] for g in got)

    def test_a_commit_or_the_clock_makes_it_stale(self) -> None:
        cache, replay = ReplayCache(ttl_s=0.1), Counting(0.0)
        first = cache.get(("1h", None, 3), replay)
        assert cache.get(("1h", None, 3), replay) is first
        assert cache.get(("1h", None, 4), replay) is not first  # a commit since
        time.sleep(0.15)
        assert cache.get(("1h", None, 3), replay) is not first  # older than ttl_s
        assert replay.runs == 3

    def test_failures_are_not_kept_and_entries_are_bounded(self) -> None:
        cache = ReplayCache(entries=2)

        def broken() -> Any:
            raise ValueError("store closed")

        with pytest.raises(ValueError, match="store closed"):
            cache.get(("a",), broken)
        replay = Counting(0.0)
        cache.get(("a",), replay)
        for key in ("b", "c"):
            cache.get((key,), replay)
        cache.get(("a",), replay)  # pushed out by b and c: replayed again
        assert replay.runs == 4
