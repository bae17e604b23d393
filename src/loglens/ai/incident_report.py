"""`loglens explain`, `GET /api/incidents/{id}/explain` and the dashboard's incident detail: the
incident as the detectors tell it, read by the offline explainer (signature, fix, confidence), and
any insight an LLM stored about it — one report, the same everywhere."""

from __future__ import annotations

from typing import Any

from loglens.ai.explain import explain_offline, render_offline
from loglens.ai.insights import insights_for
from loglens.ai.kb import all_signatures
from loglens.analysis.explain import explain_view, render_explanation
from loglens.config import Config
from loglens.store.base import Store


def incident_report(store: Store, config: Config, incident_id: str, context: int) -> dict[str, Any]:
    """The explain dict plus `explanation` (offline) and `insights` (the LLM's, newest first; empty
    when none is configured)."""
    found = explain_view(store, config, incident_id, context)
    found["explanation"] = explain_offline(store, found, all_signatures(store))
    found["insights"] = insights_for(store, f"incident:{incident_id}")
    return found


def render_incident_report(found: dict[str, Any]) -> str:
    """The report for a terminal: the offline reading first (what to do), then the detectors' detail."""
    out = [render_offline(found["explanation"]).rstrip("\n"), ""]
    for insight in found.get("insights", [])[:1]:
        out += [
            f"LLM insight ({insight.get('model')}, confidence {float(insight.get('confidence', 0)):.2f}):",
            f"  cause: {insight.get('cause')}",
            f"  fix: {insight.get('fix')}",
            "",
        ]
    return "\n".join(out) + "\n" + render_explanation(found)
