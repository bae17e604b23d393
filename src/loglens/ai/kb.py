"""The knowledge base: signatures learned from a team's own incidents, kept in the store as documents
of kind "signature" and matched before the built-in library, so that experience wins ties.

A learned signature reads like a shipped one (the document body holds the same fields as a
`[[signature]]` table, plus `learned_from`, `created_by` and `examples`); its patterns are the
incident's own templates turned into regular expressions (`template_regex`).
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping, Sequence
from typing import Any

from loglens.ai.signatures import (
    EvidenceText,
    Signature,
    SignatureError,
    builtin_signatures,
    match_signatures,
    parse_signature,
    signature_fields,
)
from loglens.errors import LoglensError
from loglens.record import Level
from loglens.store.base import Document, Store, StoredRecord
from loglens.store.tenant_view import is_tenant_document

DOCUMENT_KIND = "signature"
MAX_PATTERNS = 6
"""Patterns per learned signature: the root cause's template, then the incident's error templates."""
MIN_LITERAL = 12
"""Letters and digits a template must keep outside its `<*>` to become a pattern: shorter ones
(`Call Trace:`, `<*> <*>`) would match almost anything."""
MAX_LITERAL = 120
"""Literal characters a pattern keeps, cut at a `<*>`: the head of a long template is specific
enough, and its tail is where later versions of a message differ."""
MAX_EXAMPLES = 3
ANOMALOUS_TEMPLATE_KINDS = ("new_template", "template_burst")
"""Anomalies that are about their template itself (an error rate or a volume spike names the top
template of its minute, which may be an ordinary line)."""
_WILDCARD = "<*>"


class KnowledgeBaseError(LoglensError):
    """An incident cannot be learned from (no template specific enough), or a learned signature
    cannot be stored."""


def template_regex(template: str) -> str | None:
    """A template as a regular expression: literal runs escaped, whitespace runs as `\\s+`, each
    `<*>` as a lazy `.+?`, wildcards at either end dropped, a word boundary where the pattern starts
    or ends on a word character, and cut after about `MAX_LITERAL` literal characters; None when
    fewer than `MIN_LITERAL` letters or digits or fewer than two words are literal."""
    pieces = re.split(r"(<\*>)", template.strip())
    while pieces and pieces[0].strip() in ("", _WILDCARD):
        pieces.pop(0)
    while pieces and pieces[-1].strip() in ("", _WILDCARD):
        pieces.pop()
    kept: list[str] = []
    literal = 0
    for piece in pieces:
        if literal >= MAX_LITERAL and piece == _WILDCARD:
            break
        kept.append(piece)
        if piece != _WILDCARD:
            literal += len(piece)
    while kept and kept[-1] == _WILDCARD:
        kept.pop()
    if kept:
        kept[0] = kept[0].lstrip()
        kept[-1] = kept[-1].rstrip()
    text = "".join(p for p in kept if p != _WILDCARD)
    if sum(c.isalnum() for c in text) < MIN_LITERAL or len(re.findall(r"[A-Za-z]{2,}", text)) < 2:
        return None
    regex = "".join(".+?" if p == _WILDCARD else _literal(p) for p in kept)
    if kept[0][:1].isalnum() or kept[0][:1] == "_":
        regex = r"\b" + regex
    if kept[-1][-1:].isalnum() or kept[-1][-1:] == "_":
        regex += r"\b"
    return regex


def _literal(piece: str) -> str:
    words = piece.split()
    if not words:
        return r"\s+"
    body = r"\s+".join(re.escape(w) for w in words)
    lead = r"\s+" if piece[0].isspace() else ""
    trail = r"\s+" if piece[-1].isspace() else ""
    return lead + body + trail


def _records(store: Store, ids: Sequence[int]) -> dict[int, StoredRecord]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    return {r.id: r for r in store.search(f"id IN ({marks})", list(ids), None)}


def _is_error(level: str | None) -> bool:
    try:
        return level is not None and Level.from_label(level) >= Level.ERROR
    except KeyError:
        return False


def learned_templates(found: Mapping[str, Any], records: Mapping[int, StoredRecord]) -> list[str]:
    """The template ids a signature is learned from, in order: the root cause's, then those of the
    incident's new or bursting templates at error level or worse, earliest first."""
    chosen: list[str] = []
    root = found["root_cause"].get("template_id")
    if root:
        chosen.append(root)
    for a in sorted(found["anomalies"], key=lambda a: a["start"]):
        template = a.get("template_id")
        evidence = records.get(a.get("evidence_id") or -1)
        if (
            template
            and template not in chosen
            and a["kind"] in ANOMALOUS_TEMPLATE_KINDS
            and evidence is not None
            and evidence.template_id == template
            and _is_error(evidence.level)
        ):
            chosen.append(template)
    return chosen


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def learned_id(incident_id: str) -> str:
    """The id a signature learned from this incident gets (learning it again replaces it)."""
    return "learned-" + _slug(incident_id.removeprefix("inc-"))


def _category(texts: Sequence[str]) -> str:
    """The category of the built-in signature these texts read as best, else "application"."""
    matches = match_signatures(builtin_signatures(), [EvidenceText(t) for t in texts])
    return matches[0].signature.category if matches else "application"


def learn_signature(
    store: Store,
    found: Mapping[str, Any],
    fix: str,
    notes: str | None = None,
    name: str | None = None,
    created_by: str | None = None,
) -> Signature:
    """Turns an incident (its `explain_incident` dict) into a signature and stores it: patterns from
    the root cause's template and the incident's error templates, the root-cause service as its
    service, the kinds of that service's anomalies (but `new_template`) as hints, and `fix` (one
    step per line) as its fix. Learning the same incident again replaces the signature.

    Raises:
        KnowledgeBaseError: when the fix is empty or no template is specific enough.
    """
    steps = [line.strip() for line in fix.splitlines() if line.strip()]
    if not steps:
        raise KnowledgeBaseError(
            'give the fix that resolved the incident (--fix "…"): it is what the signature is for'
        )
    cause = found["root_cause"]
    root = cause.get("service")
    ids = [i for i in (cause.get("first_event_id"), *(a.get("evidence_id") for a in found["anomalies"])) if i]
    records = _records(store, list(dict.fromkeys(ids)))
    template_ids = learned_templates(found, records)
    texts = store.template_texts(template_ids)
    patterns: list[str] = []
    used: list[str] = []
    for template_id in template_ids:
        regex = template_regex(texts.get(template_id, ""))
        if regex is not None and regex not in patterns:
            patterns.append(regex)
            used.append(template_id)
        if len(patterns) >= MAX_PATTERNS:
            break
    if not patterns:
        raise KnowledgeBaseError(
            f"incident {found['id']} has no template specific enough to learn from (its root cause's "
            "first sign and its error lines are too short or all variable); add a signature to "
            "signatures.toml instead"
        )
    examples = _examples(records, used)
    template = texts.get(used[0], "")
    shown = template if len(template) <= 60 else template[:59] + "…"
    body: dict[str, Any] = {
        "id": learned_id(found["id"]),
        "name": name or f"{root}: {shown}",
        "category": _category([texts[t] for t in used] + examples),
        "summary": (
            f"The failure of incident {found['id']}: it began in {root} with “{shown}” "
            f"and reached {', '.join(found['services'])}."
        ),
        "patterns": patterns,
        "fix": steps,
        "weight": 1.0,
        "learned_from": found["id"],
        "created_by": created_by or _user(),
    }
    if root:
        body["services"] = [f"^{re.escape(root)}$"]
    # a template is new only once: the next time this failure comes, its shapes are known
    kinds = sorted({a["kind"] for a in found["anomalies"] if a["service"] == root} - {"new_template"})
    if kinds:
        body["kinds"] = kinds
    if notes and notes.strip():
        body["notes"] = notes.strip()
    if examples:
        body["examples"] = examples
    signature = parse_signature(body, f"signature learned from {found['id']}", "learned")
    store.put_document(Document(DOCUMENT_KIND, signature.id, signature_fields(signature), "active"))
    return signature


def _examples(records: Mapping[int, StoredRecord], template_ids: Sequence[str]) -> list[str]:
    examples: list[str] = []
    for template_id in template_ids:
        line = next((r.message for r in records.values() if r.template_id == template_id), None)
        if line is not None:
            examples.append(line.split("\n", 1)[0][:300])
        if len(examples) >= MAX_EXAMPLES:
            break
    return examples


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "loglens"


def learned_signatures(store: Store) -> tuple[Signature, ...]:
    """The signatures learned in this store, most recently learned first.

    Raises:
        SignatureError: for a stored signature that no longer checks (naming it, so that it can be
            forgotten with `loglens kb forget ID`).
    """
    learned: list[Signature] = []
    for doc in store.documents(DOCUMENT_KIND):
        if is_tenant_document(doc.id):
            continue  # a tenant's own: only its view reads it (store/tenant_view.py)
        try:
            learned.append(
                parse_signature({**doc.body, "id": doc.id}, f"learned signature {doc.id}", "learned")
            )
        except SignatureError as exc:
            raise SignatureError(f"{exc} (remove it with `loglens kb forget {doc.id}`)") from exc
    return tuple(learned)


def all_signatures(store: Store) -> tuple[Signature, ...]:
    """Learned signatures, then the built-in library: on equal scores the team's own wins."""
    return learned_signatures(store) + builtin_signatures()


def forget_signature(store: Store, signature_id: str) -> bool:
    """Removes a learned signature; False when none has this id (built-in ones live in
    signatures.toml and are changed there)."""
    return store.delete_document(DOCUMENT_KIND, signature_id)
