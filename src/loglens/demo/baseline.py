"""How much each service logs when nothing is wrong: a day-shaped rate with slow per-minute noise.

The day curve is quietest at 04:00 UTC and busiest at 15:00 UTC, smooth in between (a half cosine up
over 11 hours, down over 13). A service's rate is `1 + amplitude × curve`, times a log-normal AR(1)
noise that drifts from minute to minute (real traffic is neither flat nor white noise), and the count
in each minute is Poisson around that.
"""

from __future__ import annotations

import math
import random
from typing import Final

QUIET_HOUR: Final = 4.0
PEAK_HOUR: Final = 15.0
HOUR_NS: Final = 3_600 * 10**9
MINUTE_NS: Final = 60 * 10**9
NOISE_SIGMA: Final = 0.06
"""Spread of the per-minute noise factor (log scale): ±6% on top of Poisson counts."""
NOISE_MEMORY: Final = 0.9
"""How much of a minute's noise carries into the next (AR(1) coefficient)."""


def day_curve(ts_ns: int) -> float:
    """The day's shape at a moment, in [-1, 1]: -1 at 04:00 UTC, +1 at 15:00 UTC."""
    hour = (ts_ns / HOUR_NS) % 24
    rise = PEAK_HOUR - QUIET_HOUR
    if QUIET_HOUR <= hour <= PEAK_HOUR:
        return -math.cos(math.pi * (hour - QUIET_HOUR) / rise)
    return math.cos(math.pi * ((hour - PEAK_HOUR) % 24) / (24 - rise))


def day_factor(ts_ns: int, amplitude: float) -> float:
    """A service's rate multiplier at a moment (1 on average over a day)."""
    return 1.0 + amplitude * day_curve(ts_ns)


class MinuteNoise:
    """A slowly drifting rate multiplier, one value per minute, mean 1 (log-normal AR(1))."""

    __slots__ = ("_rng", "_x")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._x = rng.gauss(0.0, NOISE_SIGMA)

    def next(self) -> float:
        """The next minute's multiplier."""
        innovation = NOISE_SIGMA * math.sqrt(1 - NOISE_MEMORY**2)
        self._x = NOISE_MEMORY * self._x + self._rng.gauss(0.0, innovation)
        return math.exp(self._x - NOISE_SIGMA**2 / 2)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson count with mean `lam` (exact below 30, a rounded normal above: the stdlib has none)."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit = math.exp(-lam)
        k, product = 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))
