"""`loglens explain`: one incident told in full — timeline, ranked causes with their evidence, and
the log lines themselves with context before and after (offline: no LLM involved)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loglens.analysis.findings import named_templates, replay_range
from loglens.analysis.incidents import Incident
from loglens.analysis.report import incident_json
from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.store.base import Store, StoredRecord

if TYPE_CHECKING:
    from loglens.config import Config

MAX_EVIDENCE = 12
"""Evidence lines shown per incident: the root cause's first, then one per template, earliest first."""

CONTEXT_WINDOW_NS = 120 * 10**9
"""Context lines are looked for this far before and after the first sign."""

MAX_TIMELINE = 40
"""Anomalies the text timeline shows (the first ones: how it began)."""
LATEST_KNOWN = 5
"""Incident ids an unknown id's error names, the latest ones (what the user most likely meant)."""


class UnknownIncidentError(LoglensError):
    """No incident has the id asked for (the API answers it 404, the CLI exits 1)."""


def evidence_line(record: StoredRecord) -> dict[str, Any]:
    """A stored record as explanations and answers cite it: id, time, service, level, first line."""
    return {
        "id": record.id,
        "ts": to_iso_ms(record.ts),
        "service": record.service,
        "level": record.level,
        "message": record.message.split("\n", 1)[0],
    }


def evidence_ids(incident: Incident, root_event_id: int | None) -> list[int]:
    """Record ids that show the incident best: the root cause's first event, then the first record of
    each anomalous template, earliest first, one per template, at most `MAX_EVIDENCE`."""
    ids: list[int] = [] if root_event_id is None else [root_event_id]
    seen_templates: set[str | None] = set()
    for a in sorted(incident.anomalies, key=lambda a: (a.evidence_ts or a.start_ns, a.service)):
        if a.evidence_id is None or a.template_id in seen_templates or a.evidence_id in ids:
            continue
        seen_templates.add(a.template_id)
        ids.append(a.evidence_id)
        if len(ids) >= MAX_EVIDENCE:
            break
    return ids


def explain_incident(
    store: Store, incident: Incident, templates: dict[str, str], context: int
) -> dict[str, Any]:
    """The incident as JSON plus its evidence lines and, around the root cause's first event, the
    `context` lines of the same service before and after it."""
    found = incident_json(incident, templates)
    ids = evidence_ids(incident, found["root_cause"]["first_event_id"])
    evidence: list[StoredRecord] = []
    if ids:
        marks = ", ".join("?" for _ in ids)
        evidence = list(store.search(f"id IN ({marks})", list(ids), None))
    found["evidence"] = [evidence_line(r) for r in sorted(evidence, key=lambda r: (r.ts, r.id))]
    found["context"] = {"before": [], "after": []}
    anchor = next((r for r in evidence if ids and r.id == ids[0]), None)
    if anchor is not None and context > 0:
        # (ts, id) order, as `search` returns: lines stamped in the same second come in file order
        at = "make_timestamp_ns(?)"
        before = store.search(
            f"service = ? AND ts >= {at} AND (ts < {at} OR (ts = {at} AND id < ?))",
            [anchor.service, anchor.ts - CONTEXT_WINDOW_NS, anchor.ts, anchor.ts, anchor.id],
            context,
        )
        after = store.search(
            f"service = ? AND ts <= {at} AND (ts > {at} OR (ts = {at} AND id > ?))",
            [anchor.service, anchor.ts + CONTEXT_WINDOW_NS, anchor.ts, anchor.ts, anchor.id],
            None,
        )
        found["context"] = {
            "anchor": evidence_line(anchor),
            "before": [evidence_line(r) for r in before],
            "after": [evidence_line(r) for _, r in zip(range(context), after, strict=False)],
        }
    return found


def explain_view(store: Store, config: Config, incident_id: str, context: int) -> dict[str, Any]:
    """`loglens explain --json` and `GET /api/incidents/{id}/explain`: the incident found by replaying
    the whole store, explained with `context` lines around its first sign.

    Raises:
        UnknownIncidentError: naming the latest incidents, when none has this id.
    """
    found = replay_range(store, config, None, None).incidents
    match = next((i for i in found if i.id == incident_id), None)
    if match is None:
        known = ", ".join(i.id for i in found[-LATEST_KNOWN:]) or "none"
        raise UnknownIncidentError(
            f"no incident {incident_id!r}; the latest are: {known} (see `loglens incidents`)"
        )
    return explain_incident(store, match, named_templates(store, match.anomalies), context)


def render_explanation(found: dict[str, Any]) -> str:
    """The explanation as text for a terminal."""
    cause = found["root_cause"]
    out = [
        f"{found['id']}  {found['severity']}  {found['start']} → {found['end']}  "
        f"(detected {found['detected_at']})",
        f"services, in order of onset: {', '.join(found['services'])}",
        "",
        f"Likely root cause: {cause['service']} (confidence {cause['confidence']:.2f})",
    ]
    if cause["template"]:
        out.append(f"  first sign: {cause['first_event_ts']}  {cause['template']}")
    out += ["", "Candidates (score: onset, new problem shapes, first to error, strength):"]
    for c in found["candidates"]:
        e = c["evidence"]
        out.append(
            f"  {c['score']:.3f}  {c['service']:<16} onset {c['onset']}  "
            f"({e['onset']:.2f}, {e['new_shapes']:.0f}, {e['error_first']:.0f}, {e['strength']:.2f})"
        )
    out += ["", "Timeline:"]
    for a in found["anomalies"][:MAX_TIMELINE]:
        out.append(f"  {a['start']}  {a['severity']:<8} {a['service']:<14} {a['kind']:<16} {a['detail']}")
    if len(found["anomalies"]) > MAX_TIMELINE:
        out.append(f"  … {len(found['anomalies']) - MAX_TIMELINE} more (all of them with --json)")
    if found["evidence"]:
        out += ["", "Evidence lines:"]
        out += [
            f"  {r['ts']}  {r['service']:<14} {r['level']:<8} {r['message'][:140]}" for r in found["evidence"]
        ]
    ctx = found["context"]
    if ctx.get("anchor"):
        out += ["", f"Context around the first sign ({ctx['anchor']['service']}):"]
        out += [f"    {r['ts']}  {r['level']:<8} {r['message'][:140]}" for r in ctx["before"]]
        out.append(f"  > {ctx['anchor']['ts']}  {ctx['anchor']['level']:<8} {ctx['anchor']['message'][:140]}")
        out += [f"    {r['ts']}  {r['level']:<8} {r['message'][:140]}" for r in ctx["after"]]
    return "\n".join(out) + "\n"
