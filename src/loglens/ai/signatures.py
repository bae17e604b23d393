"""Known failure signatures: the shipped library (signatures.toml) and learned ones, checked on load,
and matched against an incident's lines and anomalies by one pure function (no store, no clock).

How a match is scored (0..1, stated so it can be checked; docs/explain.md tells it for users): a
signature matches when at least `min_matches` lines match its patterns (lines sharing one `key`
value, when it has a key), or, for a signature with no patterns, when the incident has anomalies of
its `kinds` (all of them with `all_kinds`; with `without_errors`, in a service that logged no
error meanwhile). Its score is `weight` × the weighted sum of
- volume 0.25: matching lines over 3 × `min_matches`, capped at 1;
- breadth 0.10: distinct patterns (or kinds) hit, over 2 (or over how many it has, if fewer);
- anomalous 0.20: 1 when a matching line belongs to a template the detectors flagged, or falls in
  a minute where its service was flagged as a whole (a volume spike, an error rate), else 0 (0.5
  when no anomalies are given): the same words in background noise say little;
- root 0.20: 1 when it matches the root cause's first sign, 0.6 when it matches elsewhere in the
  root-cause service, 0 when only in other services (0.5 when no root cause is given);
- service 0.10: 1 when a matching line's service fits the signature's `services`, else 0.5;
- onset 0.05: exp(−lag / 120 s), lag from the incident's start to the first matching line;
- kinds 0.10: 1 when the incident has anomalies of the signature's `kinds`, 0 when it names kinds
  and none is there, 0.5 when it names none.
Matches are ranked by score; on equal scores (to 4 decimals) the signature listed first wins, which
is why learned signatures are listed before the built-in ones.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from loglens.config_tables import table_entries
from loglens.errors import ConfigError
from loglens.formats.timestamp import to_iso_ms
from loglens.record import Level

CATEGORIES = ("resource", "network", "database", "security", "system", "build", "application", "volume")
ANOMALY_KINDS = (
    "new_template",
    "template_burst",
    "template_silence",
    "template_mix",
    "volume_spike",
    "volume_dip",
    "service_silent",
    "error_rate",
    "field_drift",
)
"""The anomaly kinds the detectors report (analysis/detectors.py, docs/analysis.md)."""
SOURCES = ("builtin", "learned")
LEVEL_NAMES = ("trace", "debug", "info", "notice", "warning", "error", "critical", "fatal")
SIGNATURE_KEYS = (
    "id",
    "name",
    "category",
    "summary",
    "patterns",
    "services",
    "min_matches",
    "levels",
    "kinds",
    "without_errors",
    "all_kinds",
    "key",
    "headline",
    "fix",
    "notes",
    "weight",
)
LEARNED_KEYS = (*SIGNATURE_KEYS, "learned_from", "created_by", "examples")
"""A learned signature's document body: the TOML keys plus where it came from."""
HEADLINE_FIELDS = frozenset({"count", "key", "service", "level", "text"})
"""Fields every headline may use besides its patterns' named groups (see `SignatureMatch.reading`)."""

MAX_TEXT = 2000
"""Characters of a line that patterns see: a 1 MB stack trace must not make matching slow."""
ONSET_SCALE_NS = 120 * 10**9
PART_WEIGHTS = {
    "volume": 0.25,
    "breadth": 0.10,
    "anomalous": 0.20,
    "root": 0.20,
    "service": 0.10,
    "onset": 0.05,
    "kinds": 0.10,
}
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_BUILTIN = "signatures.toml"


class SignatureError(ConfigError):
    """A signature (in signatures.toml, a file of your own, or a learned one) cannot be used."""


@dataclass(frozen=True, slots=True)
class Signature:
    """One known failure: how to recognise it in logs and what to do about it.

    `patterns` and `services` are compiled case-insensitive; `any_pattern` joins the patterns into
    one expression so that a line matching none of them costs one search, not one per pattern.
    `source` is "builtin" (signatures.toml) or "learned" (from an incident: `learned_from`).
    """

    id: str
    name: str
    category: str
    summary: str
    patterns: tuple[re.Pattern[str], ...]
    fix: tuple[str, ...]
    services: tuple[re.Pattern[str], ...] = ()
    min_matches: int = 1
    levels: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ()
    without_errors: bool = False
    all_kinds: bool = False
    key: re.Pattern[str] | None = None
    headline: str | None = None
    notes: str = ""
    weight: float = 1.0
    source: str = "builtin"
    learned_from: str | None = None
    created_by: str | None = None
    examples: tuple[str, ...] = ()
    any_pattern: re.Pattern[str] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "any_pattern", _joined(self.patterns))


def _joined(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str] | None:
    """The patterns as one alternation (named groups made plain so that names may repeat), or None
    when they cannot be joined (a back-reference) and are searched one by one."""
    if len(patterns) < 2:
        return patterns[0] if patterns else None
    joined = "|".join(f"(?:{_NAMED_GROUP.sub('(?:', p.pattern)})" for p in patterns)
    try:
        return re.compile(joined, re.IGNORECASE)
    except re.error:
        return None


# -- loading and checking ---------------------------------------------------------------------------


def _text(entry: Mapping[str, Any], key: str, here: str, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise SignatureError(f"{here}: `{key}` must be a non-empty string")
    return value.strip()


def _texts(entry: Mapping[str, Any], key: str, here: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SignatureError(f"{here}: `{key}` must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _regex(text: str, here: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise SignatureError(
            f"{here}: `{key}` has a regular expression that does not compile: {text!r} ({exc})"
        ) from exc


def _number(entry: Mapping[str, Any], key: str, here: str, default: float, low: float, high: float) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SignatureError(f"{here}: `{key}` must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def parse_signature(entry: Mapping[str, Any], here: str, source: str = "builtin") -> Signature:
    """One `[[signature]]` table (or a learned signature's document body), checked: a kebab-case id,
    a known category, compilable patterns (or anomaly kinds when it has none), a non-empty fix, and
    a headline that only uses fields it will have.

    Raises:
        SignatureError: naming the entry and what to change.
    """
    allowed = LEARNED_KEYS if source == "learned" else SIGNATURE_KEYS
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise SignatureError(f"{here} has unknown keys {unknown}; known: {', '.join(allowed)}")
    sig_id = _text(entry, "id", here)
    if not _ID.match(sig_id):
        raise SignatureError(f"{here}: id {sig_id!r} must be kebab-case (lower-case words joined by '-')")
    here = f"{here} ({sig_id})"
    category = _text(entry, "category", here)
    if category not in CATEGORIES:
        raise SignatureError(f"{here}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    patterns = tuple(_regex(p, here, "patterns") for p in _texts(entry, "patterns", here))
    kinds = _texts(entry, "kinds", here)
    bad_kinds = [k for k in kinds if k not in ANOMALY_KINDS]
    if bad_kinds:
        raise SignatureError(f"{here}: unknown anomaly kinds {bad_kinds}; known: {', '.join(ANOMALY_KINDS)}")
    if not patterns and not kinds:
        raise SignatureError(
            f"{here}: give `patterns`, or `kinds` for a signature recognised by anomalies alone"
        )
    fix = _texts(entry, "fix", here)
    if not fix:
        raise SignatureError(f"{here}: `fix` must list at least one step an on-call engineer can take")
    levels = _texts(entry, "levels", here)
    bad_levels = [v for v in levels if v not in LEVEL_NAMES]
    if bad_levels:
        raise SignatureError(f"{here}: unknown levels {bad_levels}; known: {', '.join(LEVEL_NAMES)}")
    key_text = entry.get("key")
    key = None
    if key_text is not None:
        key = _regex(_text(entry, "key", here), here, "key")
        if key.groups < 1:
            raise SignatureError(f"{here}: `key` needs a (group) around the part the lines must share")
    without_errors, all_kinds = entry.get("without_errors", False), entry.get("all_kinds", False)
    if not isinstance(without_errors, bool) or not isinstance(all_kinds, bool):
        raise SignatureError(f"{here}: `without_errors` and `all_kinds` must be true or false")
    headline = _text(entry, "headline", here, required=False) or None
    if headline is not None:
        _check_headline(headline, patterns, here)
    return Signature(
        id=sig_id,
        name=_text(entry, "name", here),
        category=category,
        summary=_text(entry, "summary", here),
        patterns=patterns,
        fix=fix,
        services=tuple(_regex(s, here, "services") for s in _texts(entry, "services", here)),
        min_matches=int(_number(entry, "min_matches", here, 1, 1, 10_000)),
        levels=frozenset(levels),
        kinds=kinds,
        without_errors=without_errors,
        all_kinds=all_kinds,
        key=key,
        headline=headline,
        notes=_text(entry, "notes", here, required=False),
        weight=_number(entry, "weight", here, 1.0, 0.0, 1.0),
        source=source,
        learned_from=_text(entry, "learned_from", here, required=False) or None,
        created_by=_text(entry, "created_by", here, required=False) or None,
        examples=_texts(entry, "examples", here),
    )


def _check_headline(headline: str, patterns: Sequence[re.Pattern[str]], here: str) -> None:
    named = set().union(*(p.groupindex for p in patterns)) if patterns else set()
    try:
        wanted = {name for _, name, _, _ in string.Formatter().parse(headline) if name is not None}
    except ValueError as exc:
        raise SignatureError(f"{here}: `headline` is not a valid format string: {exc}") from exc
    unknown = sorted(wanted - named - HEADLINE_FIELDS)
    if unknown:
        raise SignatureError(
            f"{here}: `headline` uses {unknown}, which are neither named groups of its patterns nor one of "
            f"{', '.join(sorted(HEADLINE_FIELDS))}"
        )


def parse_signatures(data: Mapping[str, Any], where: str, source: str = "builtin") -> tuple[Signature, ...]:
    """The `[[signature]]` array of a parsed TOML document, each checked, ids unique."""
    found: list[Signature] = []
    seen: dict[str, str] = {}
    for here, entry in table_entries(data.get("signature", []), where, "signature", LEARNED_KEYS):
        sig = parse_signature(entry, here, source)
        if sig.id in seen:
            raise SignatureError(f"{here}: id {sig.id!r} is already used by {seen[sig.id]}")
        seen[sig.id] = here
        found.append(sig)
    return tuple(found)


def load_signatures(path: Path) -> tuple[Signature, ...]:
    """A signature file of the same format as the shipped one (for a team's own library)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SignatureError(f"cannot read the signature file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SignatureError(f"{path} is not valid TOML: {exc}") from exc
    return parse_signatures(data, str(path))


@cache
def builtin_signatures() -> tuple[Signature, ...]:
    """The library shipped with loglens (signatures.toml beside this module), loaded once."""
    text = resources.files("loglens.ai").joinpath(_BUILTIN).read_text(encoding="utf-8")
    return parse_signatures(tomllib.loads(text), f"loglens/ai/{_BUILTIN}")


def signature_fields(sig: Signature) -> dict[str, Any]:
    """The signature as the fields of its TOML table (and of a learned signature's document body),
    defaults left out; `parse_signature` reads it back to an equal signature."""
    fields: dict[str, Any] = {
        "id": sig.id,
        "name": sig.name,
        "category": sig.category,
        "summary": sig.summary,
        "patterns": [p.pattern for p in sig.patterns],
        "fix": list(sig.fix),
        "weight": sig.weight,
    }
    optional: dict[str, Any] = {
        "services": [p.pattern for p in sig.services],
        "min_matches": sig.min_matches if sig.min_matches != 1 else None,
        "levels": sorted(sig.levels, key=LEVEL_NAMES.index),
        "kinds": list(sig.kinds),
        "without_errors": sig.without_errors or None,
        "all_kinds": sig.all_kinds or None,
        "key": sig.key.pattern if sig.key else None,
        "headline": sig.headline,
        "notes": sig.notes,
        "learned_from": sig.learned_from,
        "created_by": sig.created_by,
        "examples": list(sig.examples),
    }
    fields.update({k: v for k, v in optional.items() if v})
    return fields


# -- matching ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceText:
    """A text to match: a stored line (`record_id` set) or a template's text (`<*>` for each
    variable, `record_id` None). `ts` is ns; `level` is a level label ("" when unknown)."""

    text: str
    service: str = ""
    level: str = ""
    record_id: int | None = None
    template_id: str | None = None
    ts: int | None = None


@dataclass(frozen=True, slots=True)
class AnomalyHint:
    """What matching needs of one anomaly: its kind, service and template (with the template's level
    when known), when it began and ended (ns), and its detail for a reader."""

    kind: str
    service: str
    template_id: str | None = None
    level: str | None = None
    start_ns: int | None = None
    detail: str = ""
    end_ns: int | None = None

    @property
    def whole_service(self) -> bool:
        """About its service's minute as a whole (volume, errors, a field), not one template: the
        template it names is only the busiest one of that minute."""
        return self.kind not in ("new_template", "template_burst", "template_silence")

    @property
    def is_error(self) -> bool:
        """An error-rate anomaly, or one about a template at error level or worse."""
        return self.kind == "error_rate" or _at_least_error(self.level)


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What matching knows of the incident beyond its lines (every field optional: plain text
    matching gives none, and the parts of the score that need them read 0.5)."""

    anomalies: tuple[AnomalyHint, ...] = ()
    root_service: str | None = None
    root_template_id: str | None = None
    root_record_id: int | None = None
    start_ns: int | None = None


@dataclass(frozen=True, slots=True)
class SignatureHit:
    """One line a signature matched, the pattern that matched it (`kind:<kind>` for a line shown
    for an anomaly), the pattern's named groups, and where in the text it matched."""

    line: EvidenceText
    pattern: str
    groups: Mapping[str, str] = field(default_factory=dict)
    matched: str = ""
    """The physical line of the text the pattern matched in (a trace's `Caused by:` line, say)."""


@dataclass(frozen=True, slots=True)
class SignatureMatch:
    """A signature that fits the incident: its score (0..1) and the parts it is made of, the lines
    that matched (earliest first), the services they came from, the shared `key` value when the
    signature has a key, and why, in words."""

    signature: Signature
    score: float
    hits: tuple[SignatureHit, ...]
    why: tuple[str, ...]
    parts: Mapping[str, float]
    services: tuple[str, ...]
    count: int
    key: str | None = None

    @property
    def first_ts(self) -> int | None:
        """When its first matching line was logged, if known."""
        return next((h.line.ts for h in self.hits if h.line.ts is not None), None)

    def reading(self) -> str:
        """The signature's headline filled from the matched lines (named groups of its patterns, then
        count, key, service, level and text), or its summary when the lines lack a field."""
        sig = self.signature
        if sig.headline is None or not self.hits:
            return sig.summary
        first = self.hits[0].line
        fields: dict[str, str] = {
            "count": str(self.count),
            "key": self.key or "",
            "service": first.service,
            "level": first.level or "low-level",
            "text": first.text.split("\n", 1)[0][:100],
        }
        for hit in sorted(self.hits, key=lambda h: h.line.record_id is None):
            for name, value in hit.groups.items():
                if value and value != "<*>":
                    fields.setdefault(name, value)
        try:
            return sig.headline.format_map(fields)
        except (KeyError, IndexError):
            return sig.summary


def match_signatures(
    signatures: Sequence[Signature], lines: Sequence[EvidenceText], facts: IncidentFacts | None = None
) -> list[SignatureMatch]:
    """The signatures that fit these lines and the incident's facts, best first (the score and the
    tie rule are in the module docstring). Pure: the same arguments give the same answer."""
    facts = facts or IncidentFacts()
    clipped = [(line, line.text[:MAX_TEXT]) for line in _unique(lines)]
    flagged = _Flagged(
        {a.template_id for a in facts.anomalies if a.template_id and not a.whole_service},
        [
            (a.service, a.start_ns, a.end_ns)
            for a in facts.anomalies
            if a.whole_service and a.start_ns is not None and a.end_ns is not None
        ],
    )
    found: list[tuple[int, SignatureMatch]] = []
    for index, sig in enumerate(signatures):
        match = _match_one(sig, clipped, facts, flagged)
        if match is not None:
            found.append((index, match))
    found.sort(key=lambda item: (-round(item[1].score, 4), item[0]))
    return [match for _, match in found]


def _unique(lines: Iterable[EvidenceText]) -> list[EvidenceText]:
    seen: set[object] = set()
    out: list[EvidenceText] = []
    for line in lines:
        mark = ("r", line.record_id) if line.record_id is not None else ("t", line.template_id, line.text)
        if mark not in seen:
            seen.add(mark)
            out.append(line)
    return out


def _text_hits(sig: Signature, clipped: Sequence[tuple[EvidenceText, str]]) -> list[SignatureHit]:
    hits: list[SignatureHit] = []
    if not sig.patterns:
        return hits
    for line, text in clipped:
        if sig.levels and line.level and line.level not in sig.levels:
            continue
        if sig.any_pattern is not None and sig.any_pattern.search(text) is None:
            continue
        for pattern in sig.patterns:
            found = pattern.search(text)
            if found is not None:
                groups = {k: v for k, v in found.groupdict().items() if v is not None}
                begins = text.rfind("\n", 0, found.start()) + 1
                ends = text.find("\n", found.end())
                matched = text[begins : ends if ends >= 0 else len(text)]
                hits.append(SignatureHit(line, pattern.pattern, groups, matched))
                break
    return hits


def _keyed(sig: Signature, hits: list[SignatureHit]) -> tuple[list[SignatureHit], str | None]:
    """The hits sharing the most common key value (ties: the value seen first)."""
    if sig.key is None:
        return hits, None
    values: list[str | None] = []
    for hit in hits:
        found = sig.key.search(hit.line.text)
        values.append(found.group(1) if found is not None else None)
    counts = Counter(v for v in values if v)
    if not counts:
        return [], None
    top = max(counts.values())
    key = next(v for v in values if v and counts[v] == top)
    return [h for h, v in zip(hits, values, strict=True) if v == key], key


def _counted(hits: Sequence[SignatureHit]) -> int:
    """Stored lines that matched, plus templates that matched with none of their lines among them."""
    lines = {h.line.record_id for h in hits if h.line.record_id is not None}
    templates_with_lines = {h.line.template_id for h in hits if h.line.record_id is not None}
    templates = {
        h.line.template_id or h.line.text
        for h in hits
        if h.line.record_id is None and h.line.template_id not in templates_with_lines
    }
    return len(lines) + len(templates)


@dataclass(frozen=True, slots=True)
class _Flagged:
    """What the detectors flagged: templates, and (service, start, end) of whole-service anomalies."""

    templates: set[str]
    windows: list[tuple[str, int, int]]

    def covers(self, line: EvidenceText) -> bool:
        if line.template_id in self.templates:
            return True
        ts = line.ts
        return ts is not None and any(s == line.service and a <= ts < b for s, a, b in self.windows)


def _kind_anomalies(
    sig: Signature, facts: IncidentFacts, clipped: Sequence[tuple[EvidenceText, str]]
) -> list[AnomalyHint]:
    """The incident's anomalies of the signature's kinds, at its levels; with `without_errors`, only
    in services that had no error anomaly and logged no error line meanwhile; with `all_kinds`, only
    in services that have every kind; for a signature without patterns, only its busiest service's."""
    found = [
        a
        for a in facts.anomalies
        if a.kind in sig.kinds and (not sig.levels or a.level is None or a.level in sig.levels)
    ]
    if sig.without_errors:
        erring = {a.service for a in facts.anomalies if a.is_error}
        erring |= {s for s in {a.service for a in found} if _logged_errors(s, found, clipped)}
        found = [a for a in found if a.service not in erring]
    if sig.all_kinds:
        kinds: dict[str, set[str]] = {}
        for a in found:
            kinds.setdefault(a.service, set()).add(a.kind)
        found = [a for a in found if kinds[a.service] >= set(sig.kinds)]
    if found and not sig.patterns:
        busiest = Counter(a.service for a in found).most_common(1)[0][0]
        found = [a for a in found if a.service == busiest]
    return found


def _logged_errors(
    service: str, anomalies: Sequence[AnomalyHint], clipped: Sequence[tuple[EvidenceText, str]]
) -> bool:
    """Whether the service logged a line at error level or worse while its anomalies lasted."""
    spans = [(a.start_ns, a.end_ns) for a in anomalies if a.service == service]
    starts = [s for s, _ in spans if s is not None]
    ends = [e for _, e in spans if e is not None]
    if not starts or not ends:
        return False
    first, last = min(starts), max(ends)
    return any(
        line.service == service
        and line.record_id is not None
        and line.ts is not None
        and first <= line.ts < last
        and _at_least_error(line.level)
        for line, _ in clipped
    )


def _at_least_error(level: str | None) -> bool:
    return level in LEVEL_NAMES and Level.from_label(level or "") >= Level.ERROR


def _kind_hits(
    anomalies: Sequence[AnomalyHint], clipped: Sequence[tuple[EvidenceText, str]]
) -> list[SignatureHit]:
    """A line to show for each template the anomalies are about (a stored line of it when there is
    one, else its text, else the anomaly's detail)."""
    hits: list[SignatureHit] = []
    shown: set[tuple[str, str | None]] = set()
    for a in anomalies:
        if (a.service, a.template_id) in shown:
            continue
        shown.add((a.service, a.template_id))
        same = [line for line, _ in clipped if a.template_id and line.template_id == a.template_id]
        same.sort(key=lambda line: (line.record_id is None, line.ts or 0))
        line = (
            same[0]
            if same
            else EvidenceText(a.detail or a.kind, a.service, a.level or "", None, a.template_id, a.start_ns)
        )
        hits.append(SignatureHit(line, f"kind:{a.kind}"))
    return hits


def _match_one(
    sig: Signature,
    clipped: Sequence[tuple[EvidenceText, str]],
    facts: IncidentFacts,
    flagged: _Flagged,
) -> SignatureMatch | None:
    kind_anomalies = _kind_anomalies(sig, facts, clipped) if sig.kinds else []
    key: str | None = None
    if sig.patterns:
        hits, key = _keyed(sig, _text_hits(sig, clipped))
        count = _counted(hits)
        breadth = len({h.pattern for h in hits}) / min(2, len(sig.patterns))
    else:
        hits = _kind_hits(kind_anomalies, clipped)
        count = len(kind_anomalies)
        breadth = len({a.kind for a in kind_anomalies}) / min(2, len(sig.kinds))
    if count < sig.min_matches or not hits:
        return None
    hits.sort(key=lambda h: (h.line.ts is None, h.line.ts or 0, h.line.record_id or 0))
    services = tuple(dict.fromkeys(h.line.service for h in hits if h.line.service))
    parts = {
        "volume": min(1.0, count / (3 * sig.min_matches)),
        "breadth": min(1.0, breadth),
        "anomalous": _anomalous_part(sig, hits, facts, flagged),
        "root": _root_part(hits, facts),
        "service": 1.0 if sig.services and _fits(sig.services, services) else 0.5,
        "onset": _onset_part(hits, facts),
        "kinds": (1.0 if kind_anomalies else 0.0) if sig.kinds else 0.5,
    }
    score = sig.weight * sum(PART_WEIGHTS[name] * value for name, value in parts.items())
    match = SignatureMatch(sig, round(score, 4), tuple(hits), (), parts, services, count, key)
    return replace(match, why=_why(match, facts, kind_anomalies))


def _fits(patterns: Sequence[re.Pattern[str]], services: Iterable[str]) -> bool:
    return any(p.search(s) for p in patterns for s in services)


def _anomalous_part(
    sig: Signature, hits: Sequence[SignatureHit], facts: IncidentFacts, flagged: _Flagged
) -> float:
    if not facts.anomalies:
        return 0.5
    if not sig.patterns:
        return 1.0
    return 1.0 if any(flagged.covers(h.line) for h in hits) else 0.0


def _is_root(hit: SignatureHit, facts: IncidentFacts) -> bool:
    line = hit.line
    return (facts.root_record_id is not None and line.record_id == facts.root_record_id) or (
        facts.root_template_id is not None and line.template_id == facts.root_template_id
    )


def _root_part(hits: Sequence[SignatureHit], facts: IncidentFacts) -> float:
    if facts.root_service is None:
        return 0.5
    if any(_is_root(h, facts) for h in hits):
        return 1.0
    return 0.6 if any(h.line.service == facts.root_service for h in hits) else 0.0


def _onset_part(hits: Sequence[SignatureHit], facts: IncidentFacts) -> float:
    first = next((h.line.ts for h in hits if h.line.ts is not None), None)
    if facts.start_ns is None or first is None:
        return 1.0
    return math.exp(-max(0, first - facts.start_ns) / ONSET_SCALE_NS)


def _why(
    match: SignatureMatch, facts: IncidentFacts, kind_anomalies: Sequence[AnomalyHint]
) -> tuple[str, ...]:
    sig, parts = match.signature, match.parts
    why: list[str] = []
    if sig.patterns:
        patterns = len({h.pattern for h in match.hits})
        lines = "line" if match.count == 1 else "lines"
        said = f"{match.count} matching {lines} ({patterns} of its {len(sig.patterns)} patterns)"
        if match.key:
            said += f", all from {match.key}"
        why.append(said)
    else:
        kinds = ", ".join(sorted({a.kind for a in kind_anomalies}))
        said = f"{match.count} anomalies of kind {kinds} in {match.services[0] if match.services else '?'}"
        if sig.without_errors:
            said += ", with no errors there"
        why.append(said)
    first = match.first_ts
    if first is not None:
        why.append(f"first at {to_iso_ms(first)}")
    if parts["root"] == 1.0:
        why.append("it matches the root cause's first sign")
    elif parts["root"] == 0.6:
        why.append(f"seen in the root-cause service {facts.root_service}")
    elif facts.root_service is not None:
        why.append(
            f"seen only in {', '.join(match.services)}, not in the root-cause service {facts.root_service}"
        )
    if sig.patterns and facts.anomalies:
        why.append(
            "in lines the detectors flagged"
            if parts["anomalous"] == 1.0
            else "only in lines the detectors did not flag (background)"
        )
    if parts["service"] == 1.0:
        why.append(f"in {', '.join(match.services)}, where this failure is expected")
    if sig.patterns and sig.kinds and parts["kinds"] == 1.0:
        why.append(f"with anomalies of kind {', '.join(sorted({a.kind for a in kind_anomalies}))}")
    return tuple(why)


def signature_json(signature: Signature) -> dict[str, Any]:
    """A signature as `loglens kb list --json` and `/api/kb/signatures` show it: its fields and
    where it comes from (builtin or learned)."""
    return signature_fields(signature) | {"source": signature.source}
