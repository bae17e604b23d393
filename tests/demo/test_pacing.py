"""Tests for loglens.demo.pacing: lines handed over as the clock reaches them."""

from __future__ import annotations

import threading
import time

from loglens.demo.pacing import realtime
from loglens.demo.stream import DemoLine


def lines_at(*seconds: float) -> list[DemoLine]:
    return [DemoLine(round(s * 1e9), "a.log", f"line {s}") for s in seconds]


class FakeClock:
    """A clock that moves by `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0
        self.step = round(step * 1e9)

    def __call__(self) -> int:
        self.now += self.step
        return self.now


class TestRealtime:
    def test_batches_hold_what_is_due(self) -> None:
        """Each batch holds exactly the lines stamped up to the clock's reading, in order."""
        clock = FakeClock(0.5)
        batches = list(realtime(lines_at(0.2, 0.4, 0.9, 1.6, 1.7), tick_s=0, now_ns=clock))
        assert [[line.text for line in b] for b in batches if b] == [
            ["line 0.2", "line 0.4"],
            ["line 0.9"],
            ["line 1.6", "line 1.7"],
        ]
        assert [line for b in batches for line in b] == lines_at(0.2, 0.4, 0.9, 1.6, 1.7)

    def test_stop_ends_it(self) -> None:
        """Setting `stop` ends the batches even though lines remain."""
        stop = threading.Event()
        clock = FakeClock(1.0)
        got = []
        for batch in realtime(lines_at(*range(1, 100)), stop=stop, tick_s=0, now_ns=clock):
            got.extend(batch)
            if len(got) >= 3:
                stop.set()
        assert 3 <= len(got) < 10

    def test_waits_for_the_wall_clock(self) -> None:
        """With the real clock, a line 0.5 s ahead is handed over no sooner than its time."""
        start = time.time_ns()
        ahead = [DemoLine(start + 500_000_000, "a.log", "later")]
        batches = list(realtime(ahead, tick_s=0.05))
        assert batches[-1] == ahead
        assert time.time_ns() >= start + 500_000_000
