"""The offline explainer: an incident (as `analysis.explain.explain_incident` tells it) read against
the library of known failure signatures, told in plain words with the evidence and what to do.

A thin layer of I/O (`read_incident`: a bounded read of the incident's lines) around pure functions
that match, tell and render; no network, no model.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loglens.ai.signatures import (
    AnomalyHint,
    EvidenceText,
    IncidentFacts,
    Signature,
    SignatureHit,
    SignatureMatch,
    match_signatures,
)
from loglens.formats.timestamp import to_iso_ms
from loglens.record import Level
from loglens.store.base import Store, StoredRecord

MAX_LINES_READ = 2000
"""Lines read from the store per explanation, all queries together."""
PER_TEMPLATE = 25
"""Warning-or-worse lines read per (service, template): a flood of one error leaves room for the rest."""
LOOKBACK_NS = 120 * 10**9
"""Lines are read from this long before the incident's start: a cause may show before the detectors do."""
MAX_EVIDENCE = 10
OTHER_SIGNATURES = 3
UNEXPLAINED_DISCOUNT = 0.8
"""The ranker's confidence is scaled by this when no signature explains the incident."""
_LABELLED = re.compile(r"^\s+[A-Z][A-Za-z ]{0,20}: ")
"""An indented continuation line worth matching (PostgreSQL's `  Detail: …`); other indented lines
are stack frames and source lines."""
_LITERAL_RUN = re.compile(r"[^<>*'\\]+")
_PLACEHOLDER = re.compile(r"\b(SERVICE|START|PID|ADDRESS|UNIT)\b")


@dataclass(frozen=True, slots=True)
class IncidentReading:
    """What the explainer read of an incident: the texts to match, the facts matching uses, every
    stored line read by id, how many lines the services logged during it (total, warning or worse),
    and whether the bounded read left lines out."""

    lines: tuple[EvidenceText, ...]
    facts: IncidentFacts
    records: Mapping[int, StoredRecord]
    totals: tuple[int, int]
    capped: bool


def _ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def record_text(record: StoredRecord) -> str:
    """The text signatures see of a record: its message's first line, then the lines that follow
    it in the raw event (an exception's message, `Caused by:`, `Detail:`), without stack frames
    and source lines."""
    head = record.message.split("\n", 1)[0]
    rest = [
        line
        for line in record.raw.split("\n")[1:]
        if line.strip() and (not line[0].isspace() or _LABELLED.match(line))
    ]
    return "\n".join([head, *rest])[:2000]


# -- reading (the only I/O) -------------------------------------------------------------------------


def read_incident(store: Store, found: Mapping[str, Any]) -> IncidentReading:
    """The lines an explanation rests on, at most `MAX_LINES_READ`: the incident's evidence and each
    anomaly's evidence line by id; the warning-or-worse lines of its services from `LOOKBACK_NS`
    before its start to its end, oldest first, at most `PER_TEMPLATE` per template; and the texts
    of the templates its anomalies name."""
    start, end = _ns(found["start"]), _ns(found["end"])
    cause = found["root_cause"]
    ids = list(
        dict.fromkeys(
            i
            for i in (
                cause.get("first_event_id"),
                *(e["id"] for e in found.get("evidence", [])),
                *(a.get("evidence_id") for a in found["anomalies"]),
            )
            if i is not None
        )
    )[: MAX_LINES_READ // 4]
    records: dict[int, StoredRecord] = {}
    if ids:
        marks = ", ".join("?" for _ in ids)
        records.update((r.id, r) for r in store.search(f"id IN ({marks})", ids, None))
    services = list(found["services"])
    capped = False
    if services:
        in_window = (
            f"service IN ({', '.join('?' for _ in services)}) AND severity >= ? "
            "AND ts >= make_timestamp_ns(?) AND ts <= make_timestamp_ns(?)"
        )
        window: list[object] = [*services, int(Level.WARNING), start - LOOKBACK_NS, end]
        where = (
            f"{in_window} AND id IN (SELECT id FROM (SELECT id, row_number() OVER "
            f"(PARTITION BY service, template_id ORDER BY ts, id) AS nth FROM records WHERE {in_window}) "
            "WHERE nth <= ?)"
        )
        room = MAX_LINES_READ - len(records)
        sample = list(store.search(where, [*window, *window, PER_TEMPLATE], room, oldest=True))
        capped = len(sample) >= room
        records.update((r.id, r) for r in sample)
    facts = incident_facts(found, records)
    template_ids = {a.template_id for a in facts.anomalies if a.template_id}
    if cause.get("template_id"):
        template_ids.add(cause["template_id"])
    texts = store.template_texts(sorted(template_ids))
    totals = _totals(store, services, start, end)
    return IncidentReading(
        lines=_texts(records.values(), texts, facts),
        facts=facts,
        records=records,
        totals=totals,
        capped=capped,
    )


def _totals(store: Store, services: Sequence[str], start: int, end: int) -> tuple[int, int]:
    if not services:
        return 0, 0
    counts = store.counts(
        f"service IN ({', '.join('?' for _ in services)}) AND ts >= make_timestamp_ns(?) "
        "AND ts <= make_timestamp_ns(?)",
        [*services, start, end],
    )
    worse = sum(c.count for c in counts.levels if c.severity >= Level.WARNING)
    return counts.total, worse


# -- pure parts -------------------------------------------------------------------------------------


def incident_facts(found: Mapping[str, Any], records: Mapping[int, StoredRecord]) -> IncidentFacts:
    """The facts matching uses, from the explain dict; an anomaly's template level is the level of
    its evidence line when that line is of its template."""
    hints = []
    for a in found["anomalies"]:
        evidence = records.get(a.get("evidence_id") or -1)
        level = evidence.level if evidence is not None and evidence.template_id == a["template_id"] else None
        hints.append(
            AnomalyHint(
                a["kind"],
                a["service"],
                a["template_id"],
                level,
                _ns(a["start"]),
                a.get("detail", ""),
                _ns(a["end"]) if a.get("end") else None,
            )
        )
    cause = found["root_cause"]
    return IncidentFacts(
        anomalies=tuple(hints),
        root_service=cause.get("service"),
        root_template_id=cause.get("template_id"),
        root_record_id=cause.get("first_event_id"),
        start_ns=_ns(found["start"]),
    )


def _texts(
    records: Iterable[StoredRecord], templates: Mapping[str, str], facts: IncidentFacts
) -> tuple[EvidenceText, ...]:
    lines = [
        EvidenceText(record_text(r), r.service, r.level, r.id, r.template_id, r.ts)
        for r in sorted(records, key=lambda r: (r.ts, r.id))
    ]
    about: dict[str, AnomalyHint] = {}
    for a in facts.anomalies:
        if a.template_id:
            about.setdefault(a.template_id, a)
    for template_id, text in templates.items():
        hint = about.get(template_id)
        service = hint.service if hint else (facts.root_service or "")
        level = (hint.level if hint else None) or ""
        lines.append(EvidenceText(text, service, level, None, template_id, hint.start_ns if hint else None))
    return tuple(lines)


def explain_offline(
    store: Store, found: Mapping[str, Any], signatures: Sequence[Signature]
) -> dict[str, Any]:
    """The incident explained without a model: what happened, its root cause read through the best
    matching signature, the evidence lines, the fix, and a confidence.

    `found` is `explain_incident`'s dict; `signatures` usually `kb.all_signatures(store)` (learned
    first) or `builtin_signatures()`. Confidence, with c the root-cause ranker's confidence and s
    the top signature's score: c + (1 − c) · s · a, where a is 1 when the signature matched in the
    root-cause service and 0.5 when only elsewhere; c × 0.8 when no signature matched (a ranking
    nothing explains is less sure).
    """
    reading = read_incident(store, found)
    return explanation(found, reading, match_signatures(signatures, reading.lines, reading.facts))


def explanation(
    found: Mapping[str, Any], reading: IncidentReading, matches: Sequence[SignatureMatch]
) -> dict[str, Any]:
    """The explanation dict from what was read and matched (see `explain_offline`)."""
    top = matches[0] if matches else None
    cause = found["root_cause"]
    root = cause.get("service")
    in_root = top is not None and root in top.services
    ranker = float(cause.get("confidence") or 0.0)
    score = top.score if top else None
    return {
        "id": found["id"],
        "what_happened": what_happened(found, reading, top),
        "root_cause": {
            "service": root,
            "template_id": cause.get("template_id"),
            "template": cause.get("template"),
            "first_event_id": cause.get("first_event_id"),
            "first_event_ts": cause.get("first_event_ts"),
            "first_line": _first_line(found, reading),
            "reading": top.reading()
            if top and in_root
            else f"no known signature matched the lines of {root}",
        },
        "signature": _signature_json(top) if top else None,
        "other_signatures": [_signature_json(m, short=True) for m in matches[1 : 1 + OTHER_SIGNATURES]],
        "evidence": evidence(found, reading, matches),
        "fix": _fix(found, top),
        "confidence": combined_confidence(ranker, score, in_root),
        "confidence_from": {"root_cause": ranker, "signature": score},
        "notes": _notes(found, reading, top),
    }


def combined_confidence(ranker: float, signature: float | None, in_root: bool) -> float:
    """c + (1 − c) · s · a (a: 1 in the root-cause service, else 0.5), or 0.8 · c without a signature."""
    if signature is None:
        return round(ranker * UNEXPLAINED_DISCOUNT, 3)
    return round(ranker + (1 - ranker) * signature * (1.0 if in_root else 0.5), 3)


def _signature_json(match: SignatureMatch, short: bool = False) -> dict[str, Any]:
    sig = match.signature
    out: dict[str, Any] = {
        "id": sig.id,
        "name": sig.name,
        "category": sig.category,
        "score": match.score,
        "source": sig.source,
        "learned_from": sig.learned_from,
    }
    if not short:
        out |= {
            "summary": sig.summary,
            "reading": match.reading(),
            "matched_in": list(match.services),
            "why": list(match.why),
        }
    return out


def _hms(ns: int) -> str:
    return to_iso_ms(ns)[11:19]


def _span(ns: int) -> str:
    seconds = round(ns / 10**9)
    if seconds < 60:
        return f"{ns / 10**9:.1f} s" if ns < 10 * 10**9 else f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _quote(text: str, width: int = 110) -> str:
    line = text.split("\n", 1)[0].strip()
    return f"“{line if len(line) <= width else line[: width - 1] + '…'}”"


def _clause(text: str) -> str:
    """A sentence made a clause: no final stop, lower-case first letter unless it starts a name."""
    text = text.rstrip(". ")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _first_line(found: Mapping[str, Any], reading: IncidentReading) -> str | None:
    record = reading.records.get(found["root_cause"].get("first_event_id") or -1)
    return record.message.split("\n", 1)[0] if record else None


def _service_onsets(found: Mapping[str, Any], reading: IncidentReading) -> dict[str, tuple[int, str]]:
    """Per service, when it first showed an anomaly and that anomaly in words (its evidence line,
    else its detail), in order of onset. An anomaly of a whole minute starts on the minute: its
    evidence line, when there is one, tells the time better."""
    onsets: dict[str, tuple[int, str]] = {}
    for a in found["anomalies"]:
        record = reading.records.get(a.get("evidence_id") or -1)
        when = max(_ns(a["start"]), record.ts) if record else _ns(a["start"])
        if a["service"] not in onsets or when < onsets[a["service"]][0]:
            what = _quote(record.message) if record else f"{a['kind'].replace('_', ' ')}, {a['detail']}"
            onsets[a["service"]] = (when, what)
    return dict(sorted(onsets.items(), key=lambda item: item[1][0]))


def what_happened(found: Mapping[str, Any], reading: IncidentReading, top: SignatureMatch | None) -> str:
    """Two to four plain sentences: the span, the services in order and how much they logged; where
    it began and what the signature reads there; the other services; what matched elsewhere, or
    that nothing did."""
    start, end = _ns(found["start"]), _ns(found["end"])
    services = list(found["services"])
    total, worse = reading.totals
    order = services[0] if len(services) == 1 else ", then ".join(services)
    plural = "s" if len(services) != 1 else ""
    sentences = [
        f"On {to_iso_ms(start)[:10]} from {_hms(start)} to {_hms(end)} UTC ({_span(end - start)}), "
        f"{len(services)} service{plural} showed anomalies ({order}): {len(found['anomalies'])} anomalies, "
        f"{total:,} lines logged, {worse:,} of them warnings or worse."
    ]
    root = found["root_cause"].get("service")
    onsets = _service_onsets(found, reading)
    if root:
        sentences.append(_beginning(found, reading, top, onsets.get(root)))
    others = [f"{s} from {_hms(t)}: {what}" for s, (t, what) in onsets.items() if s != root][:3]
    if others:
        sentences.append("Also affected: " + "; ".join(others) + ".")
    if top is None:
        sentences.append("No known failure signature matched its lines, so the steps below are generic.")
    elif root not in top.services:
        sentences.append(
            f"In {', '.join(top.services)} the lines match “{top.signature.name}”: {_clause(top.reading())}."
        )
    return " ".join(sentences[:4])


def _beginning(
    found: Mapping[str, Any],
    reading: IncidentReading,
    top: SignatureMatch | None,
    onset: tuple[int, str] | None,
) -> str:
    """Where it began: the root-cause service, its first sign (the ranker's, or its first anomaly's
    when that came earlier), and what the top signature reads in it."""
    cause = found["root_cause"]
    root = cause["service"]
    first_ts = _ns(cause["first_event_ts"]) if cause.get("first_event_ts") else None
    line = _first_line(found, reading) or cause.get("template")
    sign = _quote(line) if line else None
    began = first_ts
    if onset is not None and (first_ts is None or onset[0] < first_ts - 10**9):
        began, sign = onset
    said = f"It began in {root} at {_hms(began if began is not None else _ns(found['start']))}"
    if sign:
        said += f" with {sign}"
    if top is not None and root in top.services:
        hit_ts = next(h.line.ts for h in top.hits if h.line.service == root)
        if hit_ts is not None and began is not None and hit_ts > began + 10**9:
            said += f"; from {_hms(hit_ts)} its lines match “{top.signature.name}”"
        else:
            said += f", which matches “{top.signature.name}”"
        said += f": {_clause(top.reading())}"
    return said + "."


def evidence(
    found: Mapping[str, Any], reading: IncidentReading, matches: Sequence[SignatureMatch]
) -> list[dict[str, Any]]:
    """At most `MAX_EVIDENCE` stored lines: the root cause's first; then the top signature's matches,
    one per template first, earliest first, leaving a line for each of the next signatures; then
    those; then the rest of the top signature's."""
    picked: dict[int, tuple[str | None, str | None, str]] = {}
    first = found["root_cause"].get("first_event_id")
    if first in reading.records:
        picked[first] = (None, None, "")
    others = matches[1 : 1 + OTHER_SIGNATURES]
    # (match, how many lines it may add): the top one first, leaving a line for each of the others
    rounds = [(m, 1) for m in others]
    if matches:
        rounds = [(matches[0], MAX_EVIDENCE - len(others) - len(picked)), *rounds, (matches[0], MAX_EVIDENCE)]
    for match, allowed in rounds:
        added = 0
        for hit in _varied(match):
            if added >= allowed or len(picked) >= MAX_EVIDENCE:
                break
            rid = hit.line.record_id
            if rid is not None and picked.get(rid, (None, None, ""))[0] is None:
                picked[rid] = (match.signature.id, hit.pattern, hit.matched)
                added += 1
    out = []
    for rid, (sig_id, pattern, matched) in picked.items():
        r = reading.records[rid]
        message = r.message.split("\n", 1)[0]
        out.append(
            {
                "id": r.id,
                "ts": to_iso_ms(r.ts),
                "service": r.service,
                "level": r.level,
                "message": message,
                "signature": sig_id,
                "pattern": pattern,
                "matched": matched if matched and matched != message else None,
            }
        )
    return sorted(out, key=lambda e: (e["id"] != first, e["ts"], e["id"]))


def _varied(match: SignatureMatch) -> list[SignatureHit]:
    """The match's stored lines: the first of each template, then the others, each earliest first."""
    hits = [h for h in match.hits if h.line.record_id is not None]
    firsts: dict[str | None, SignatureHit] = {}
    for hit in hits:
        firsts.setdefault(hit.line.template_id, hit)
    chosen = list(firsts.values())
    return chosen + [h for h in hits if h not in chosen]


def _fill(step: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(1)), step)


def _fix(found: Mapping[str, Any], top: SignatureMatch | None) -> list[str]:
    start = _ns(found["start"]) - 5 * 60 * 10**9
    since = to_iso_ms(start)[:19] + "Z"
    root = found["root_cause"].get("service")
    if top is None:
        return generic_fix(found)
    values = {"START": since}
    if root and not any(p.search(root) for p in top.signature.services):
        values["SERVICE"] = root
    if top.key:
        values["ADDRESS"] = top.key
    for hit in top.hits:
        for name in ("pid", "unit"):
            value = hit.groups.get(name)
            if value and value != "<*>":
                values.setdefault(name.upper(), value.strip())
    return [_fill(step, values) for step in top.signature.fix]


def generic_fix(found: Mapping[str, Any]) -> list[str]:
    """Steps for an incident no signature explains, from its root-cause service, the first sign's
    template and the services it spread to."""
    cause = found["root_cause"]
    root = cause.get("service") or (found["services"][0] if found["services"] else "SERVICE")
    since = to_iso_ms(_ns(found["start"]) - 5 * 60 * 10**9)[:19] + "Z"
    until = to_iso_ms(_ns(found["end"]))[:19] + "Z"
    local_since = since[:19].replace("T", " ")
    steps = [
        f"loglens logs -s {root} --level '>=warning' --since {since} --until {until}"
        f"   # what {root} said before and during it",
        f"loglens explain {found['id']} --context 20   # the lines around the first sign",
        f"systemctl status {root} && journalctl -u {root} --since '{local_since}'"
        f"   # if {root} runs under systemd",
        f"Check what changed in {root} shortly before {_hms(_ns(found['start']))} UTC: a deploy, a config or "
        "feature-flag change, a restart, a dependency upgrade.",
    ]
    literal = max(_LITERAL_RUN.findall(cause.get("template") or ""), key=len, default="").strip()
    if len(literal) >= 12:
        steps.insert(
            1,
            f"loglens logs -s {root} --grep '{_grep_text(literal)}' --since 7d --dedupe"
            "   # has the first sign happened before, and how often",
        )
    others = [s for s in found["services"] if s != root]
    if others:
        steps.append(
            f"Once {root} is healthy, check that {', '.join(others)} recover (they were affected after it)."
        )
    steps.append(
        f"loglens kb add {found['id']} --fix '…'"
        "   # once resolved, so that loglens recognises this failure next time"
    )
    return steps


def _grep_text(literal: str) -> str:
    """A literal as a `--grep` regex, its spaces left readable."""
    return re.escape(literal).replace("\\ ", " ")


def _notes(found: Mapping[str, Any], reading: IncidentReading, top: SignatureMatch | None) -> list[str]:
    notes: list[str] = []
    root = found["root_cause"].get("service")
    if top is not None:
        sig = top.signature
        if sig.source == "learned":
            by = f" by {sig.created_by}" if sig.created_by else ""
            notes.append(
                f"Signature learned from incident {sig.learned_from}{by}: its fix is your team's own."
            )
        if sig.notes:
            notes.append(sig.notes)
        if root and root not in top.services:
            notes.append(_elsewhere(top, root, _service_onsets(found, reading)))
        if any(_PLACEHOLDER.search(step) for step in _fix(found, top)):
            notes.append("UPPER-CASE words in the fix (SERVICE, PID, HOST, …) are placeholders to fill in.")
    if reading.capped:
        notes.append(
            f"Only the first {MAX_LINES_READ:,} lines were read ({PER_TEMPLATE} per template at most): "
            "a signature that shows late in a long incident may be missed."
        )
    return notes


def _elsewhere(top: SignatureMatch, root: str, onsets: Mapping[str, tuple[int, str]]) -> str:
    """The note for a signature that matched outside the root-cause service: when it showed there no
    later than the root-cause service began, that service may be the real origin."""
    where = ", ".join(top.services)
    first = top.first_ts
    root_onset = onsets[root][0] if root in onsets else None
    if first is not None and root_onset is not None and first <= root_onset + 10**9:
        return (
            f"{where} showed “{top.signature.name}” at {_hms(first)}, no later than {root} began "
            f"({_hms(root_onset)}): {where} may be the real origin, and {root} the first to suffer from it."
        )
    return (
        f"The signature matched in {where}, not in the root-cause service {root}: either {root} is a "
        "symptom here or the signature describes a consequence."
    )


# -- rendering --------------------------------------------------------------------------------------


def render_offline(explained: Mapping[str, Any], width: int = 100) -> str:
    """The explanation as text for a terminal: What happened, Likely root cause, Signature,
    Evidence, Suggested fix, Confidence (and Notes when there are any)."""
    wrap = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent="  ")
    cause = explained["root_cause"]
    out = [
        f"{explained['id']} — offline explanation",
        "",
        "What happened",
        *wrap.wrap(explained["what_happened"]),
    ]
    out += ["", "Likely root cause", f"  {cause['service'] or 'unknown'}"]
    if cause.get("first_event_ts"):
        out[-1] += (
            f" — first sign at {cause['first_event_ts']}: {cause.get('first_line') or cause.get('template')}"
        )
    out += wrap.wrap(cause["reading"])
    out += ["", "Signature"]
    sig = explained["signature"]
    if sig is None:
        out.append("  none of the known signatures matched")
    else:
        learned = f", learned from {sig['learned_from']}" if sig["learned_from"] else ""
        kind = f"{sig['category']}, {sig['source']}{learned}"
        out.append(f"  {sig['id']} — {sig['name']} ({kind}) score {sig['score']:.2f}")
        out += wrap.wrap("why: " + "; ".join(sig["why"]))
    if explained["other_signatures"]:
        out.append(
            "  also: " + ", ".join(f"{o['id']} {o['score']:.2f}" for o in explained["other_signatures"])
        )
    out += ["", "Evidence"]
    for e in explained["evidence"]:
        out.append(
            f"  {e['ts'][11:23]}  {e['service']:<12} {e['level']:<8} {e['message'][:110]}  [#{e['id']}]"
        )
        if e.get("matched"):
            out.append(f"{'':>40}↳ {e['matched'].strip()[:110]}")
    if not explained["evidence"]:
        out.append("  (no stored line)")
    out += ["", "Suggested fix"]
    out += [f"  {n}. {step}" for n, step in enumerate(explained["fix"], 1)]
    parts = explained["confidence_from"]
    signature = (
        f", signature {parts['signature']:.2f}" if parts["signature"] is not None else ", no signature"
    )
    out += [
        "",
        "Confidence",
        f"  {explained['confidence']:.2f} (root-cause ranking {parts['root_cause']:.2f}{signature})",
    ]
    if explained["notes"]:
        out += ["", "Notes"]
        for note in explained["notes"]:
            out += textwrap.wrap(note, width, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(out) + "\n"
