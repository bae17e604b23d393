"""The optional Isolation Forest over per-minute template counts."""

from __future__ import annotations

import random

import pytest

from loglens.analysis.baseline import MINUTE_NS
from loglens.analysis.buckets import MinuteBucket
from loglens.analysis.detectors import DetectorSettings, ServiceWatch
from loglens.analysis.watch import parse_analysis
from loglens.record import Level

T0 = 1_795_000_000 * 10**9 - (1_795_000_000 * 10**9) % MINUTE_NS


def minute(m: int, counts: dict[str, int]) -> MinuteBucket:
    b = MinuteBucket("svc", T0 + m * MINUTE_NS)
    for i, (tid, count) in enumerate(sorted(counts.items())):
        if count:
            b.add_template(tid, count, int(Level.INFO), b.start_ns + i * 10**9, m * 100 + i)
    return b


def normal(m: int, rng: random.Random) -> MinuteBucket:
    """Two code paths in lockstep (every `login` is followed by a `session`), plus background."""
    logins = rng.randint(18, 24)
    return minute(
        m, {"login": logins, "session": logins, "cache": rng.randint(40, 50), "gc": rng.randint(4, 6)}
    )


def run(settings: DetectorSettings, shifted: MinuteBucket) -> list:
    rng = random.Random(5)
    watch = ServiceWatch("svc", settings)
    for m in range(80):
        watch.observe(normal(m, rng), 0)
    return watch.observe(shifted, 0)


class TestTemplateMix:
    def test_a_shifted_mix_is_found_only_by_it(self) -> None:
        """Logins without sessions (same volume, no count far off on its own) is a template_mix
        anomaly when the detector is on, and nothing at all when it is off (the default)."""
        shifted = minute(80, {"login": 42, "session": 0, "cache": 45, "gc": 5})
        on = run(DetectorSettings(multivariate=True), shifted)
        off = run(DetectorSettings(), shifted)
        assert [a.kind for a in on] == ["template_mix"]
        assert on[0].severity == "critical" and "session 0 (usually 21)" in on[0].detail
        assert off == []

    def test_ordinary_minutes_pass(self) -> None:
        """Twenty more ordinary minutes raise nothing."""
        rng = random.Random(9)
        watch = ServiceWatch("svc", DetectorSettings(multivariate=True))
        found = []
        for m in range(100):
            found += watch.observe(normal(m, rng), 0)
        assert [a for a in found if a.kind == "template_mix"] == []


def test_config_switch() -> None:
    """`multivariate = true` turns it on; a non-boolean is refused."""
    from loglens.errors import ConfigError

    assert parse_analysis({"multivariate": True}, "t").detectors.multivariate
    assert not parse_analysis({}, "t").detectors.multivariate
    with pytest.raises(ConfigError, match="true or false"):
        parse_analysis({"multivariate": "yes"}, "t")


def test_chi2_tail() -> None:
    """The χ² tail matches table values within a few percent (df 4 at 9.488: 0.05; df 10 at 29.59:
    0.001; df 31 at 70: about 7.6e-5)."""
    from loglens.analysis.multivariate import chi2_sf

    assert chi2_sf(9.488, 4) == pytest.approx(0.05, rel=0.05)
    assert chi2_sf(29.59, 10) == pytest.approx(0.001, rel=0.1)
    assert chi2_sf(70.0, 31) == pytest.approx(7.6e-5, rel=0.15)
    assert chi2_sf(0.0, 3) == 1.0


def test_a_small_shift_in_a_big_service_is_not_a_new_mix() -> None:
    """A significant but small move (5 points of share at 10,000 lines) stays below `min_shift`."""
    from loglens.analysis.multivariate import TemplateMix

    rng = random.Random(1)
    mix = TemplateMix()
    for m in range(60):
        a = rng.randint(4950, 5050)
        assert mix.score(minute(m, {"a": a, "b": 10_000 - a})) is None
    assert mix.score(minute(60, {"a": 5500, "b": 4500})) is None
    assert mix.score(minute(61, {"a": 8000, "b": 2000})) is not None
