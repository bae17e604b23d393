"""Robust baselines of per-minute series: the arithmetic under the volume, error and drift detectors.

`RobustBaseline` says how unusual a minute's value is against the recent minutes of its series: the
centre is the median and the spread 1.4826 × the median absolute deviation (what σ is for normal data,
but one earlier spike cannot inflate it). A minute found anomalous enters the history clipped to the
edge of normal (`learned`), so an incident does not become the new normal, yet a lasting shift is
followed. It stays silent during a warm-up.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median

MINUTE_NS = 60 * 10**9
MAD_TO_SIGMA = 1.4826
WARNING_SIGMAS = 2.0
CRITICAL_SIGMAS = 3.0
DEFAULT_WARMUP_MINUTES = 10
DEFAULT_HISTORY_MINUTES = 120
DEFAULT_LATENESS_NS = 30 * 10**9
MAX_QUIET_MINUTES = 60


@dataclass(frozen=True, slots=True)
class Deviation:
    """How far one value lies from its baseline: `z` in σ (negative below), and the severity it
    earns (`warning` from 2σ, `critical` from 3σ, either direction), or None."""

    value: float
    expected: float
    sigma: float
    z: float
    severity: str | None
    peak: float = 0.0
    """The highest normal value in the history it was scored against."""


def severity_of(z: float) -> str | None:
    """`critical` at |z| ≥ 3, `warning` at |z| ≥ 2, else None."""
    if abs(z) >= CRITICAL_SIGMAS:
        return "critical"
    if abs(z) >= WARNING_SIGMAS:
        return "warning"
    return None


class RobustBaseline:
    """The recent history of one per-minute series and how far a new value lies from it.

    Args:
        warmup: minutes to observe before scoring anything (default 10).
        history: minutes kept (the memory bound).
        counts: the series counts events: σ is at least √centre (Poisson noise), so that 2 errors
            after a quiet hour of 0 are not a 2σ event.
        min_sigma: σ is never below this (a flat series would make any change infinitely unusual).
    """

    __slots__ = ("_counts", "_history", "_min_sigma", "_warmup")

    def __init__(
        self,
        warmup: int = DEFAULT_WARMUP_MINUTES,
        history: int = DEFAULT_HISTORY_MINUTES,
        counts: bool = True,
        min_sigma: float = 1.0,
    ) -> None:
        self._warmup = warmup
        self._history: deque[float] = deque(maxlen=history)
        self._counts = counts
        self._min_sigma = min_sigma

    @property
    def warmed_up(self) -> bool:
        """True once `warmup` normal minutes are in the history."""
        return len(self._history) >= self._warmup

    def score(self, value: float) -> Deviation | None:
        """How unusual `value` is now; None during the warm-up."""
        if not self.warmed_up:
            return None
        values = list(self._history)
        centre = median(values)
        sigma = MAD_TO_SIGMA * median(abs(v - centre) for v in values)
        if self._counts:
            sigma = max(sigma, math.sqrt(max(centre, 0.0)))
        sigma = max(sigma, self._min_sigma)
        z = (value - centre) / sigma
        return Deviation(value, centre, sigma, z, severity_of(z), max(values))

    def observe(self, value: float) -> Deviation | None:
        """Scores `value`, then adds it to the history (clipped when anomalous, see `learned`)."""
        deviation = self.score(value)
        self.learn(learned(value, deviation))
        return deviation

    def learn(self, value: float) -> None:
        """Adds a value to the history (the oldest falls out past `history`)."""
        self._history.append(value)


def learned(value: float, deviation: Deviation | None) -> float:
    """What a baseline learns of a scored value: the value itself when normal; when anomalous, the
    edge of normal (centre ± 2σ) on its side.

    Leaving anomalous minutes out altogether freezes a baseline under a lasting shift: during a
    daily ramp the high minutes are left out, the centre lags further, more minutes are left out —
    and a service stays "anomalous" for the rest of the day. Clipped, an incident's extremes cannot
    drag the baseline, yet a lasting shift is followed within about half the history.
    """
    if deviation is None or deviation.severity is None:
        return value
    edge = WARNING_SIGMAS * deviation.sigma
    return deviation.expected + (edge if deviation.z > 0 else -edge)


HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
SEASONAL_MIN_HISTORY_NS = DAY_NS
DEFAULT_SEASONAL_DAYS = 7


class SeasonalBaseline:
    """A rolling baseline plus, once a day of data exists, the same hour of day on earlier days.

    Daily rhythms (quiet nights, a morning ramp, a nightly batch) are normal: once the series holds at
    least 24 hours, a minute is only as unusual as the *smaller* of its deviations from the recent
    minutes and from the same hour on the earlier days (up to `days` of them), so an hour that is
    always busy stops alarming once it has been seen (the same-hour part learns what is normal for
    that hour, even when the rolling part found it unusual). Memory: `history` + 24 × 60 × `days`
    values.
    """

    __slots__ = ("_counts", "_first_ns", "_hours", "_min_sigma", "_per_hour", "_recent")

    def __init__(
        self,
        warmup: int = DEFAULT_WARMUP_MINUTES,
        history: int = DEFAULT_HISTORY_MINUTES,
        counts: bool = True,
        min_sigma: float = 1.0,
        days: int = DEFAULT_SEASONAL_DAYS,
    ) -> None:
        self._recent = RobustBaseline(warmup, history, counts, min_sigma)
        self._counts = counts
        self._min_sigma = min_sigma
        self._per_hour = 60 * days
        self._hours: dict[int, RobustBaseline] = {}
        self._first_ns: int | None = None

    @property
    def warmed_up(self) -> bool:
        """True once the rolling part has its warm-up."""
        return self._recent.warmed_up

    def observe(self, value: float, minute_ns: int) -> Deviation | None:
        """Scores the value of the minute starting at `minute_ns`, then learns it unless anomalous."""
        if self._first_ns is None:
            self._first_ns = minute_ns
        recent = deviation = self._recent.score(value)
        hour = (minute_ns % DAY_NS) // HOUR_NS
        same_hour = self._hours.get(hour)
        if same_hour is None:
            same_hour = self._hours[hour] = RobustBaseline(
                warmup=30, history=self._per_hour, counts=self._counts, min_sigma=self._min_sigma
            )
        seasonal = same_hour.score(value)
        day_seen = minute_ns - self._first_ns >= SEASONAL_MIN_HISTORY_NS
        if deviation is not None and seasonal is not None and day_seen and abs(seasonal.z) < abs(deviation.z):
            deviation = seasonal
        self._recent.learn(learned(value, recent))
        same_hour.learn(learned(value, seasonal))  # judged against its own hour: a daily rhythm is learnt
        return deviation
