"""Tests for loglens.analysis.baseline: robust per-minute baselines and watermark-closed minutes."""

from __future__ import annotations

from loglens.analysis.baseline import RobustBaseline, severity_of

S = 10**9
T0 = 1_763_683_200 * S  # a minute boundary


class TestRobustBaseline:
    def test_silent_during_warmup(self) -> None:
        """Nothing is scored before `warmup` minutes were seen."""
        baseline = RobustBaseline(warmup=10)
        assert [baseline.observe(100) for _ in range(10)] == [None] * 10
        assert baseline.observe(100) is not None

    def test_spike_and_dip_are_flagged_in_both_directions(self) -> None:
        """A steady ~100/min series: 200 is critical, 0 is critical below, 104 is normal."""
        baseline = RobustBaseline(warmup=10)
        for i in range(30):
            baseline.observe(100 + (i % 5) - 2)
        spike, dip, normal = baseline.score(200), baseline.score(0), baseline.score(104)
        assert spike is not None and spike.severity == "critical" and spike.z > 3
        assert dip is not None and dip.severity == "critical" and dip.z < -3
        assert normal is not None and normal.severity is None

    def test_an_incident_does_not_become_the_new_normal(self) -> None:
        """Anomalous minutes stay out of the history: ten minutes of a spike are all flagged."""
        baseline = RobustBaseline(warmup=10)
        for i in range(30):
            baseline.observe(50 + i % 3)
        assert all((d := baseline.observe(400)) is not None and d.severity == "critical" for _ in range(10))

    def test_one_early_outlier_does_not_blind_it(self) -> None:
        """A spike during warm-up barely moves median and MAD: a later 2x still stands out."""
        baseline = RobustBaseline(warmup=10)
        for i in range(20):
            baseline.observe(5000 if i == 3 else 100 + i % 3)
        later = baseline.score(200)
        assert later is not None and later.severity == "critical"

    def test_counts_have_a_poisson_floor(self) -> None:
        """Two errors after an hour of none is not an alarm for a count series; 30 is."""
        baseline = RobustBaseline(warmup=10)
        for _ in range(60):
            baseline.observe(0)
        assert (d := baseline.score(1)) is not None and d.severity is None
        assert (d := baseline.score(30)) is not None and d.severity == "critical"

    def test_history_is_bounded(self) -> None:
        """The history keeps at most `history` minutes."""
        baseline = RobustBaseline(warmup=2, history=5)
        for i in range(1000):
            baseline.observe(i % 2)
        assert len(baseline._history) == 5


def test_severity_thresholds() -> None:
    """2σ warning, 3σ critical, either side."""
    assert [severity_of(z) for z in (0.0, 1.99, 2.0, -2.5, 3.0, -7.0)] == [
        None, None, "warning", "warning", "critical", "critical"
    ]  # fmt: skip


class TestSeasonalBaseline:
    def test_daily_busy_hour_stops_alarming_after_a_day(self) -> None:
        """An hour that is busy every day is a spike on day one and normal on day two."""
        from loglens.analysis.baseline import HOUR_NS, MINUTE_NS, SeasonalBaseline

        baseline = SeasonalBaseline()
        verdicts: dict[int, list[str | None]] = {0: [], 1: []}
        for minute in range(2 * 24 * 60):
            ts = minute * MINUTE_NS
            busy = 9 * HOUR_NS <= ts % (24 * HOUR_NS) < 10 * HOUR_NS
            value = 400.0 + (minute % 7) * 3 if busy else 100.0 + (minute % 5) * 2
            deviation = baseline.observe(value, ts)
            if busy and deviation is not None:
                verdicts[minute // (24 * 60)].append(deviation.severity)
        assert verdicts[0].count("critical") > 30
        assert verdicts[1].count("critical") < 5


def test_a_lasting_shift_is_followed() -> None:
    """A series that steps up 60% and stays there is normal again within the history's length,
    instead of freezing the baseline and alarming for ever."""
    import random

    rng = random.Random(2)
    baseline = RobustBaseline(history=120)
    for _ in range(120):
        baseline.observe(100 + rng.gauss(0, 8))
    verdicts = [baseline.observe(160 + rng.gauss(0, 10)) for _ in range(180)]
    assert verdicts[0] is not None and verdicts[0].severity == "critical"
    assert all(v is not None and v.severity is None for v in verdicts[-30:])
