"""Tests for loglens.analysis.baseline: robust per-minute baselines and watermark-closed minutes."""

from __future__ import annotations

from loglens.analysis.baseline import MINUTE_NS, MinuteCounter, RobustBaseline, severity_of

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


class TestMinuteCounter:
    def test_late_records_land_in_their_minute(self) -> None:
        """A record 20 s late (within 30 s lateness) is counted in its own minute."""
        counter = MinuteCounter(lateness_ns=30 * S)
        counter.add("api", T0 + 10 * S)
        counter.add("api", T0 + 65 * S)
        counter.add("api", T0 + 50 * S)  # out of order, still in minute 0
        assert counter.close() == []  # watermark T0+35s: minute 0 has not ended for it
        counter.add("api", T0 + 95 * S)  # watermark T0+65s: minute 0 closes
        assert counter.close() == [(T0, {"api": 2})]
        counter.add("api", T0 + 5 * S)  # too late now
        assert counter.late == 1
        assert counter.close(flush=True) == [(T0 + MINUTE_NS, {"api": 2})]

    def test_quiet_minutes_come_out_empty(self) -> None:
        """Minutes without records between two with records are reported, empty."""
        counter = MinuteCounter(lateness_ns=0)
        counter.add("db", T0)
        counter.add("db", T0 + 3 * MINUTE_NS)
        closed = counter.close()
        assert closed == [(T0, {"db": 1}), (T0 + MINUTE_NS, {}), (T0 + 2 * MINUTE_NS, {})]

    def test_open_minutes_are_bounded(self) -> None:
        """However long the stream, only the minutes within the lateness stay open."""
        counter = MinuteCounter(lateness_ns=90 * S)
        most_open = 0
        for second in range(0, 6 * 3600, 7):
            counter.add(second % 5, T0 + second * S)
            counter.close()
            most_open = max(most_open, len(counter._open))
        assert most_open <= 3
        total = sum(sum(c.values()) for _, c in counter.close(flush=True))
        assert total > 0


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
