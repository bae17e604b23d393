"""Incidents: anomalies close in time, across services, told as one story with a ranked root cause.

Opening rule: an incident opens on a strong anomaly (critical with a score ≥ 6: 6σ, or a chance
below 1e-6), or when one service's anomalies within `window` weigh at least `threshold` (3) points —
critical 2, warning 1, info 0: a critical and a warning, or three warnings, of the same service. Weak
anomalies of *different* services never open one together: over a day, a dozen services × 1,440
minutes produce 3σ minutes by chance, and two of them coincide often enough. It takes in that
service's anomalies that led up to it within the window; then any warning or critical anomaly
starting no later than `gap` after its last one — from a service already in it, even starting up to
`window` before it; from another service, only starting at or after the incident's start — and info
anomalies of services already in it. It closes once `gap` has passed with nothing new.

Root cause (stated, so it can be checked): each service in the incident is scored in [0, 1] by
- onset, weight 0.5: exp(−lag / 120 s), where lag is how long after the incident's first anomaly the
  service's first anomaly of its worst severity began (the service that changed first is most likely
  the cause; a stray warning does not date a service whose failure shows as critical);
- new problem shapes, weight 0.25: it logged a template never seen before at warning or worse;
- error precedence, weight 0.15: its first error anomaly came before any other service's (errors
  propagate downstream, so the first to fail is upstream of the rest);
- strength, weight 0.10: its strongest anomaly's score over the strongest of the incident.
Candidates are ranked by score; confidence is the top score's share of the two best scores (1.0 with
a single candidate), so a close race reads as ~0.5.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from loglens.analysis.detectors import SEVERITY_RANK, Anomaly

MINUTE_NS = 60 * 10**9
POINTS = {"info": 0, "warning": 1, "critical": 2}
STRONG_SCORE = 6.0
STRONG_POINTS = 3


def points(anomaly: Anomaly) -> int:
    """What an anomaly weighs towards opening an incident (rule in the module docstring)."""
    if anomaly.severity == "critical" and anomaly.score >= STRONG_SCORE:
        return STRONG_POINTS
    return POINTS[anomaly.severity]


WEIGHTS = {"onset": 0.5, "new_shapes": 0.25, "error_first": 0.15, "strength": 0.10}
ONSET_SCALE_NS = 120 * 10**9
MAX_ANOMALIES = 500
"""Anomalies kept per incident (the first ones and the strongest matter; a storm is bounded)."""


@dataclass(frozen=True, slots=True)
class CorrelationSettings:
    """How anomalies become incidents (see the module docstring)."""

    window_ns: int = 3 * MINUTE_NS
    gap_ns: int = 5 * MINUTE_NS
    threshold: int = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A service ranked as a possible root cause, with its score's parts (the stated evidence)."""

    service: str
    score: float
    onset_ns: int
    evidence: dict[str, float]
    template_id: str | None
    first_event_ts: int | None
    first_event_id: int | None


class Incident:
    """Anomalies grouped into one incident, with the time it was opened (`detected_ns`).

    Its span, services and severity are kept up to date as anomalies join (no rescan of the list);
    its id is fixed when it opens: `inc-<yyyymmdd-hhmm>-<service>` of its earliest anomaly then, so it
    stays the same while the incident grows and across replays of the same data.
    """

    __slots__ = (
        "anomalies",
        "detected_ns",
        "dropped",
        "end_ns",
        "id",
        "last_start_ns",
        "onsets",
        "severity",
        "start_ns",
    )

    def __init__(self, detected_ns: int, members: list[Anomaly]) -> None:
        first = min(members, key=lambda a: (a.start_ns, a.service))
        stamp = datetime.fromtimestamp(first.start_ns / 1e9, UTC).strftime("%Y%m%d-%H%M")
        self.id = f"inc-{stamp}-{first.service}"
        self.detected_ns = detected_ns
        self.anomalies: list[Anomaly] = []
        self.dropped = 0
        self.start_ns = first.start_ns
        self.end_ns = first.end_ns
        self.last_start_ns = first.start_ns
        self.onsets: dict[str, int] = {}
        self.severity = first.severity
        for anomaly in sorted(members, key=lambda a: (a.start_ns, a.service)):
            self.add(anomaly)

    @property
    def services(self) -> list[str]:
        """Its services in the order their first anomaly began."""
        return sorted(self.onsets, key=lambda s: (self.onsets[s], s))

    def add(self, anomaly: Anomaly) -> None:
        """Takes an anomaly in; past `MAX_ANOMALIES` it only counts it (the span still grows)."""
        if len(self.anomalies) < MAX_ANOMALIES:
            self.anomalies.append(anomaly)
        else:
            self.dropped += 1
        self.start_ns = min(self.start_ns, anomaly.start_ns)
        self.end_ns = max(self.end_ns, anomaly.end_ns)
        # a minute-long anomaly counts from its minute's start, so `gap` runs from its last minute
        self.last_start_ns = max(self.last_start_ns, anomaly.start_ns, anomaly.end_ns - MINUTE_NS)
        self.onsets[anomaly.service] = min(
            self.onsets.get(anomaly.service, anomaly.start_ns), anomaly.start_ns
        )
        if SEVERITY_RANK[anomaly.severity] > SEVERITY_RANK[self.severity]:
            self.severity = anomaly.severity

    def candidates(self) -> list[Candidate]:
        """Root-cause candidates, best first (rule in the module docstring)."""
        return rank_causes(self.anomalies)


def rank_causes(anomalies: list[Anomaly]) -> list[Candidate]:
    """Services of a group of anomalies scored as root causes (rule in the module docstring)."""
    if not anomalies:
        return []
    first_ns = min(a.start_ns for a in anomalies)
    strongest = max(a.score for a in anomalies) or 1.0
    by_service: dict[str, list[Anomaly]] = {}
    for a in anomalies:
        by_service.setdefault(a.service, []).append(a)
    error_onsets = {
        service: min(errors)
        for service, found in by_service.items()
        if (errors := [a.start_ns for a in found if a.is_error and a.severity != "info"])
    }
    first_error = min(error_onsets.values(), default=None)
    ranked = []
    for service, found in by_service.items():
        worst = max(SEVERITY_RANK[a.severity] for a in found)
        signals = [a for a in found if SEVERITY_RANK[a.severity] == worst]
        onset = min(a.start_ns for a in signals)
        evidence = {
            "onset": math.exp(-(onset - first_ns) / ONSET_SCALE_NS),
            "new_shapes": float(any(a.is_new_problem for a in found)),
            "error_first": float(first_error is not None and error_onsets.get(service) == first_error),
            "strength": max(a.score for a in found) / strongest,
        }
        score = sum(WEIGHTS[k] * v for k, v in evidence.items())
        with_template = sorted(
            (a for a in found if a.template_id and a.evidence_ts is not None),
            key=lambda a: (not a.is_new_problem, a.start_ns),
        )
        pick = with_template[0] if with_template else None
        ranked.append(
            Candidate(
                service=service,
                score=round(score, 4),
                onset_ns=onset,
                evidence={k: round(v, 4) for k, v in evidence.items()},
                template_id=pick.template_id if pick else None,
                first_event_ts=pick.evidence_ts if pick else None,
                first_event_id=pick.evidence_id if pick else None,
            )
        )
    return sorted(ranked, key=lambda c: (-c.score, c.onset_ns, c.service))


def confidence(candidates: list[Candidate]) -> float:
    """The top candidate's share of the two best scores (1.0 alone)."""
    if not candidates:
        return 0.0
    if len(candidates) == 1:
        return 1.0
    top, second = candidates[0].score, candidates[1].score
    return round(top / (top + second), 3) if top + second > 0 else 0.5


class Correlator:
    """Turns a time-ordered stream of anomalies into incidents (rule in the module docstring).

    Feed anomalies in the order they were detected; `advance` with the watermark closes incidents
    that have been quiet for `gap` and hands them back (the correlator keeps none). State is
    bounded: the pending anomalies of one window, and the open incidents (each bounded by
    `MAX_ANOMALIES`).
    """

    def __init__(self, settings: CorrelationSettings | None = None) -> None:
        self.settings = settings or CorrelationSettings()
        self._pending: deque[Anomaly] = deque()
        self.open: list[Incident] = []

    def add(self, anomaly: Anomaly) -> Incident | None:
        """Takes one anomaly (call `advance` first); returns the incident it opened, if any."""
        s = self.settings
        for incident in self.open:
            known = anomaly.service in incident.onsets
            joins = anomaly.start_ns <= incident.last_start_ns + s.gap_ns and (
                anomaly.end_ns >= incident.start_ns - s.window_ns
                if known
                else anomaly.start_ns >= incident.start_ns
            )
            if joins and (anomaly.severity != "info" or known):
                incident.add(anomaly)
                return None
        if anomaly.severity == "info":
            return None
        self._pending.append(anomaly)
        while self._pending and self._pending[0].start_ns < anomaly.start_ns - s.window_ns:
            self._pending.popleft()
        members = [a for a in self._pending if a.service == anomaly.service]
        if points(anomaly) < STRONG_POINTS and sum(points(a) for a in members) < s.threshold:
            return None
        incident = Incident(anomaly.detected_ns, members)
        self._pending = deque(a for a in self._pending if a not in members)
        self.open.append(incident)
        return incident

    def advance(self, now_ns: int) -> list[Incident]:
        """Closes and returns the incidents quiet for `gap` by `now_ns`."""
        ended = [i for i in self.open if i.last_start_ns + self.settings.gap_ns < now_ns]
        self.open = [i for i in self.open if i not in ended]
        return ended
