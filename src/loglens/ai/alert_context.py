"""What the daemon adds to its findings as they happen: the offline explainer's reading of an
incident for its alert (what happened, the signature, the fix, a confidence — so the person paged
reads the likely fix in the message itself), and, with an LLM configured, the incidents and new
error shapes handed to the insight worker."""

from __future__ import annotations

from typing import Any

from loglens.ai.explain import explain_offline
from loglens.ai.insights import InsightWorker
from loglens.ai.kb import all_signatures
from loglens.analysis.explain import explain_incident
from loglens.analysis.findings import named_templates
from loglens.analysis.incidents import Incident
from loglens.analysis.live_watch import LiveWatch
from loglens.store.base import Store

CONTEXT_LINES = 3
EXAMPLES = 3
"""Lines of a new error template shown to the LLM."""
ERROR_LEVELS = ("error", "critical", "fatal")


def offline_reading(store: Store, incident: Incident) -> tuple[dict[str, Any], dict[str, Any]]:
    """The incident's explain dict and the offline explainer's reading of it."""
    found = explain_incident(store, incident, named_templates(store, incident.anomalies), CONTEXT_LINES)
    return found, explain_offline(store, found, all_signatures(store))


def ask_for_insight(worker: InsightWorker, store: Store, watch: LiveWatch, event: dict[str, Any]) -> None:
    """A closed incident (whole by then), or a new error shape, queued for the LLM (never blocks)."""
    if event["type"] == "incident" and event["state"] == "closed":
        incident = watch.incident(event["incident"]["id"])
        if incident is not None:
            worker.submit_incident(*offline_reading(store, incident))
    elif event["type"] == "anomaly":
        anomaly = event["anomaly"]
        new_error = anomaly["kind"] == "new_template" and anomaly.get("level") in ERROR_LEVELS
        if new_error and anomaly.get("template_id") and anomaly.get("template"):
            # Announced once its minute closed: its lines are stored by then.
            examples = store.search("template_id = ?", [anomaly["template_id"]], EXAMPLES)
            worker.submit_templates(
                [
                    {
                        "id": anomaly["template_id"],
                        "service": anomaly["service"],
                        "text": anomaly["template"],
                        "count": 1,
                        "examples": [{"id": r.id, "message": r.message} for r in examples],
                    }
                ]
            )


def alert_explanation(store: Store, incident: Incident | None) -> dict[str, Any] | None:
    """The explanation an incident's alert carries (None for other alerts: their evidence and
    context lines are their story)."""
    if incident is None:
        return None
    _, offline = offline_reading(store, incident)
    signature = offline.get("signature")
    return {
        "what_happened": offline["what_happened"],
        "root_cause": offline["root_cause"]["service"],
        "signature": signature["name"] if signature else None,
        "signature_id": signature["id"] if signature else None,
        "fix": offline["fix"],
        "confidence": offline["confidence"],
    }
