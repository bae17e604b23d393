"""Prompts for the optional LLM, built from what loglens found offline: redacted log lines tagged with
their record ids, trimmed to a token budget, and the JSON answer's schema spelled out.

Only what is written here leaves the machine: every line passes the redactor before it is measured,
and lines are dropped least important first until the prompt fits (`max_prompt_tokens`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from loglens.enrich.redact import MARKERS, Redactor
from loglens.errors import LoglensError

CHARS_PER_TOKEN = 4
"""The estimate used everywhere a count of tokens is needed before a tokenizer has seen the text."""
MAX_LINE_CHARS = 400
"""A log line, template or note is cut to this many characters (a stack trace must not eat the budget)."""
MAX_ANOMALIES = 15
"""Anomalies offered per incident, the strongest first (the rest add little the evidence does not show)."""
MAX_SERVICES = 12
"""Services named in an incident's header; more are summarised as a count."""
MAX_EXAMPLES = 3
"""Example lines offered per template."""


class PromptBudgetError(LoglensError):
    """Even the parts of a prompt that cannot be dropped do not fit `max_prompt_tokens`."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """What is sent to the LLM, and what its answer may refer to.

    Attributes:
        system, user: the two chat messages.
        evidence_ids: every record id the prompt shows (tagged `[id N]`), in the order shown.
        estimated_tokens: `estimate_tokens` of both messages, at most the budget it was built for.
        subjects: what the answer is about → the ids it may cite for it (an incident id; for a batch
            of templates, each template id).
        batch: the answer is `{"insights": [...]}`, one item per subject, rather than one object.
    """

    system: str
    user: str
    evidence_ids: tuple[int, ...]
    estimated_tokens: int
    subjects: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    batch: bool = False

    def messages(self) -> list[dict[str, str]]:
        """The chat messages of an OpenAI-compatible request."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def estimate_tokens(text: str) -> int:
    """Tokens `text` will take, roughly: one per four characters, rounded up (close for English and
    log text with common tokenizers, and cheap)."""
    return -(-len(text) // CHARS_PER_TOKEN)


_MARKER_NOTE = (
    f"Values shown as {', '.join(MARKERS)} were removed for privacy: they are placeholders, not values."
)

_ANSWER_FIELDS = (
    '"cause": "<one or two sentences: the most likely root cause>", '
    '"evidence_ids": [<the ids, from the [id N] tags, of the log lines that show it>], '
    '"fix": "<what an operator should do about it, concretely>", '
    '"confidence": <a number from 0 to 1>'
)

INCIDENT_SYSTEM = f"""You are a site-reliability engineer. loglens, a log analysis tool, detected an \
incident and gathered its evidence: anomalies, its offline ranking of likely causes, and log lines, each \
tagged [id N] with its record id.
Answer with one JSON object and nothing else:
{{{_ANSWER_FIELDS}}}
Rules: cite only ids that appear as [id N] in the evidence, at least one; do not invent ids, hosts or \
values. {_MARKER_NOTE} If the evidence is not enough to tell, say so in "cause" and give a low confidence."""

TEMPLATES_SYSTEM = f"""You are a site-reliability engineer. loglens, a log analysis tool, found new \
error message templates (<*> marks a variable part) and shows example lines of each, tagged [id N] \
with their record ids.
Answer with one JSON object and nothing else, holding one item per template:
{{"insights": [{{"template_id": "<the template's id>", {_ANSWER_FIELDS}}}]}}
Rules: cite only ids shown under that template (none when it shows none); do not invent ids, hosts \
or values. {_MARKER_NOTE} When a template alone does not tell the cause, say so and give a low \
confidence."""

QUESTION_SYSTEM = f"""You answer an operator's question about their logs, using only the facts \
loglens computed offline (given as JSON). Answer in plain English, in at most four sentences, without \
markdown. If the facts do not answer the question, say so. {_MARKER_NOTE}"""


@dataclass(frozen=True, slots=True)
class _Piece:
    """One line of a prompt: where it goes, where in that section, and how much it matters
    (`rank` None: always kept; otherwise lower ranks are kept first)."""

    section: int
    order: tuple[Any, ...]
    rank: tuple[float, ...] | None
    text: str
    record_id: int | None = None


def _cut(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """One line of at most `limit` characters, ending in "…" when it was cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _record_id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _log_line(line: Mapping[str, Any], redact: Callable[[str], str]) -> str:
    """`[id 87668] 2026-11-21T01:16:12.000Z sshd error: message` (redacted, then cut)."""
    head = " ".join(str(line[key]) for key in ("ts", "service", "level") if line.get(key))
    message = _cut(redact(str(line.get("message", ""))))
    return f"[id {line.get('id')}] {head}: {message}" if head else f"[id {line.get('id')}] {message}"


def _fit(pieces: Sequence[_Piece], room_chars: int) -> list[_Piece]:
    """The pieces that fit in `room_chars` (a newline each): all unranked ones, then ranked ones in
    rank order until one does not fit, so a less important line is never kept over a more important
    one (lines are cut to MAX_LINE_CHARS, so the room this can leave unused is small)."""
    fixed = [p for p in pieces if p.rank is None]
    used = sum(len(p.text) + 1 for p in fixed)
    if used > room_chars:
        raise PromptBudgetError(
            f"the prompt's fixed part takes {-(-used // CHARS_PER_TOKEN)} tokens, more than the "
            "room left by max_prompt_tokens: raise [llm] max_prompt_tokens"
        )
    kept = list(fixed)
    for piece in sorted((p for p in pieces if p.rank is not None), key=lambda p: p.rank or ()):
        if used + len(piece.text) + 1 > room_chars:
            break
        kept.append(piece)
        used += len(piece.text) + 1
    return kept


def _assemble(
    system: str,
    pieces: Sequence[_Piece],
    headers: Mapping[int, str],
    budget: int,
    subjects: Callable[[list[_Piece]], dict[str, tuple[int, ...]]],
    *,
    batch: bool,
) -> Prompt:
    """The prompt of the pieces that fit `budget` tokens with `system`, in section order; a section
    header (always counted against the budget) is written only when its section kept a line."""
    room = (budget - estimate_tokens(system)) * CHARS_PER_TOKEN - sum(len(h) + 1 for h in headers.values())
    kept = sorted(_fit(pieces, room), key=lambda p: (p.section, p.order))
    lines: list[str] = []
    section = None
    for piece in kept:
        if piece.section != section:
            section = piece.section
            if section in headers:
                lines.append(headers[section])
        lines.append(piece.text)
    user = "\n".join(lines)
    ids = tuple(p.record_id for p in kept if p.record_id is not None)
    return Prompt(
        system=system,
        user=user,
        evidence_ids=ids,
        estimated_tokens=estimate_tokens(system) + estimate_tokens(user),
        subjects=subjects(kept),
        batch=batch,
    )


def _number(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _incident_summary(found: Mapping[str, Any], redact: Callable[[str], str]) -> list[_Piece]:
    """The incident's header, its offline root cause and other suspects."""
    services = [str(s) for s in found.get("services") or []]
    named = ", ".join(services[:MAX_SERVICES]) + (
        f" and {len(services) - MAX_SERVICES} more" if len(services) > MAX_SERVICES else ""
    )
    header = (
        f"Incident {found.get('id')} from {found.get('start')} to {found.get('end')}, "
        f"severity {found.get('severity', 'unknown')}; services: {named or 'unknown'}."
    )
    pieces = [_Piece(0, (0,), None, _cut(redact(header), 2 * MAX_LINE_CHARS))]
    root = found.get("root_cause")
    if isinstance(root, Mapping) and root.get("service"):
        template = (
            f'; its first unusual line has the template "{root["template"]}"' if root.get("template") else ""
        )
        text = (
            f"loglens ranks {root['service']} as the most likely origin (confidence "
            f"{_number(root.get('confidence', '?'))}){template}, first at {root.get('first_event_ts')}."
        )
        pieces.append(_Piece(0, (1,), None, _cut(redact(text))))
    others = [
        f"{c.get('service')} (score {_number(c.get('score'))})"
        for c in found.get("candidates") or []
        if isinstance(c, Mapping)
        and not (isinstance(root, Mapping) and c.get("service") == root.get("service"))
    ]
    if others:
        pieces.append(_Piece(0, (3,), (3,), _cut(redact("Other suspects: " + ", ".join(others) + "."))))
    return pieces


def _offline_piece(offline: Mapping[str, Any] | None, redact: Callable[[str], str]) -> list[_Piece]:
    """loglens's offline explanation (a known failure signature), when there is one."""
    if not offline:
        return []
    signature = offline.get("signature")
    name = signature.get("name") if isinstance(signature, Mapping) else None
    fixes = offline.get("fix")
    fix = "; ".join(str(f) for f in fixes) if isinstance(fixes, list) else str(fixes or "")
    text = (
        f"Offline explanation{f' (known signature: {name})' if name else ''}, confidence "
        f"{_number(offline.get('confidence', '?'))}: {str(offline.get('what_happened', '')).rstrip('. ')}."
        + (f" Suggested fix: {fix}." if fix else "")
    )
    return [_Piece(0, (2,), (1,), _cut(redact(text), 2 * MAX_LINE_CHARS))]


def _anomaly_pieces(found: Mapping[str, Any], redact: Callable[[str], str]) -> list[_Piece]:
    """The strongest anomalies as one line each, shown in time order."""
    anomalies = [a for a in found.get("anomalies") or [] if isinstance(a, Mapping)]
    strongest = sorted(anomalies, key=lambda a: -float(a.get("score") or 0))[:MAX_ANOMALIES]
    return [
        _Piece(
            1,
            (str(a.get("start")), rank),
            (4, rank),
            _cut(redact(f"{a.get('start')} {a.get('service')} {a.get('kind')}: {a.get('detail', '')}")),
        )
        for rank, a in enumerate(strongest)
    ]


def _line_pieces(found: Mapping[str, Any], redact: Callable[[str], str]) -> tuple[list[_Piece], int | None]:
    """Evidence lines and the context around the first sign; the root cause's first line (or the
    context's anchor) is always kept, and context nearest the anchor goes before later evidence."""
    root = found.get("root_cause")
    given = found.get("context")
    context: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    anchor = context.get("anchor") if isinstance(context.get("anchor"), Mapping) else None
    must = _record_id(root.get("first_event_id")) if isinstance(root, Mapping) else None
    anchor_id = _record_id(anchor.get("id")) if anchor else None
    must_keep = {i for i in (must, anchor_id) if i is not None}
    pieces: list[_Piece] = []
    seen: set[int] = set()
    evidence = [e for e in found.get("evidence") or [] if isinstance(e, Mapping)]
    if anchor is not None and anchor_id is not None and all(e.get("id") != anchor_id for e in evidence):
        evidence.insert(0, anchor)
    for position, line in enumerate(evidence):
        record_id = _record_id(line.get("id"))
        if record_id is None or record_id in seen:
            continue
        seen.add(record_id)
        rank = None if record_id in must_keep else (2, position)
        pieces.append(_Piece(2, (str(line.get("ts")), record_id), rank, _log_line(line, redact), record_id))
    around = [
        (distance, line)
        for side in ("before", "after")
        for distance, line in enumerate(
            reversed(context.get(side) or []) if side == "before" else context.get(side) or [], 1
        )
        if isinstance(line, Mapping)
    ]
    for distance, line in around:
        record_id = _record_id(line.get("id"))
        if record_id is None or record_id in seen:
            continue
        seen.add(record_id)
        pieces.append(
            _Piece(
                3, (str(line.get("ts")), record_id), (2, distance - 0.5), _log_line(line, redact), record_id
            )
        )
    return pieces, anchor_id if anchor_id is not None else must


def incident_prompt(
    found: Mapping[str, Any], offline: Mapping[str, Any] | None, redactor: Redactor, budget: int
) -> Prompt:
    """The prompt asking why an incident happened.

    Args:
        found: loglens's explain dict of the incident (id, start, end, services, root_cause,
            candidates, anomalies, evidence, context), as `loglens explain --json` prints it.
        offline: the offline explanation (what_happened, signature, fix, confidence), or None.
        redactor: applied to every line before it is measured.
        budget: `max_prompt_tokens`; the prompt's `estimated_tokens` never exceeds it.

    Raises:
        PromptBudgetError: when the budget cannot hold even the instructions and the incident's
            header, root cause and first line.
    """
    redact = redactor.redact
    lines, anchor_id = _line_pieces(found, redact)
    pieces = [
        *_incident_summary(found, redact),
        *_offline_piece(offline, redact),
        *_anomaly_pieces(found, redact),
        *lines,
        _Piece(9, (0,), None, "Answer with the JSON object described, citing only the [id N] ids above."),
    ]
    headers = {
        1: "Anomalies (the strongest, in time order):",
        2: "Evidence lines:",
        3: f"Context around the first sign{f' [id {anchor_id}]' if anchor_id is not None else ''}:",
    }
    incident_id = str(found.get("id", ""))
    return _assemble(
        INCIDENT_SYSTEM,
        pieces,
        headers,
        budget,
        lambda kept: {incident_id: tuple(p.record_id for p in kept if p.record_id is not None)},
        batch=False,
    )


def _example(example: object) -> tuple[int | None, str]:
    """(record id, message) of a template example: a `{id, message}` dict or a bare message."""
    if isinstance(example, Mapping):
        return _record_id(example.get("id")), str(example.get("message", ""))
    return None, str(example)


def template_prompt(templates: Sequence[Mapping[str, Any]], redactor: Redactor, budget: int) -> Prompt:
    """The prompt asking what a batch of new error templates mean, one answer item per template.

    Args:
        templates: `{id, service, text, count, examples}` each; an example is `{id, message}` (its
            id may be cited) or a bare message. Earlier templates are kept first.
        redactor: applied to every line before it is measured.
        budget: `max_prompt_tokens`.

    Templates that do not fit (the first always does, cut if need be) are left out of the prompt:
    `Prompt.subjects` names those it holds, so a caller can send the others in a later batch.
    """
    redact = redactor.redact
    pieces: list[_Piece] = []
    for number, template in enumerate(templates):
        tid = str(template.get("id", ""))
        header = (
            f"Template {tid} (service {template.get('service', '?')}, {template.get('count', '?')} lines): "
            f"{_cut(redact(str(template.get('text', ''))))}"
        )
        pieces.append(_Piece(number, (0,), None if number == 0 else (0, number), header))
        for position, example in enumerate(list(template.get("examples") or [])[:MAX_EXAMPLES]):
            record_id, message = _example(example)
            tag = f"[id {record_id}]" if record_id is not None else "-"
            text = f"  {tag} {_cut(redact(message))}"
            rank = None if number == 0 and position == 0 else (0 if position == 0 else 1, number, position)
            pieces.append(_Piece(number, (1, position), rank, text, record_id))
    pieces.append(_Piece(len(templates), (0,), None, "Answer with one item per template shown above."))

    def subjects(kept: list[_Piece]) -> dict[str, tuple[int, ...]]:
        sections = {p.section for p in kept if p.order == (0,)}
        return {
            str(templates[n].get("id", "")): tuple(
                p.record_id for p in kept if p.section == n and p.record_id is not None
            )
            for n in sorted(sections)
            if n < len(templates)
        }

    return _assemble(TEMPLATES_SYSTEM, _whole_templates(pieces), {}, budget, subjects, batch=True)


def _whole_templates(pieces: list[_Piece]) -> list[_Piece]:
    """The pieces with each template's header and first example joined into one, so a template is
    offered whole or not at all (a header without an example explains nothing)."""
    joined: list[_Piece] = []
    for piece in pieces:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and piece.order == (1, 0)
            and previous.section == piece.section
            and previous.order == (0,)
        ):
            joined[-1] = _Piece(
                previous.section,
                previous.order,
                previous.rank,
                previous.text + "\n" + piece.text,
                piece.record_id,
            )
        else:
            joined.append(piece)
    return joined


def question_prompt(question: str, facts: Mapping[str, Any], redactor: Redactor, budget: int) -> Prompt:
    """The prompt asking a plain-English answer to `question` from offline `facts` (JSON), the facts
    redacted and cut to fit the budget."""
    asked = _cut(redactor.redact(question), 2 * MAX_LINE_CHARS)
    head = f"Question: {asked}\n\nFacts (JSON from loglens):\n"
    text = redactor.redact(orjson.dumps(facts, default=str).decode())
    room = (budget - estimate_tokens(QUESTION_SYSTEM)) * CHARS_PER_TOKEN - len(head)
    if room < 2 * MAX_LINE_CHARS:
        raise PromptBudgetError(
            "max_prompt_tokens leaves no room for the facts: raise [llm] max_prompt_tokens"
        )
    if len(text) > room:
        text = text[: room - len(" … (cut)")] + " … (cut)"
    user = head + text
    return Prompt(
        QUESTION_SYSTEM, user, (), estimate_tokens(QUESTION_SYSTEM) + estimate_tokens(user), {}, batch=False
    )
