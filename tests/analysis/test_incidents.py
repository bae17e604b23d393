"""Grouping anomalies into incidents and ranking root causes."""

from __future__ import annotations

from loglens.analysis.detectors import Anomaly
from loglens.analysis.incidents import Correlator, Incident, confidence, rank_causes
from loglens.record import Level

S = 10**9
M = 60 * S


def anomaly(
    service: str,
    start_s: float,
    severity: str = "critical",
    kind: str = "error_rate",
    score: float = 10.0,
    level: Level | None = Level.ERROR,
) -> Anomaly:
    start = int(start_s * S)
    return Anomaly(
        kind, service, start, start + M, start + 90 * S, severity, score, "", "t1", level, 1, start
    )


def run(anomalies: list[Anomaly]) -> list[Incident]:
    """Feeds anomalies as a watcher does (advance to each one's detection, then add); every incident."""
    c = Correlator()
    closed: list[Incident] = []
    for a in anomalies:
        closed.extend(c.advance(a.detected_ns))
        c.add(a)
    return closed + c.open


class TestCorrelator:
    def test_lone_warning_opens_nothing(self) -> None:
        """One warning is listed as an anomaly but is not an incident."""
        assert run([anomaly("a", 0, "warning", score=2.5)]) == []

    def test_weak_critical_needs_company_of_its_service(self) -> None:
        """A 3σ critical alone does not open an incident, nor with another service's warning (chance
        coincidences across services); with a warning of its own service close by it does."""
        c = Correlator()
        assert c.add(anomaly("a", 0, score=3.2)) is None
        assert c.add(anomaly("b", 30, "warning", score=2.2)) is None
        opened = c.add(anomaly("a", 60, "warning", score=2.2))
        assert opened is not None and opened.services == ["a"] and len(opened.anomalies) == 2

    def test_another_service_joins_only_from_the_start_on(self) -> None:
        """Once open, another service's anomaly joins when it starts at or after the incident's
        start; one that started before it does not (it would date the incident falsely)."""
        c = Correlator()
        c.add(anomaly("db", 100))
        c.add(anomaly("cron", 60, "warning", score=2.5))
        c.add(anomaly("web", 130, "warning", score=2.5))
        (incident,) = c.open
        assert incident.services == ["db", "web"] and incident.start_ns == 100 * S

    def test_strong_critical_opens_and_later_anomalies_join(self) -> None:
        """A strong anomaly opens an incident; another service's anomaly within the gap joins it;
        one after a quiet gap makes a new incident."""
        incidents = run([anomaly("db", 0), anomaly("web", 120), anomaly("db", 3600)])
        assert [i.services for i in incidents] == [["db", "web"], ["db"]]
        assert incidents[0].detected_ns == 90 * S
        assert (incidents[0].start_ns, incidents[0].end_ns) == (0, 120 * S + M)
        assert incidents[0].id == "inc-19700101-0000-db"

    def test_info_joins_only_its_services(self) -> None:
        """An info anomaly joins an open incident only for a service already in it."""
        (incident,) = run([anomaly("db", 0), anomaly("cron", 30, "info"), anomaly("db", 40, "info")])
        assert incident.services == ["db"] and len(incident.anomalies) == 2

    def test_closed_incidents_are_handed_back_not_kept(self) -> None:
        """`advance` returns an incident once it has been quiet for the gap, and forgets it."""
        c = Correlator()
        c.add(anomaly("db", 0))
        assert c.advance(5 * M) == []  # last activity 0 s, its minute to 60 s: gap runs to 360 s
        (closed,) = c.advance(7 * M)
        assert closed.services == ["db"] and c.open == [] and c.advance(8 * M) == []

    def test_storm_is_bounded(self) -> None:
        """An incident keeps at most MAX_ANOMALIES anomalies and counts the rest; its span grows."""
        from loglens.analysis.incidents import MAX_ANOMALIES

        (incident,) = run([anomaly("db", i) for i in range(MAX_ANOMALIES + 50)])
        assert len(incident.anomalies) == MAX_ANOMALIES and incident.dropped == 50
        assert incident.end_ns == (MAX_ANOMALIES + 49) * S + M


class TestRanking:
    def test_earliest_onset_with_new_errors_ranks_first(self) -> None:
        """The service that failed first, with a new error shape, outranks the louder downstream one."""
        found = [
            anomaly("db", 0, kind="new_template", score=5),
            anomaly("web", 100, score=40),
            anomaly("nginx", 130, score=60, level=None, kind="volume_spike"),
            anomaly("web", 140, severity="info", kind="new_template", level=Level.INFO),
        ]
        ranked = rank_causes(found)
        assert [c.service for c in ranked] == ["db", "web", "nginx"]
        assert ranked[0].evidence["onset"] == 1.0 and ranked[0].evidence["new_shapes"] == 1.0
        assert 0.5 < confidence(ranked) < 1.0

    def test_single_candidate_is_certain(self) -> None:
        """With one service there is nothing to doubt."""
        assert confidence(rank_causes([anomaly("q", 0)])) == 1.0
