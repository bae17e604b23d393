"""Detectors: each closed minute of a service is scored against that service's own past.

One `ServiceWatch` per service holds everything the detectors remember about it, all of it bounded:
rolling baselines of volume, error count and watched numeric fields (with a same-hour-of-day part
once a day exists, see `SeasonalBaseline`), and per template a few integers (count, peak minute,
streak). Each detector states its rule in its docstring; thresholds live in `DetectorSettings`.

Severity is `info` (worth listing, not worth waking anyone: a new info-level shape), `warning` or
`critical`. Incidents (`analysis.incidents`) are opened by critical anomalies, or by warnings piling
up, so the thresholds here are set for "this is unusual", not "this is an outage".
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import NormalDist

from loglens.analysis.baseline import (
    DEFAULT_HISTORY_MINUTES,
    DEFAULT_LATENESS_NS,
    DEFAULT_WARMUP_MINUTES,
    MINUTE_NS,
    SeasonalBaseline,
    severity_of,
)
from loglens.analysis.buckets import MinuteBucket, TemplateMinute
from loglens.analysis.multivariate import TemplateMix
from loglens.record import Level

NORMAL = NormalDist()
MAX_FIELDS = 32
"""Watched numeric fields per service (the first ones seen): a bound on the field baselines."""

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Every threshold of the detectors, with the defaults the docs state (docs/analysis.md).

    Attributes:
        warmup_minutes: minutes of a service's data before any of its detectors speaks.
        history_minutes: rolling window of the baselines.
        lateness_ns: how late a record may arrive and still count in its minute.
        novelty_critical_p: a new warning/error shape is critical when seeing this many new shapes in
            one minute had less than this chance (Good–Turing estimate, see `ServiceWatch._novelty`).
        burst_min_count, burst_ratio: a template bursts when a minute holds at least this many of it,
            this many times its usual rate, and 1.5× its busiest normal minute so far.
        burst_warning_p, burst_critical_p: Poisson tail probabilities of the minute's count.
        spike_ratio, dip_ratio: practical significance on top of σ for volume (× expected).
        spike_min_excess: lines above expected a spike needs (a sparse service's burst of 15
            session lines is not a spike); a critical spike must also be `critical_spike_ratio` ×
            expected and top the busiest normal minute of the rolling window.
        novelty_warning_p: a single new warning/error shape is only a warning when new shapes are
            this rare here (below it, an `info`: early on, or in a service full of new shapes).
        min_errors: fewest errors in a minute for an error-rate anomaly.
        dip_min_expected: a dip is only judged where the service usually logs this much a minute
            (a sparse service's quiet minute says little).
        silent_min_expected: no line at all is `service_silent` where this many are usual.
        steady_minutes, silence_minutes: a template present in every one of `steady_minutes`
            minutes in a row that is then absent for `silence_minutes` while its service still logs
            is a pattern break.
        drift_ratio: a numeric field's p95 must also exceed this × its usual value.
        max_templates: templates remembered per service (least recently seen are forgotten).
        multivariate: also test each minute's vector of template counts against the recent mix
            (`analysis.multivariate`; off by default).
    """

    warmup_minutes: int = DEFAULT_WARMUP_MINUTES
    history_minutes: int = DEFAULT_HISTORY_MINUTES
    lateness_ns: int = DEFAULT_LATENESS_NS
    novelty_critical_p: float = 1e-3
    burst_min_count: int = 10
    burst_ratio: float = 3.0
    burst_warning_p: float = 1e-3
    burst_critical_p: float = 1e-6
    spike_ratio: float = 1.5
    spike_min_excess: int = 20
    critical_spike_ratio: float = 2.0
    novelty_warning_p: float = 0.05
    dip_ratio: float = 0.5
    min_errors: int = 5
    dip_min_expected: float = 30.0
    silent_min_expected: float = 10.0
    steady_minutes: int = 30
    silence_minutes: int = 3
    drift_ratio: float = 2.0
    max_templates: int = 10_000
    multivariate: bool = False


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something unusual in one service: what, when it began and ended, when it was known, how bad.

    `start_ns` is the first record that shows it where one does (a new template's first line, the
    first line of a template rising in that minute), else the start of its minute. `detected_ns` is
    when a live loglens knows it: when its minute closes (the minute's end plus the allowed
    lateness). `level` is the level of the template it is about, if any; `evidence_id`/`evidence_ts`
    point at the record that shows it best (for explain and context).
    """

    kind: str
    service: str
    start_ns: int
    end_ns: int
    detected_ns: int
    severity: str
    score: float
    detail: str
    template_id: str | None = None
    level: Level | None = None
    evidence_id: int | None = None
    evidence_ts: int | None = None

    @property
    def is_error(self) -> bool:
        """True for anomalies about errors (error rate, or a template at error level or worse)."""
        return self.kind == "error_rate" or (self.level is not None and self.level >= Level.ERROR)

    @property
    def is_new_problem(self) -> bool:
        """True for a new template at warning level or worse (a new way of failing)."""
        return self.kind == "new_template" and self.level is not None and self.level >= Level.WARNING


def poisson_sf(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), for the upper tail (k > lam); 1.0 at or below the mean.

    The first term of the tail bounded by a geometric series: a slight overestimate (conservative)
    that costs O(1) whatever k is.
    """
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        return 1.0
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    return min(1.0, math.exp(log_term) / (1.0 - lam / (k + 1)))


def z_of(p: float) -> float:
    """The z whose upper normal tail is p (0 for p ≥ 0.5); beyond 1e-15, where the inverse runs out
    of precision, √(−2 ln p), its leading term."""
    if p >= 0.5:
        return 0.0
    return NORMAL.inv_cdf(1 - p) if p > 1e-15 else math.sqrt(-2 * math.log(max(p, 1e-300)))


def surprise(p: float) -> float:
    """-log10 p, capped: the score of an anomaly found by a probability."""
    return min(99.0, -math.log10(max(p, 1e-99)))


@dataclass(slots=True)
class TemplateState:
    """What a service's detectors remember of one template (a few integers, for bounded memory)."""

    count: int = 0
    peak: int = 0
    last_minute: int = 0
    streak: int = 0
    streak_count: int = 0
    severity: int = 0


class ServiceWatch:
    """The detectors of one service and what they remember (see the module docstring)."""

    __slots__ = (
        "error_history",
        "fields",
        "minutes",
        "mix",
        "records",
        "service",
        "settings",
        "singletons",
        "steady",
        "templates",
        "volume",
    )

    def __init__(self, service: str, settings: DetectorSettings | None = None) -> None:
        self.service = service
        self.settings = s = settings or DetectorSettings()
        self.minutes = 0
        self.records = 0
        self.singletons = 0
        self.templates: dict[str, TemplateState] = {}
        self.steady: set[str] = set()
        self.volume = SeasonalBaseline(s.warmup_minutes, s.history_minutes, counts=True)
        self.error_history: deque[tuple[int, int]] = deque(maxlen=s.history_minutes)
        self.fields: dict[str, SeasonalBaseline] = {}
        self.mix = TemplateMix(history=s.history_minutes) if s.multivariate else None

    def _anomaly(
        self,
        kind: str,
        bucket: MinuteBucket,
        closed_ns: int,
        severity: str,
        score: float,
        detail: str,
        start_ns: int | None = None,
        about: tuple[str, TemplateMinute] | None = None,
        absent: tuple[str, TemplateState] | None = None,
    ) -> Anomaly:
        """An anomaly of this service's minute `bucket`, about one template of it (`about`), or
        about a template it lacks (`absent`)."""
        tid, seen = about if about else (None, None)
        if absent:
            return Anomaly(
                kind, self.service, start_ns or bucket.start_ns, bucket.start_ns + MINUTE_NS, closed_ns,
                severity, score, detail, absent[0], Level(absent[1].severity),
            )  # fmt: skip
        return Anomaly(
            kind=kind,
            service=self.service,
            start_ns=bucket.start_ns if start_ns is None else start_ns,
            end_ns=bucket.start_ns + MINUTE_NS,
            detected_ns=closed_ns,
            severity=severity,
            score=score,
            detail=detail,
            template_id=tid,
            level=Level(seen.severity) if seen else None,
            evidence_id=seen.first_id if seen else None,
            evidence_ts=seen.first_ts if seen else None,
        )

    def know(self, template_id: str) -> None:
        """Marks a template as seen before this watch began (a replay starting mid-stream), so it is
        not new; it counts as seen twice, so it is not a singleton either."""
        if template_id not in self.templates:
            self.templates[template_id] = TemplateState(count=2)

    def restart(self) -> None:
        """Forgets what the service's rates were, after a gap longer than the history: a source
        back after hours (or a store holding last year's and today's logs) is judged against its
        own new past after a fresh warm-up, not against a level from before the gap. The templates
        it knows stay known (not new), with their counts and rates started over."""
        s = self.settings
        self.minutes = 0
        self.templates = {tid: TemplateState(count=max(2, st.count)) for tid, st in self.templates.items()}
        self.steady = set()
        self.volume = SeasonalBaseline(s.warmup_minutes, s.history_minutes, counts=True)
        self.error_history = deque(maxlen=s.history_minutes)
        self.fields = {}
        self.mix = TemplateMix(history=s.history_minutes) if s.multivariate else None

    @property
    def warmed_up(self) -> bool:
        """True once the service has `warmup_minutes` minutes of data."""
        return self.minutes >= self.settings.warmup_minutes

    # -- the minute detectors ------------------------------------------------------------------

    def observe(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """Scores a closed minute, then learns from it."""
        found = self._novelty(bucket, closed_ns)
        if self.minutes == 0 and bucket.total == 0:
            return found  # the service has not started yet
        if self.warmed_up:
            found.extend(self._bursts(bucket, closed_ns))
            found.extend(self._silences(bucket, closed_ns))
        found.extend(self._volume(bucket, closed_ns))
        found.extend(self._errors(bucket, closed_ns))
        found.extend(self._drift(bucket, closed_ns))
        if self.mix is not None and self.warmed_up and bucket.total:
            verdict = self.mix.score(bucket)
            if verdict is not None:
                found.append(self._anomaly("template_mix", bucket, closed_ns, *verdict))
        self._learn(bucket, flagged={a.template_id for a in found if a.kind == "template_burst"})
        return found

    def _novelty(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """Templates never seen in this service, weighted by their level and by how surprising new
        shapes are here.

        Rule: after warm-up, the chance that the next record has a shape never seen is estimated
        Good–Turing style as (templates seen once + 1) / (records + 1); times the service's average
        records per minute, that is λ, the new shapes expected per minute. The n-th new shape of a
        minute (in order of first line) has chance p = P(Poisson(λ) ≥ n). Severity for
        warning-and-worse lines: `critical` when p < `novelty_critical_p` (several new problem
        shapes at once, or one where none ever appears), `warning` when p < `novelty_warning_p`,
        else `info`; debug/info lines are `info`, or `warning` when p < `novelty_critical_p` / 100
        (a flood of new shapes). A single new rare error in a service that often shows new shapes
        is not an outage. The anomaly starts at the template's first line.
        """
        if not self.warmed_up:
            return []
        s = self.settings
        new = sorted(
            ((tid, seen) for tid, seen in bucket.templates.items() if tid not in self.templates),
            key=lambda item: (item[1].first_ts, item[0]),
        )
        lam = (self.records / self.minutes) * (self.singletons + 1) / (self.records + 1)
        found = []
        for nth, (tid, seen) in enumerate(new, 1):
            p = poisson_sf(nth, lam)
            if seen.severity < Level.WARNING:
                severity = "warning" if p < s.novelty_critical_p / 100 else "info"
            elif p < s.novelty_critical_p:
                severity = "critical"
            else:
                severity = "warning" if p < s.novelty_warning_p else "info"
            detail = (
                f"new {Level(seen.severity).label} template "
                f"(#{nth} new this minute; {lam:.3g} expected per minute)"
            )
            found.append(
                self._anomaly(
                    "new_template",
                    bucket,
                    closed_ns,
                    severity,
                    surprise(p),
                    detail,
                    seen.first_ts,
                    (tid, seen),
                )
            )
        return found

    def _bursts(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """A template (known and rare, or new) far above its usual rate.

        Rule: usual rate λ = (its count so far + 1) / the service's minutes; the minute's count c is a
        burst when c ≥ `burst_min_count`, c ≥ `burst_ratio` × λ and c > 1.5 × its busiest normal
        minute so far (a job that always floods at 02:00 stops counting once seen), with severity
        from the Poisson tail P(X ≥ c): warning below `burst_warning_p`, critical below
        `burst_critical_p`. It starts at the template's first line in the minute.
        """
        s = self.settings
        found = []
        for tid, seen in bucket.templates.items():
            if seen.count < s.burst_min_count:
                continue
            state = self.templates.get(tid)
            lam = ((state.count if state else 0) + 1) / max(self.minutes, 1)
            if seen.count < s.burst_ratio * lam or seen.count <= 1.5 * (state.peak if state else 0):
                continue
            p = poisson_sf(seen.count, lam)
            if p >= s.burst_warning_p:
                continue
            severity = "critical" if p < s.burst_critical_p else "warning"
            level = Level(seen.severity).label
            detail = f"{seen.count} {level} lines of one template in a minute (usually {lam:.2g})"
            found.append(
                self._anomaly(
                    "template_burst",
                    bucket,
                    closed_ns,
                    severity,
                    surprise(p),
                    detail,
                    seen.first_ts,
                    (tid, seen),
                )
            )
        return found

    def _silences(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """A steady template gone silent while its service still logs (a pattern break).

        Rule: a template present in each of the last `steady_minutes` minutes or more before it
        stopped, at a rate r per minute over that streak such that a silence of `silence_minutes`
        had less than 1 in 10,000 chance (exp(−r × minutes) < 1e-4), then absent that long while its
        service still logs: a warning, once, starting at the first silent minute.
        """
        found: list[Anomaly] = []
        if bucket.total == 0:
            return found
        for tid in sorted(self.steady - bucket.templates.keys()):
            state = self.templates[tid]
            silent = (bucket.start_ns - state.last_minute) // MINUTE_NS
            if silent < self.settings.silence_minutes:
                continue
            self.steady.discard(tid)
            if math.exp(-state.streak_count / state.streak * silent) >= 1e-4:
                continue
            detail = f"a template seen every minute for {state.streak} minutes is silent for {silent}"
            start = state.last_minute + MINUTE_NS
            found.append(
                self._anomaly(
                    "template_silence",
                    bucket,
                    closed_ns,
                    "warning",
                    float(silent),
                    detail,
                    start,
                    absent=(tid, state),
                )
            )
        return found

    def _volume(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """Lines per minute against the robust (and, after a day, seasonal) baseline.

        Rule: a spike needs z ≥ 2 (warning) or 3 (critical), at least `spike_ratio` × expected and
        `spike_min_excess` lines more; it is only critical at `critical_spike_ratio` × expected and
        above the busiest normal minute too. It
        starts at the first line of a template new or at twice its peak in that minute, if any;
        a dip needs z ≤ −2/−3, at most `dip_ratio` × expected, and an expected volume of at least
        `dip_min_expected`; no line at all where `silent_min_expected` is usual is `service_silent`.
        """
        s = self.settings
        deviation = self.volume.observe(float(bucket.total), bucket.start_ns)
        if deviation is None or deviation.severity is None:
            return []
        expected = deviation.expected
        detail = f"{bucket.total} lines in a minute (usually {expected:.0f})"
        if deviation.z < 0:
            if bucket.total > s.dip_ratio * expected:
                return []
            if bucket.total == 0 and expected >= s.silent_min_expected:
                return [
                    self._anomaly(
                        "service_silent", bucket, closed_ns, deviation.severity, -deviation.z, detail
                    )
                ]
            if bucket.total > 0 and expected >= s.dip_min_expected:
                return [
                    self._anomaly("volume_dip", bucket, closed_ns, deviation.severity, -deviation.z, detail)
                ]
            return []
        if bucket.total < s.spike_ratio * expected or bucket.total < expected + s.spike_min_excess:
            return []
        severity = deviation.severity
        if severity == "critical" and (
            bucket.total <= deviation.peak or bucket.total < s.critical_spike_ratio * expected
        ):
            severity = "warning"
        top = max(bucket.templates.items(), key=lambda item: item[1].count)
        start = self._rising_since(bucket, 0)
        return [self._anomaly("volume_spike", bucket, closed_ns, severity, deviation.z, detail, start, top)]

    def _errors(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """The share of error lines against the service's usual share.

        Rule: p = errors / lines over the minutes of the rolling window (an anomalous minute counts
        with its errors clipped to the edge of normal, λ + 2√λ), at least one error
        in `history_minutes` is assumed, so a clean past does not make one error infinitely rare);
        the minute's errors e against λ = lines·p: the Poisson tail P(X ≥ e) read as the z of a
        normal tail of the same size (so 6 errors where 1.9 are usual is the 1.3% event it is, z 2.2,
        not the 3σ a normal approximation claims); warning at z ≥ 2, critical at z ≥ 3, and only
        with at least `min_errors` errors and twice the expected count. It starts at the first error
        line of a template new or rising in that minute, if any.
        """
        s = self.settings
        history = self.error_history
        if self.warmed_up and bucket.errors >= s.min_errors:
            p = max(sum(e for _, e in history), 1) / max(sum(n for n, _ in history), 1)
            expected = bucket.total * p
            z = z_of(poisson_sf(bucket.errors, expected))
            severity = severity_of(z)
            if severity and bucket.errors >= 2 * expected:
                errors = [
                    (tid, seen) for tid, seen in bucket.templates.items() if seen.severity >= Level.ERROR
                ]
                top = max(errors, key=lambda item: item[1].count)
                detail = (
                    f"{bucket.errors} errors in {bucket.total} lines "
                    f"({100 * bucket.errors / bucket.total:.1f}%, usually {100 * p:.2f}%)"
                )
                start = self._rising_since(bucket, Level.ERROR)
                # learnt at the edge of normal, as the baselines do (`baseline.learned`)
                history.append(
                    (bucket.total, min(bucket.errors, round(expected + 2 * max(1.0, math.sqrt(expected)))))
                )
                return [self._anomaly("error_rate", bucket, closed_ns, severity, z, detail, start, top)]
        history.append((bucket.total, bucket.errors))
        return []

    def _drift(self, bucket: MinuteBucket, closed_ns: int) -> list[Anomaly]:
        """A watched numeric field's per-minute p95 rising against its baseline.

        Rule: robust z ≥ 2/3 (σ at least 5% of the usual value) and at least `drift_ratio` × usual.
        Only rises are reported: a latency falling is not a problem. The first `MAX_FIELDS` fields
        of a service are watched.
        """
        s = self.settings
        found = []
        for name, value in sorted(bucket.fields.items()):
            baseline = self.fields.get(name)
            if baseline is None:
                if len(self.fields) >= MAX_FIELDS:
                    continue
                baseline = self.fields[name] = SeasonalBaseline(
                    s.warmup_minutes, s.history_minutes, counts=False, min_sigma=1e-9
                )
            deviation = baseline.observe(value, bucket.start_ns)
            if deviation is None or deviation.z <= 0:
                continue
            z = (value - deviation.expected) / max(deviation.sigma, 0.05 * abs(deviation.expected), 1e-9)
            severity = severity_of(z)
            if severity is None or value < s.drift_ratio * deviation.expected:
                continue
            detail = f"p95 {name} {value:.4g} (usually {deviation.expected:.4g})"
            found.append(self._anomaly("field_drift", bucket, closed_ns, severity, z, detail))
        return found

    def _rising_since(self, bucket: MinuteBucket, min_severity: int) -> int:
        """When a minute's change began: the first line (at `min_severity` or worse) of a template
        new to the service or at more than twice its busiest normal minute; else the minute's start.
        A routine error early in the minute is not where an outage later in it began."""
        rising = [
            seen.first_ts
            for tid, seen in bucket.templates.items()
            if seen.severity >= min_severity
            and (tid not in self.templates or seen.count > 2 * max(self.templates[tid].peak, 1))
        ]
        return min(rising, default=bucket.start_ns)

    def _learn(self, bucket: MinuteBucket, flagged: set[str | None]) -> None:
        """Adds the minute to what the service remembers (bursting minutes do not raise a peak)."""
        if bucket.total == 0 and self.minutes == 0:
            return
        self.minutes += 1
        self.records += bucket.total
        for tid, seen in bucket.templates.items():
            state = self.templates.get(tid)
            if state is None:
                state = self.templates[tid] = TemplateState()
            before = state.count
            state.count += seen.count
            if before == 0 and state.count == 1:
                self.singletons += 1
            elif before == 1:
                self.singletons -= 1
            if tid not in flagged:
                state.peak = max(state.peak, seen.count)
            if state.last_minute == bucket.start_ns - MINUTE_NS:
                state.streak += 1
                state.streak_count += seen.count
            else:
                state.streak, state.streak_count = 1, seen.count
            state.last_minute = bucket.start_ns
            state.severity = max(state.severity, seen.severity)
            if state.streak >= self.settings.steady_minutes:
                self.steady.add(tid)
            else:
                self.steady.discard(tid)
        if len(self.templates) > self.settings.max_templates:
            self._forget()

    def _forget(self) -> None:
        """Drops the least recently seen templates down to 90% of the bound."""
        keep = int(self.settings.max_templates * 0.9)
        by_age = sorted(self.templates.items(), key=lambda item: item[1].last_minute)
        for tid, state in by_age[: len(self.templates) - keep]:
            if state.count == 1:
                self.singletons -= 1
            del self.templates[tid]
            self.steady.discard(tid)
