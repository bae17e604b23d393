"""Grouping anomalies into incidents and ranking root causes."""

from __future__ import annotations

from loglens.analysis.detectors import Anomaly
from loglens.analysis.incidents import Correlator, confidence, rank_causes

S = 10**9
M = 60 * S


def anomaly(
    service: str,
    start_s: float,
    severity: str = "critical",
    kind: str = "error_rate",
    score: float = 10.0,
    level: str | None = "error",
) -> Anomaly:
    start = int(start_s * S)
    return Anomaly(
        kind, service, start, start + M, start + 90 * S, severity, score, "", "t1", level, 1, start
    )


class TestCorrelator:
    def test_lone_warning_opens_nothing(self) -> None:
        """One warning is listed as an anomaly but is not an incident."""
        c = Correlator()
        c.add(anomaly("a", 0, "warning", score=2.5))
        assert c.finish() == []

    def test_weak_critical_needs_company(self) -> None:
        """A 3σ critical alone does not open an incident; with a warning close by it does."""
        c = Correlator()
        assert c.add(anomaly("a", 0, score=3.2)) is None
        opened = c.add(anomaly("b", 30, "warning", score=2.2))
        assert opened is not None and sorted(opened.services) == ["a", "b"]

    def test_strong_critical_opens_and_later_anomalies_join(self) -> None:
        """A strong anomaly opens an incident; another service's anomaly within the gap joins it;
        one after a quiet gap makes a new incident."""
        c = Correlator()
        c.add(anomaly("db", 0))
        c.add(anomaly("web", 120))
        c.add(anomaly("db", 3600))
        incidents = c.finish()
        assert [i.services for i in incidents] == [["db", "web"], ["db"]]
        assert incidents[0].detected_ns == 90 * S

    def test_info_joins_only_its_services(self) -> None:
        """An info anomaly joins an open incident only for a service already in it."""
        c = Correlator()
        c.add(anomaly("db", 0))
        c.add(anomaly("cron", 30, "info"))
        c.add(anomaly("db", 40, "info"))
        (incident,) = c.finish()
        assert incident.services == ["db"] and len(incident.anomalies) == 2


class TestRanking:
    def test_earliest_onset_with_new_errors_ranks_first(self) -> None:
        """The service that failed first, with a new error shape, outranks the louder downstream one."""
        found = [
            anomaly("db", 0, kind="new_template", score=5),
            anomaly("web", 100, score=40),
            anomaly("nginx", 130, score=60, level=None, kind="volume_spike"),
        ]
        ranked = rank_causes(found)
        assert [c.service for c in ranked] == ["db", "web", "nginx"]
        assert ranked[0].evidence["onset"] == 1.0 and ranked[0].evidence["new_shapes"] == 1.0
        assert 0.5 < confidence(ranked) < 1.0

    def test_single_candidate_is_certain(self) -> None:
        """With one service there is nothing to doubt."""
        assert confidence(rank_causes([anomaly("q", 0)])) == 1.0
