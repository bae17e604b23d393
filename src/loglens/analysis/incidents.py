"""Incidents: anomalies close in time, across services, told as one story with a ranked root cause.

Opening rule: an incident opens when the anomalies seen within `window` minutes weigh at least
`threshold` (3) points — a strong critical anomaly (score ≥ 6: 6σ, or a chance below 1e-6) 3, any
other critical 2, a warning 1, info 0 — so one strong anomaly opens it, and so do a critical and a
warning, or three warnings, close together; a lone warning (one new rare error line) or one 3σ
minute (which a day of minutes across a dozen services produces by chance) does not. It takes in the warnings
that led up to it (within a minute before, or from the same service within the window), then every
warning or critical anomaly of any service starting no later than `gap` after its last one, and info
anomalies of services already in it. It closes once `gap` has passed with nothing new.

Root cause (stated, so it can be checked): each service in the incident is scored in [0, 1] by
- onset, weight 0.5: exp(−lag / 120 s), where lag is how long after the incident's first anomaly the
  service's first one began (the service that changed first is most likely the cause);
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
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Incident:
    """Anomalies grouped into one incident, with the time it was opened (`detected_ns`)."""

    detected_ns: int
    anomalies: list[Anomaly] = field(default_factory=list)
    dropped: int = 0

    @property
    def start_ns(self) -> int:
        """When the first of its anomalies began."""
        return min(a.start_ns for a in self.anomalies)

    @property
    def end_ns(self) -> int:
        """When the last of its anomalies ended."""
        return max(a.end_ns for a in self.anomalies)

    @property
    def last_start_ns(self) -> int:
        """When the last of its anomalies began (what `gap` is counted from)."""
        return max(max(a.start_ns, a.end_ns - MINUTE_NS) for a in self.anomalies)

    @property
    def services(self) -> list[str]:
        """Its services in the order their first anomaly began."""
        onset: dict[str, int] = {}
        for a in self.anomalies:
            onset[a.service] = min(onset.get(a.service, a.start_ns), a.start_ns)
        return sorted(onset, key=lambda s: (onset[s], s))

    @property
    def severity(self) -> str:
        """The worst severity among its anomalies."""
        return max((a.severity for a in self.anomalies), key=lambda s: SEVERITY_RANK[s])

    @property
    def id(self) -> str:
        """A stable, readable id: its start minute and first service (`inc-20261121-0224-billing`)."""
        first = min(self.anomalies, key=lambda a: (a.start_ns, a.service))
        stamp = datetime.fromtimestamp(first.start_ns / 1e9, UTC).strftime("%Y%m%d-%H%M")
        return f"inc-{stamp}-{first.service}"

    def add(self, anomaly: Anomaly) -> None:
        """Adds an anomaly; past `MAX_ANOMALIES` only counts it."""
        if len(self.anomalies) < MAX_ANOMALIES:
            self.anomalies.append(anomaly)
        else:
            self.dropped += 1

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
        service: min(a.start_ns for a in found if a.is_error and a.severity != "info")
        for service, found in by_service.items()
        if any(a.is_error and a.severity != "info" for a in found)
    }
    first_error = min(error_onsets.values(), default=None)
    ranked = []
    for service, found in by_service.items():
        signals = [a for a in found if a.severity != "info"] or found
        onset = min(a.start_ns for a in signals)
        evidence = {
            "onset": math.exp(-(onset - first_ns) / ONSET_SCALE_NS),
            "new_shapes": float(
                any(a.kind == "new_template" and a.level not in ("trace", "debug", "info") for a in found)
            ),
            "error_first": float(first_error is not None and error_onsets.get(service) == first_error),
            "strength": max(a.score for a in found) / strongest,
        }
        score = sum(WEIGHTS[k] * v for k, v in evidence.items())
        with_template = sorted(
            (a for a in found if a.template_id and a.evidence_ts is not None),
            key=lambda a: (a.kind != "new_template" or a.level in ("trace", "debug", "info"), a.start_ns),
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
    that have been quiet for `gap`. State is bounded: the pending anomalies of one window, and the
    open incidents (each bounded by `MAX_ANOMALIES`).
    """

    def __init__(self, settings: CorrelationSettings | None = None) -> None:
        self.settings = settings or CorrelationSettings()
        self._pending: deque[Anomaly] = deque()
        self.open: list[Incident] = []
        self.closed: list[Incident] = []

    def add(self, anomaly: Anomaly) -> Incident | None:
        """Takes one anomaly; returns the incident it opened, if it opened one."""
        s = self.settings
        self.advance(anomaly.detected_ns)
        for incident in self.open:
            joins = (
                anomaly.start_ns <= incident.last_start_ns + s.gap_ns
                and anomaly.end_ns >= incident.start_ns - s.window_ns
            )
            if joins and (anomaly.severity != "info" or anomaly.service in incident.services):
                incident.add(anomaly)
                return None
        if anomaly.severity == "info":
            return None
        self._pending.append(anomaly)
        while self._pending and self._pending[0].start_ns < anomaly.start_ns - s.window_ns:
            self._pending.popleft()
        recent = [a for a in self._pending if a.start_ns >= anomaly.start_ns - s.window_ns]
        if sum(points(a) for a in recent) < s.threshold:
            return None
        members = [
            a
            for a in recent
            if a is anomaly or a.start_ns >= anomaly.start_ns - MINUTE_NS or a.service == anomaly.service
        ]
        incident = Incident(detected_ns=anomaly.detected_ns)
        for a in sorted(members, key=lambda a: (a.start_ns, a.service)):
            incident.add(a)
        self._pending = deque(a for a in self._pending if a not in members)
        self.open.append(incident)
        return incident

    def advance(self, now_ns: int) -> list[Incident]:
        """Closes the incidents quiet for `gap` by `now_ns`; returns them."""
        ended = [i for i in self.open if i.last_start_ns + self.settings.gap_ns < now_ns]
        for incident in ended:
            self.open.remove(incident)
            self.closed.append(incident)
        return ended

    def finish(self) -> list[Incident]:
        """Every incident, closed and still open, oldest first."""
        return sorted(self.closed + self.open, key=lambda i: i.start_ns)
