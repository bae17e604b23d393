"""The optional multivariate detector: a minute whose *mix* of templates is unlike its service's past.

The one-series detectors each watch one number (lines, errors, one template's count); a failure can
also show as a shift across several templates at once — one code path taken instead of another, a
dependency answering differently — with the volume unchanged and no single count far off. Per
service, each closed minute's vector of counts over the service's `FEATURES` most frequent
templates (plus one for all the others) is tested against the mix of its recent normal minutes.

Rule: with the baseline shares s_i of the last `history` normal minutes (add-one smoothed) and a
minute of n lines with counts o_i, the likelihood-ratio statistic G = 2 Σ o_i ln(o_i / (n s_i)) is
χ² with k − 1 degrees of freedom for a multinomial; real minutes vary more, so G is divided by the
overdispersion φ = the median of G / (k − 1) over the recent normal minutes (at least 1; the test
speaks once `MIN_DISPERSION` such minutes exist after `min_history`). The
minute is a `template_mix` anomaly when P(χ² ≥ G / φ) is below `warning_p` (a warning) or
`critical_p` (critical) *and* the shares moved by at least `min_shift` in total variation (half the
sum of |share now − share usual|): a big service's 1-point wobble is not a new mix. The detail names
the templates that moved most. It starts speaking after `min_history` normal minutes.

Why not an Isolation Forest: it was tried first (scikit-learn). Fitted on 30–120 minutes, its splits
are drawn inside the range of the training minutes, so a minute beyond that range on one axis (no
`session` lines where there were always ~20) scores no more isolated than the training extremes; it
either missed that shift or, with a contamination threshold, flagged ~3% of ordinary minutes. The
G-test sees exactly that shift, needs no extra dependency and states its rule.

Off by default (`[analysis] multivariate = true`). Memory per service: `history` minutes of at most
`FEATURES` + 1 counts, the running totals of the templates in them, and `history` G values.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

from loglens.analysis.buckets import MinuteBucket

FEATURES = 32
OTHER = "others"
MIN_DISPERSION = 10
"""Normal minutes whose G sets the overdispersion before the test speaks."""


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df ≥ x) by the Wilson–Hilferty cube-root normal approximation (good to a few percent
    in the tail for df ≥ 2; what a threshold of 1e-4 needs)."""
    if x <= 0:
        return 1.0
    k = float(df)
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


class TemplateMix:
    """The template-mix test of one service (module docstring)."""

    __slots__ = (
        "_critical_p",
        "_dispersion",
        "_history",
        "_min_history",
        "_min_shift",
        "_totals",
        "_warning_p",
    )

    def __init__(
        self,
        history: int = 120,
        min_history: int = 30,
        warning_p: float = 1e-4,
        critical_p: float = 1e-8,
        min_shift: float = 0.1,
    ) -> None:
        self._history: deque[dict[str, int]] = deque(maxlen=history)
        self._dispersion: deque[float] = deque(maxlen=history)
        self._totals: dict[str, int] = {}
        self._min_history = min_history
        self._warning_p = warning_p
        self._critical_p = critical_p
        self._min_shift = min_shift

    def score(self, bucket: MinuteBucket) -> tuple[str, float, str] | None:
        """(severity, score, detail) when the minute's mix is unusual, else None; the minute is
        learnt unless it was unusual."""
        counts = {tid: seen.count for tid, seen in bucket.templates.items()}
        verdict = None
        if len(self._history) >= self._min_history and bucket.total:
            g, df, shares, usual = self._g(counts, bucket.total)
            phi = max(1.0, median(self._dispersion)) if self._dispersion else 1.0
            p = chi2_sf(g / phi, df)
            shift = 0.5 * sum(abs(shares[name] - usual[name]) for name in usual)
            calibrated = len(self._dispersion) >= MIN_DISPERSION
            if calibrated and p < self._warning_p and shift >= self._min_shift:
                severity = "critical" if p < self._critical_p else "warning"
                verdict = (
                    severity,
                    min(99.0, -math.log10(max(p, 1e-99))),
                    _describe(shares, usual, bucket.total),
                )
            else:
                self._dispersion.append(g / df)
        if verdict is None:
            self._learn(counts)
        return verdict

    def _g(self, counts: dict[str, int], n: int) -> tuple[float, int, dict[str, float], dict[str, float]]:
        """G, its degrees of freedom, and the minute's and the usual shares per feature."""
        features = sorted(self._totals, key=lambda tid: (-self._totals[tid], tid))[:FEATURES]
        kept = set(features)
        observed = {tid: counts.get(tid, 0) for tid in features}
        observed[OTHER] = sum(c for tid, c in counts.items() if tid not in kept)
        baseline = {tid: self._totals[tid] for tid in features}
        baseline[OTHER] = sum(c for tid, c in self._totals.items() if tid not in kept)
        whole = sum(baseline.values()) + len(baseline)
        usual = {name: (count + 1) / whole for name, count in baseline.items()}
        g = 2 * sum(o * math.log(o / (n * usual[name])) for name, o in observed.items() if o)
        shares = {name: o / n for name, o in observed.items()}
        return g, max(len(observed) - 1, 1), shares, usual

    def _learn(self, counts: dict[str, int]) -> None:
        """Adds a normal minute to the running totals; the oldest falls out past `history`."""
        if len(self._history) == self._history.maxlen:
            for tid, count in self._history[0].items():
                left = self._totals[tid] - count
                if left:
                    self._totals[tid] = left
                else:
                    del self._totals[tid]
        self._history.append(counts)
        for tid, count in counts.items():
            self._totals[tid] = self._totals.get(tid, 0) + count


def _describe(shares: dict[str, float], usual: dict[str, float], n: int) -> str:
    """The three templates whose share moved most, as `id count (usually n)` at this minute's size."""
    moved = sorted(usual, key=lambda name: (-abs(shares[name] - usual[name]), name))[:3]
    parts = [f"{name} {shares[name] * n:.0f} (usually {usual[name] * n:.0f})" for name in moved]
    return "template mix unlike the recent minutes: " + ", ".join(parts)
