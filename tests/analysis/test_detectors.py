"""The per-service detectors, each rule on a minute series built for it."""

from __future__ import annotations

import math

from loglens.analysis.baseline import MINUTE_NS
from loglens.analysis.buckets import MinuteBucket
from loglens.analysis.detectors import DetectorSettings, ServiceWatch, poisson_sf
from loglens.record import Level

T0 = 1_795_000_020 * 10**9 - (1_795_000_020 * 10**9) % MINUTE_NS


def bucket(
    minute: int, counts: dict[str, tuple[int, Level]], fields: dict[str, float] | None = None
) -> MinuteBucket:
    b = MinuteBucket("svc", T0 + minute * MINUTE_NS)
    for i, (tid, (count, level)) in enumerate(sorted(counts.items())):
        if count:
            b.add_template(tid, count, int(level), b.start_ns + (i + 1) * 10**9, minute * 100 + i)
    b.fields = dict(fields or {})
    return b


def steady(minute: int, volume: int = 100) -> MinuteBucket:
    return bucket(minute, {"a": (volume - 20, Level.INFO), "b": (20, Level.INFO)})


def run(watch: ServiceWatch, buckets: list[MinuteBucket]) -> list:
    found = []
    for b in buckets:
        found.extend(watch.observe(b, b.start_ns + MINUTE_NS))
    return found


class TestPoisson:
    def test_tail_against_exact_sum(self) -> None:
        """The O(1) tail is close to, and never below, the exact tail."""
        for lam, k in ((0.5, 3), (4.0, 10), (30.0, 60)):
            exact = 1 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))
            got = poisson_sf(k, lam)
            assert exact <= got <= exact * 1.5

    def test_at_or_below_mean_is_one(self) -> None:
        """No upper-tail surprise at or below the mean."""
        assert poisson_sf(3, 5.0) == 1.0


class TestVolume:
    def test_silent_during_warmup(self) -> None:
        """Nothing is reported before the warm-up, however odd the minute."""
        watch = ServiceWatch("svc")
        found = run(watch, [steady(m) for m in range(5)] + [steady(5, volume=1000)])
        assert found == []

    def test_spike_is_critical(self) -> None:
        """A minute at 5× the usual volume is a critical spike."""
        watch = ServiceWatch("svc")
        found = run(watch, [steady(m, 100 + m % 3) for m in range(20)] + [steady(20, volume=500)])
        kinds = {(a.kind, a.severity) for a in found}
        assert ("volume_spike", "critical") in kinds

    def test_small_excess_is_not_a_spike(self) -> None:
        """A sparse service's burst of a few lines is not a spike (spike_min_excess)."""
        watch = ServiceWatch("svc")
        found = run(watch, [steady(m, 22 + m % 2) for m in range(20)] + [steady(20, volume=38)])
        assert not [a for a in found if a.kind == "volume_spike"]

    def test_silence(self) -> None:
        """No line at all where 100 a minute are usual is `service_silent`."""
        watch = ServiceWatch("svc")
        found = run(watch, [steady(m) for m in range(20)] + [MinuteBucket("svc", T0 + 20 * MINUTE_NS)])
        assert [a.kind for a in found] == ["service_silent"]


class TestErrors:
    def test_error_rate(self) -> None:
        """Errors jumping from none to a fifth of the lines are a critical error-rate anomaly."""
        watch = ServiceWatch("svc")
        series = [steady(m) for m in range(20)]
        series.append(bucket(20, {"a": (80, Level.INFO), "e": (20, Level.ERROR)}))
        found = [a for a in run(watch, series) if a.kind == "error_rate"]
        assert found and found[0].severity == "critical" and found[0].template_id == "e"

    def test_a_few_errors_are_not_a_rate(self) -> None:
        """Fewer than `min_errors` errors never make an error-rate anomaly."""
        watch = ServiceWatch("svc")
        series = [steady(m) for m in range(20)] + [bucket(20, {"a": (96, Level.INFO), "e": (4, Level.ERROR)})]
        assert not [a for a in run(watch, series) if a.kind == "error_rate"]


class TestNovelty:
    def test_new_info_template_is_info(self) -> None:
        """A new info-level shape is listed at `info`, never more on its own."""
        watch = ServiceWatch("svc")
        series = [steady(m) for m in range(20)] + [
            bucket(20, {"a": (80, Level.INFO), "new": (1, Level.INFO)})
        ]
        found = [a for a in run(watch, series) if a.kind == "new_template"]
        assert [(a.template_id, a.severity) for a in found] == [("new", "info")]

    def test_new_error_template_after_quiet_history(self) -> None:
        """A new error shape where no new shape has appeared for long is at least a warning; it
        starts at its own line and is known when its minute closes."""
        watch = ServiceWatch("svc")
        series = [steady(m) for m in range(60)] + [
            bucket(60, {"a": (80, Level.INFO), "new": (1, Level.ERROR)})
        ]
        found = [a for a in run(watch, series) if a.kind == "new_template"]
        assert found[0].severity in ("warning", "critical")
        assert found[0].start_ns == series[-1].templates["new"].first_ts
        assert found[0].detected_ns == series[-1].start_ns + MINUTE_NS

    def test_several_new_error_shapes_are_critical(self) -> None:
        """Three new error shapes in one minute are critical."""
        watch = ServiceWatch("svc")
        news = {f"n{i}": (1, Level.ERROR) for i in range(3)}
        series = [steady(m) for m in range(60)] + [bucket(60, {"a": (80, Level.INFO), **news})]
        found = [a for a in run(watch, series) if a.kind == "new_template"]
        assert found[-1].severity == "critical"


class TestBurstAndSilence:
    def test_rare_template_burst(self) -> None:
        """A template seen once a few minutes bursting to 50 in a minute is a critical burst."""
        watch = ServiceWatch("svc")
        series = [
            bucket(m, {"a": (80, Level.INFO), "r": (1 if m % 5 == 0 else 0, Level.WARNING)})
            for m in range(30)
        ]
        series.append(bucket(30, {"a": (80, Level.INFO), "r": (50, Level.WARNING)}))
        found = [a for a in run(watch, series) if a.kind == "template_burst"]
        assert [(a.template_id, a.severity) for a in found] == [("r", "critical")]

    def test_steady_template_going_silent(self) -> None:
        """A template logged 20 times every minute for 40 minutes, then absent 3 minutes while the
        service still logs, is a pattern break, reported once."""
        watch = ServiceWatch("svc")
        series = [steady(m) for m in range(40)]
        series += [bucket(m, {"a": (100, Level.INFO)}) for m in range(40, 46)]
        found = [a for a in run(watch, series) if a.kind == "template_silence"]
        assert [(a.template_id, a.start_ns) for a in found] == [("b", T0 + 40 * MINUTE_NS)]


class TestDrift:
    def test_latency_p95_rising(self) -> None:
        """A p95 latency ten times its usual value is a critical drift; a fall is not reported."""
        watch = ServiceWatch("svc")
        series = [bucket(m, {"a": (100, Level.INFO)}, {"latency_ms": 50.0 + m % 4}) for m in range(20)]
        series.append(bucket(20, {"a": (100, Level.INFO)}, {"latency_ms": 500.0}))
        series.append(bucket(21, {"a": (100, Level.INFO)}, {"latency_ms": 5.0}))
        found = [a for a in run(watch, series) if a.kind == "field_drift"]
        assert [(a.severity, a.start_ns) for a in found] == [("critical", T0 + 20 * MINUTE_NS)]


class TestBounds:
    def test_templates_are_bounded(self) -> None:
        """A service minting a new template every minute keeps at most `max_templates` of them."""
        watch = ServiceWatch("svc", DetectorSettings(max_templates=50))
        run(watch, [bucket(m, {"a": (10, Level.INFO), f"t{m}": (1, Level.INFO)}) for m in range(200)])
        assert len(watch.templates) <= 50
        assert watch.singletons == sum(1 for s in watch.templates.values() if s.count == 1)
