"""Tests for loglens.demo.baseline: the day curve, the minute noise and Poisson counts."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from loglens.demo.baseline import HOUR_NS, MinuteNoise, day_curve, day_factor, poisson

DAY = 1_768_176_000 * 10**9  # 2026-01-12T00:00:00Z


class TestDayCurve:
    def test_quiet_at_four_busy_at_fifteen(self) -> None:
        """The curve bottoms out at 04:00 UTC and peaks at 15:00 UTC."""
        assert day_curve(DAY + 4 * HOUR_NS) == pytest.approx(-1.0)
        assert day_curve(DAY + 15 * HOUR_NS) == pytest.approx(1.0)
        hours = [day_curve(DAY + h * HOUR_NS // 4) for h in range(96)]
        assert min(hours) == pytest.approx(-1.0) and max(hours) == pytest.approx(1.0)

    def test_smooth_across_midnight(self) -> None:
        """No jump where one day meets the next."""
        assert day_curve(DAY - 1) == pytest.approx(day_curve(DAY), abs=1e-6)

    def test_factor_follows_amplitude(self) -> None:
        """A flat service (amplitude 0) keeps factor 1 all day."""
        assert day_factor(DAY + 4 * HOUR_NS, 0.0) == 1.0
        assert day_factor(DAY + 4 * HOUR_NS, 0.5) == pytest.approx(0.5)


class TestCounts:
    @pytest.mark.parametrize("lam", [0.3, 4.0, 29.0, 250.0])
    def test_poisson_mean_and_variance(self, lam: float) -> None:
        """Counts have the asked mean and a Poisson spread (variance ≈ mean)."""
        rng = random.Random(5)
        draws = [poisson(rng, lam) for _ in range(20_000)]
        assert statistics.fmean(draws) == pytest.approx(lam, rel=0.03, abs=0.02)
        assert statistics.pvariance(draws) == pytest.approx(lam, rel=0.08, abs=0.03)

    def test_noise_drifts_around_one(self) -> None:
        """The minute noise averages 1 and moves slowly (neighbouring minutes are alike)."""
        noise = MinuteNoise(random.Random(2))
        values = [noise.next() for _ in range(20_000)]
        assert statistics.fmean(values) == pytest.approx(1.0, abs=0.01)
        steps = [abs(b - a) for a, b in itertools.pairwise(values)]
        assert statistics.fmean(steps) < statistics.pstdev(values)
