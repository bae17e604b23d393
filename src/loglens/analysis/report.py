"""Anomalies and incidents as the JSON the CLI, the API and agents read (a contract: keys are stable).

Times are ISO 8601 UTC with milliseconds. The incident shape is documented in docs/cli.md.
"""

from __future__ import annotations

from typing import Any

from loglens.analysis.detectors import Anomaly
from loglens.analysis.incidents import Incident, confidence
from loglens.formats.timestamp import to_iso_ms


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    """One anomaly: kind, service, start, end, detected_at, severity, score, detail, template_id, the
    template's level."""
    return {
        "kind": anomaly.kind,
        "service": anomaly.service,
        "start": to_iso_ms(anomaly.start_ns),
        "end": to_iso_ms(anomaly.end_ns),
        "detected_at": to_iso_ms(anomaly.detected_ns),
        "severity": anomaly.severity,
        "score": round(anomaly.score, 3),
        "detail": anomaly.detail,
        "template_id": anomaly.template_id,
        "level": anomaly.level.label if anomaly.level is not None else None,
        "evidence_id": anomaly.evidence_id,
    }


def incident_json(incident: Incident, templates: dict[str, str]) -> dict[str, Any]:
    """One incident with its ranked root-cause candidates; `templates` maps ids to their text."""
    candidates = incident.candidates()
    top = candidates[0] if candidates else None
    return {
        "id": incident.id,
        "start": to_iso_ms(incident.start_ns),
        "end": to_iso_ms(incident.end_ns),
        "detected_at": to_iso_ms(incident.detected_ns),
        "severity": incident.severity,
        "services": incident.services,
        "root_cause": {
            "service": top.service if top else None,
            "template_id": top.template_id if top else None,
            "template": templates.get(top.template_id) if top and top.template_id else None,
            "first_event_ts": to_iso_ms(top.first_event_ts) if top and top.first_event_ts else None,
            "first_event_id": top.first_event_id if top else None,
            "confidence": confidence(candidates),
        },
        "candidates": [
            {"service": c.service, "score": c.score, "onset": to_iso_ms(c.onset_ns), "evidence": c.evidence}
            for c in candidates
        ],
        "anomalies": [
            anomaly_json(a) for a in sorted(incident.anomalies, key=lambda a: (a.start_ns, a.service))
        ],
        "anomalies_dropped": incident.dropped,
    }
