"""`loglens ask`: a plain-English question about the logs, answered offline from the store.

The question is read by `loglens.query.nlq` into a query of the search language, run with the store's
own methods, and answered with figures; an optional narrator (an LLM) may only reword the answer.
"""

from __future__ import annotations

import importlib
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Protocol

from loglens.analysis.explain import evidence_line, explain_incident
from loglens.analysis.findings import named_templates
from loglens.analysis.incidents import Incident
from loglens.analysis.patterns import RECENT_SHARE, pattern_json, patterns
from loglens.analysis.report import anomaly_json, incident_json
from loglens.analysis.watch import Replay, replay
from loglens.formats.timestamp import to_iso_ms
from loglens.query.filters import record_filter
from loglens.query.language import CompiledQuery, compile_query
from loglens.query.nlq import (
    Question,
    SynonymMap,
    cli_time,
    on_newest_data,
    parse_question,
    wanted_fields,
)
from loglens.query.timerange import format_duration
from loglens.record import Level
from loglens.store.base import RecordCounts, Store, StoredRecord, TemplateCount

if TYPE_CHECKING:
    from datetime import tzinfo

    from loglens.config import Config

__all__ = [
    "BEFORE_WINDOW_NS",
    "Narrator",
    "answer_question",
    "newest_record_ts",
    "render_answer",
    "store_services",
    "stored_fields",
]

BEFORE_WINDOW_NS: Final = 5 * 60 * 10**9
""""What came before X" compares the templates of the 5 minutes before X's first line with the 5
minutes before those: what is in the first and not in the second is what changed."""

TOP_PATTERNS: Final = 8
CONTEXT_LINES: Final = 3
"""Lines of context around an incident's first sign in a "what caused" answer."""
OVERLAP_LOOKBACK_NS: Final = 3600 * 10**9
"""How far before the range incidents are looked for, so one that began earlier but ran into the
range is found (the detectors warm up before that on their own)."""
_ALL_TIME_NS: Final = 2**62
"""A bucket wider than any store's span: `Store.hits` then counts per key over everything."""
_QUOTE_WIDTH: Final = 90


class Narrator(Protocol):
    """Something that words an answer (an LLM): given the question and the offline facts, it
    returns text, or None to leave the offline answer alone."""

    def answer(self, question: str, facts: dict[str, Any]) -> str | None:
        """The answer in its own words, None when it has nothing better."""
        ...


# ----------------------------------------------------------------------------------- store facts


def store_services(store: Store) -> list[str]:
    """Every service name the store holds, sorted (what a question may name)."""
    return sorted({key for _, key, _ in store.hits("TRUE", [], _ALL_TIME_NS, "service") if key})


def newest_record_ts(store: Store) -> int | None:
    """The time of the newest stored record, None for an empty store."""
    newest = next(iter(store.search("TRUE", [], 1)), None)
    return None if newest is None else newest.ts


def stored_fields(store: Store, names: Iterable[str]) -> tuple[str, ...]:
    """Those of `names` that some stored record has as a parsed field."""
    found = []
    for name in names:
        has = compile_query(f"has:{name}")
        if next(iter(store.search(has.where, has.params, 1)), None) is not None:
            found.append(name)
    return tuple(found)


def _count(store: Store, where: CompiledQuery) -> int:
    return sum(n for _, _, n in store.hits(where.where, where.params, _ALL_TIME_NS, "level"))


def _iso(ns: int | None) -> str | None:
    return None if ns is None else to_iso_ms(ns)


def _filter(tz: tzinfo | None, query: str, since: int | None, until: int | None) -> CompiledQuery:
    """The records of `query` in [since, until), as `loglens logs --since … --until …` selects them."""
    return record_filter(tz, query, since=_iso(since), until=_iso(until))


def _quote(text: str) -> str:
    first = text.split("\n", 1)[0].strip()
    return f"'{first[:_QUOTE_WIDTH]}…'" if len(first) > _QUOTE_WIDTH else f"'{first}'"


def _clock(iso: str) -> str:
    """`2026-11-21T03:45:45.123Z` → `03:45:45` (the day is in the range the answer names)."""
    return iso[11:19]


# ----------------------------------------------------------------------------------- the command


def _command(question: Question, query: str, absolute: bool, since: int | None, until: int | None) -> str:
    """The `loglens logs` line that selects the same records; relative (`--since 1h`) when the
    question was asked about the real now and the range is one the CLI can say that way."""
    parts = ["loglens", "logs"]
    since_arg, until_arg = question.since_arg, question.until_arg
    if absolute or since != question.since or until != question.until:
        since_arg = None if since is None else cli_time(since)
        until_arg = None if until is None else cli_time(until)
    if since_arg:
        parts += ["--since", since_arg]
    if until_arg:
        parts += ["--until", until_arg]
    if query:
        parts.append(shlex.quote(query))
    return " ".join(parts)


# ------------------------------------------------------------------------------------- the run


@dataclass
class _Run:
    """One question being answered: what every part of the answer reads."""

    store: Store
    config: Config
    question: Question
    where: CompiledQuery
    counts: RecordCounts
    absolute: bool
    first: StoredRecord | None = None
    last: StoredRecord | None = None
    _replay: Replay | None = None

    @property
    def tz(self) -> tzinfo | None:
        return self.config.timezone

    @property
    def total(self) -> int:
        return self.counts.total

    def per_service(self) -> list[tuple[str, int]]:
        """(service, matching lines), most first."""
        totals: dict[str, int] = {}
        for level in self.counts.levels:
            totals[level.service] = totals.get(level.service, 0) + level.count
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    def per_level(self) -> list[tuple[str, int]]:
        """(level, matching lines), most severe first."""
        totals: dict[str, tuple[int, int]] = {}
        for level in self.counts.levels:
            severity, count = totals.get(level.level, (level.severity, 0))
            totals[level.level] = (severity, count + level.count)
        return [(name, count) for name, (_, count) in sorted(totals.items(), key=lambda kv: -kv[1][0])]

    def matched_templates(self) -> dict[str, int]:
        """Template id → matching lines."""
        found: dict[str, int] = {}
        for t in self.counts.templates:
            found[t.template_id] = found.get(t.template_id, 0) + t.count
        return found

    def found(self) -> Replay:
        """The detectors' findings from a little before the range to its end (run once)."""
        if self._replay is None:
            q = self.question
            since = None if q.since is None else q.since - OVERLAP_LOOKBACK_NS
            self._replay = replay(self.store, since, q.until, self.config.analysis)
        return self._replay

    def in_range(self, start: int, end: int) -> bool:
        """Whether [start, end] overlaps the question's range."""
        q = self.question
        return (q.until is None or start < q.until) and (q.since is None or end >= q.since)


def answer_question(
    store: Store,
    config: Config,
    text: str,
    now_ns: int | None = None,
    narrator: Narrator | None = None,
    limit: int = 20,
    synonyms: SynonymMap | None = None,
) -> dict[str, Any]:
    """A plain-English question about the stored logs, answered offline.

    The answer names figures (how many lines, from which services, when, the first line) and the
    query that found them, so it can be checked with `loglens logs`; see docs/ask.md for the keys.
    `now_ns` is what "now" means (default: the clock). A question naming no time gets its intent's
    default range; when the store holds nothing that recent, that range is moved back to end at
    the newest stored record (and the answer says so). `narrator`, when given and it answers, adds
    `narrative`; the offline answer stays. `synonyms`: the vocabulary (default: the shipped map;
    a team's own with `load_synonyms(path, extends=default_synonyms())`).
    """
    real_now = time.time_ns()
    now = real_now if now_ns is None else now_ns
    # A `now` away from the clock (a replayed or tested moment) is written out in the command, and
    # ends "the last hour" there rather than at the newest record.
    absolute = abs(now - real_now) > 60 * 10**9
    question = _understood(store, config, text, now, absolute, synonyms)
    query = question.query_string()
    where = _filter(config.timezone, query, question.since, question.until)
    run = _Run(store, config, question, where, store.counts(where.where, where.params), absolute)
    if run.total:
        run.first = next(iter(store.search(where.where, where.params, 1, oldest=True)), None)
        run.last = next(iter(store.search(where.where, where.params, 1)), None)
    result: dict[str, Any] = {
        "question": question.to_json(),
        "understood": question.explain(),
        "query": query,
        "command": _command(question, query, run.absolute, question.since, question.until),
        "since": _iso(question.since),
        "until": _iso(question.until),
        "intent": question.intent,
        "matched": run.total,
        "records": _records(run, limit),
        "patterns": _patterns(run),
        "incidents": [_incident_brief(i, t) for i, t in _relevant_incidents(run)],
    }
    _with_template_texts(run, result)
    sentences = _INTENT_ANSWERS[question.intent](run, result)
    if not run.total and question.intent != "summary":
        sentences += _nothing_found(run, result)
    result["answer"] = " ".join(sentences)
    if narrator is not None:
        _narrate(narrator, question.text, result)
    return result


def _understood(
    store: Store, config: Config, text: str, now: int, absolute: bool, synonyms: SynonymMap | None
) -> Question:
    """The question read against what the store holds: its services, the status field if the
    question needs one, and its newest record (for a default range on old data)."""
    fields = stored_fields(store, wanted_fields(text))
    question = parse_question(text, store_services(store), now, fields, tz=config.timezone, synonyms=synonyms)
    question = on_newest_data(question, newest_record_ts(store))
    if absolute and question.until is None:
        question = replace(question, until=question.now, until_arg=cli_time(question.now))
    return question


def _narrate(narrator: Narrator, text: str, result: dict[str, Any]) -> None:
    facts = {k: v for k, v in result.items() if k != "narrative"}
    try:
        worded = narrator.answer(text, facts)
    # A narrator is an LLM behind a network or a process: whatever goes wrong there must not cost
    # the user the offline answer, which is already complete.
    except Exception as exc:
        result["narrative_error"] = f"{type(exc).__name__}: {exc}"
        return
    if worded and worded.strip():
        result["narrative"] = worded.strip()


# --------------------------------------------------------------------------------------- parts


def _records(run: _Run, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` matching lines, oldest first (as `loglens logs` prints them); none for a
    summary of everything, where the latest lines of all services say nothing."""
    if not run.total or (run.question.intent == "summary" and not run.question.query_string()):
        return []
    return [evidence_line(r) for r in run.store.search(run.where.where, run.where.params, limit)]


def _patterns(run: _Run) -> list[dict[str, Any]]:
    if not run.total:
        return []
    stats = run.store.pattern_stats(run.where.where, run.where.params, RECENT_SHARE)
    return [pattern_json(p) for p in patterns(stats)[:TOP_PATTERNS]]


def _relevant_incidents(run: _Run) -> list[tuple[Incident, int]]:
    """The incidents overlapping the range that concern the question, with how many of the
    matching lines come from templates the incident's anomalies name (their weight, for "cause").

    With no filter at all every incident counts; otherwise one counts when an anomaly of it is
    about a template of the matching lines, is of a service asked about, or is of a kind a topic
    names (a log storm).
    """
    q = run.question
    found = [i for i in run.found().incidents if run.in_range(i.start_ns, i.end_ns)]
    unfiltered = not (q.services or q.topics or q.min_level or q.status)
    matched = run.matched_templates()
    kinds = q.anomaly_kinds
    chosen = []
    for incident in found:
        templates = {a.template_id for a in incident.anomalies if a.template_id}
        weight = sum(matched.get(t, 0) for t in templates)
        asked_service = bool(q.services) and bool(set(q.services) & set(incident.services))
        asked_kind = bool(kinds) and any(a.kind in kinds for a in incident.anomalies)
        if unfiltered or weight or asked_service or asked_kind:
            chosen.append((incident, weight))
    return chosen


def _incident_brief(incident: Incident, weight: int) -> dict[str, Any]:
    found = incident_json(incident, {})
    cause = found["root_cause"]
    return {
        "id": found["id"],
        "severity": found["severity"],
        "start": found["start"],
        "end": found["end"],
        "services": found["services"],
        "root_cause": {
            "service": cause["service"],
            "template_id": cause["template_id"],
            "first_event_ts": cause["first_event_ts"],
            "confidence": cause["confidence"],
        },
        "matching_lines": weight,
    }


def _with_template_texts(run: _Run, result: dict[str, Any]) -> None:
    """Fill in the root-cause template text of the listed incidents (one lookup for all)."""
    ids = [i["root_cause"]["template_id"] for i in result["incidents"] if i["root_cause"]["template_id"]]
    texts = run.store.template_texts(ids)
    for item in result["incidents"]:
        item["root_cause"]["template"] = texts.get(item["root_cause"]["template_id"] or "")


# ------------------------------------------------------------------------------------- wording

_LEVEL_WORDS: Final = {"error": "error", "critical": "critical", "fatal": "fatal"}


def _lines_word(question: Question, count: int | None = None) -> str:
    """`error lines about memory` / `warning-or-worse lines from billing`."""
    noun = "line" if count == 1 else "lines"
    level = question.min_level
    adjective = "" if level is None else _LEVEL_WORDS.get(level, f"{level}-or-worse") + " "
    words = f"{adjective}{noun}"
    topics = [t.name for t in question.topics]
    if topics:
        words += " about " + " and ".join(topics)
    if question.status:
        words += " with " + " ".join(question.status)
    if question.services:
        words += " from " + _and(question.services)
    if question.excluded_services:
        words += " not from " + _and(question.excluded_services)
    if question.excluded_topics:
        words += " not about " + " or ".join(t.name for t in question.excluded_topics)
    return words


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _subject(question: Question) -> str:
    """` about auth from sshd`: what the question was about, '' for anything."""
    words = ""
    if question.topics:
        words += " about " + " and ".join(t.name for t in question.topics)
    if question.services:
        words += " in " + _and(question.services)
    return words


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _figures(pairs: Sequence[tuple[str, int]], most: int = 4) -> str:
    shown = [f"{name} ({count:,})" for name, count in pairs[:most]]
    if len(pairs) > most:
        shown.append(f"{len(pairs) - most} more")
    return _and(shown)


def _selection(run: _Run) -> str:
    """`37 error lines about memory in the last hour, from worker (31) and kernel (6)`."""
    q = run.question
    services = run.per_service()
    source = (
        f", from {_figures(services)}" if services and not (len(q.services) == len(services) == 1) else ""
    )
    return f"{run.total:,} {_lines_word(q, run.total)} {q.time_label}{source}"


def _first_last(run: _Run) -> str:
    if run.first is None or run.last is None:
        return ""
    first = f"first {_clock(to_iso_ms(run.first.ts))} {run.first.service} {_quote(run.first.message)}"
    if run.first.id == run.last.id:
        return first
    return f"{first}, last {_clock(to_iso_ms(run.last.ts))} {run.last.service} {_quote(run.last.message)}"


def _answer_records(run: _Run, result: dict[str, Any]) -> list[str]:
    if not run.total:
        return []
    sentences = [f"{_selection(run)}; {_first_last(run)}."]
    if result["patterns"]:
        top = result["patterns"][0]
        sentences.append(
            f"The commonest is {_quote(top['template'])} from {top['service']} "
            f"({top['count']:,} line{'s' if top['count'] != 1 else ''})."
        )
    sentences += _incident_sentence(result["incidents"])
    return sentences


def _incident_sentence(incidents: Sequence[dict[str, Any]]) -> list[str]:
    if not incidents:
        return []
    first = incidents[0]
    cause = first["root_cause"]
    more = f" (and {len(incidents) - 1} more)" if len(incidents) > 1 else ""
    return [
        f"Related incident: {first['id']}{more}, root cause {cause['service']} "
        f"(confidence {cause['confidence']:.2f}); see `loglens explain {first['id']}`."
    ]


def _answer_count(run: _Run, result: dict[str, Any]) -> list[str]:
    services = run.per_service()
    levels = run.per_level()
    result["counts"] = {
        "total": run.total,
        "services": dict(services),
        "levels": dict(levels),
    }
    if not run.total:
        return [f"0 {_lines_word(run.question)} {run.question.time_label}."]
    sentences = [f"{_selection(run)}."]
    if len(levels) > 1:
        sentences.append(f"By level: {_figures(levels, most=6)}.")
    sentences.append(f"{_capital(_first_last(run))}.")
    return sentences


def _answer_top(run: _Run, result: dict[str, Any]) -> list[str]:
    services = run.per_service()
    result["counts"] = {"total": run.total, "services": dict(services), "levels": dict(run.per_level())}
    result["ranking"] = [
        {"service": name, "count": count, "share": round(count / run.total, 4)} for name, count in services
    ]
    if not services:
        return []
    name, count = services[0]
    q = run.question
    sentences = [
        f"{name} logged the most {_lines_word(q)} {q.time_label}: {count:,} of {run.total:,} "
        f"({count / run.total:.0%})."
    ]
    if len(services) > 1:
        sentences.append(f"Then {_figures(services[1:])}.")
    return sentences


def _answer_when(run: _Run, result: dict[str, Any]) -> list[str]:
    if run.first is None or run.last is None:
        return []
    result["first"] = evidence_line(run.first)
    result["last"] = evidence_line(run.last)
    q = run.question
    first = f"{to_iso_ms(run.first.ts)} in {run.first.service}: {_quote(run.first.message)}"
    if run.first.id == run.last.id:
        return [f"Once {q.time_label}: at {first}."]
    return [
        f"First at {first}.",
        f"Last at {to_iso_ms(run.last.ts)} in {run.last.service}: {_quote(run.last.message)}.",
        f"{run.total:,} {_lines_word(q, run.total)} in all {q.time_label}.",
    ]


def _answer_summary(run: _Run, result: dict[str, Any]) -> list[str]:
    q = run.question
    incidents = result["incidents"]
    kinds = q.anomaly_kinds
    matched = run.matched_templates()
    matched_services = {name for name, _ in run.per_service()}
    unfiltered = not (q.services or q.topics or q.min_level or q.status)
    anomalies = []
    for a in run.found().anomalies:
        if a.severity == "info" or not run.in_range(a.start_ns, a.end_ns):
            continue
        if kinds:
            relevant = a.kind in kinds and (not q.services or a.service in q.services)
        else:
            relevant = (
                unfiltered
                or (a.template_id is not None and a.template_id in matched)
                or (bool(q.services) and a.service in q.services)
                or (a.template_id is None and a.service in matched_services)
            )
        if relevant:
            anomalies.append(a)
    texts = named_templates(run.store, anomalies)
    result["anomalies"] = [anomaly_json(a) | {"template": texts.get(a.template_id or "")} for a in anomalies]
    if not incidents and not anomalies:
        tail = f"; {_selection(run)}." if run.total and not kinds else "."
        return [f"Nothing unusual{_subject(q)} {q.time_label}: no incidents and no anomalies{tail}"]
    sentences = []
    if incidents:
        listed = "; ".join(
            f"{i['id']} ({i['severity']}, {_clock(i['start'])}–{_clock(i['end'])}, "
            f"root cause {i['root_cause']['service']})"
            for i in incidents[:5]
        )
        noun = "incident" if len(incidents) == 1 else "incidents"
        sentences.append(f"{len(incidents)} {noun} {q.time_label}: {listed}.")
    if anomalies:
        kinds_seen: dict[str, int] = {}
        for a in anomalies:
            key = f"{a.service} {a.kind}"
            kinds_seen[key] = kinds_seen.get(key, 0) + 1
        ranked = sorted(kinds_seen.items(), key=lambda kv: -kv[1])
        noun = "anomaly" if len(anomalies) == 1 else "anomalies"
        sentences.append(f"{len(anomalies)} {noun}: {_figures(ranked)}.")
    if run.total and not kinds:
        sentences.append(f"{_selection(run)}.")
    return sentences


def _answer_before(run: _Run, result: dict[str, Any]) -> list[str]:
    if run.first is None:
        return [
            f"No {_lines_word(run.question)} {run.question.time_label}, so there is nothing to look before."
        ]
    before = _before(run, run.first)
    result["before"] = before
    return _before_sentences(run, before)


def _before(run: _Run, anchor: StoredRecord) -> dict[str, Any]:
    """The templates of the window before `anchor` that were absent from the window before that,
    ranked: the anchor's own service first (a restart or deploy line of the failing service is the
    likeliest story), then templates never stored before the window, then the most severe, then
    the most frequent; and the window's busiest templates, for when nothing is new."""
    start, earlier = anchor.ts - BEFORE_WINDOW_NS, anchor.ts - 2 * BEFORE_WINDOW_NS
    window = _filter(run.tz, "", start, anchor.ts)
    previous = _filter(run.tz, "", earlier, start)
    now_counts = run.store.counts(window.where, window.params)
    then = {(t.service, t.template_id) for t in run.store.counts(previous.where, previous.params).templates}
    known = set(run.store.templates_before(start))

    def rank(t: TemplateCount) -> tuple[bool, bool, int, int, str]:
        first_ever = (t.service, t.template_id) not in known
        return (
            t.service != anchor.service,
            not first_ever,
            -int(Level.from_label(t.level)),
            -t.count,
            t.template_id,
        )

    def brief(t: TemplateCount) -> dict[str, Any]:
        return {
            "template_id": t.template_id,
            "service": t.service,
            "template": t.template,
            "level": t.level,
            "count": t.count,
            "first_ever": (t.service, t.template_id) not in known,
        }

    new = sorted((t for t in now_counts.templates if (t.service, t.template_id) not in then), key=rank)
    busiest = sorted(now_counts.templates, key=lambda t: (-t.count, t.template_id))
    return {
        "anchor": evidence_line(anchor),
        "window": format_duration(BEFORE_WINDOW_NS),
        "lines_before": now_counts.total,
        "new_templates": [brief(t) for t in new[:TOP_PATTERNS]],
        "busiest": [brief(t) for t in busiest[:3]],
    }


def _before_sentences(run: _Run, before: dict[str, Any]) -> list[str]:
    anchor = before["anchor"]
    minutes = BEFORE_WINDOW_NS // 60_000_000_000
    sentences = [
        f"The first of {run.total:,} {_lines_word(run.question, run.total)} {run.question.time_label} "
        f"was at {anchor['ts']} in {anchor['service']}: {_quote(anchor['message'])}."
    ]
    new = before["new_templates"]
    if not before["lines_before"]:
        sentences.append(f"Nothing was logged in the {minutes} minutes before it.")
    elif new:
        shown = "; ".join(
            f"{_quote(t['template'])} ({t['service']}, {t['level']}, {t['count']}×)" for t in new[:3]
        )
        more = f" and {len(new) - 3} more" if len(new) > 3 else ""
        sentences.append(
            f"In the {minutes} minutes before it, {len(new)} pattern{'s' if len(new) != 1 else ''} appeared "
            f"that were absent in the {minutes} minutes before that: {shown}{more}."
        )
    else:
        busy = "; ".join(
            f"{_quote(t['template'])} ({t['service']}, {t['count']}×)" for t in before["busiest"]
        )
        sentences.append(
            f"Nothing new appeared in the {minutes} minutes before it; the busiest patterns then were {busy}."
        )
    return sentences


def _answer_cause(run: _Run, result: dict[str, Any]) -> list[str]:
    if not run.total or run.first is None:
        return []
    candidates = _relevant_incidents(run)
    weighed = [(i, w) for i, w in candidates if w] or candidates
    if not weighed:
        before = _before(run, run.first)
        result["before"] = before
        return [
            f"No incident was detected around the {_lines_word(run.question)} {run.question.time_label}.",
            *_before_sentences(run, before),
        ]
    incident = max(weighed, key=lambda iw: (iw[1], -iw[0].start_ns))[0]
    explanation = explain_incident(
        run.store, incident, named_templates(run.store, incident.anomalies), CONTEXT_LINES
    )
    offline = _offline_explanation(run.store, explanation)
    result["explanation"] = {k: v for k, v in explanation.items() if k != "anomalies"} | {
        "anomalies": explanation["anomalies"][:20]
    }
    if offline is not None:
        result["offline"] = offline
    cause = explanation["root_cause"]
    sentences = [
        f"{_selection(run)}.",
        f"They belong to incident {incident.id} ({explanation['severity']}, "
        f"{explanation['start']} → {explanation['end']}; services {', '.join(explanation['services'])}).",
    ]
    first_sign = (
        f": first sign at {cause['first_event_ts']} {_quote(cause['template'])}"
        if cause["template"] and cause["first_event_ts"]
        else ""
    )
    sentences.append(
        f"Its likely root cause is {cause['service']} (confidence {cause['confidence']:.2f}){first_sign}."
    )
    if offline is not None and offline.get("signature"):
        signature = offline["signature"]
        name = signature.get("name") or signature.get("id")
        sentences.append(
            f"It matches the known failure signature {name!r} (confidence {offline['confidence']:.2f})."
        )
    return sentences


def _offline_explanation(store: Store, explanation: dict[str, Any]) -> dict[str, Any] | None:
    """`loglens.ai.explain.explain_offline` over the known failure signatures, when that module is
    installed (it is optional here: the answer stands without it)."""
    try:
        explain_module = importlib.import_module("loglens.ai.explain")
        signatures_module = importlib.import_module("loglens.ai.signatures")
    except ImportError:
        return None
    explain_offline = getattr(explain_module, "explain_offline", None)
    if not callable(explain_offline):
        return None
    signatures: Sequence[Any] = ()
    try:
        kb = importlib.import_module("loglens.ai.kb")
        if callable(getattr(kb, "all_signatures", None)):
            signatures = kb.all_signatures(store)
    except ImportError:
        pass
    if not signatures and callable(getattr(signatures_module, "builtin_signatures", None)):
        signatures = signatures_module.builtin_signatures()
    found: dict[str, Any] = explain_offline(store, explanation, signatures)
    return found


def _nothing_found(run: _Run, result: dict[str, Any]) -> list[str]:
    """Say nothing matched and suggest the narrowest widening that matches something: the same
    filter over all stored time, then the topic alone in the range, then the topic alone ever."""
    q = run.question
    sentences = []
    if newest_record_ts(run.store) is None:
        return ["The store holds no records yet: load some with `loglens ingest PATH` first."]
    if q.intent not in ("before", "count"):
        sentences.append(f"No {_lines_word(q)} {q.time_label} (searched: `{result['query'] or '*'}`).")
    bare = replace(q, services=(), excluded_services=(), excluded_topics=(), min_level=None, status=())
    tries: list[tuple[str, Question, int | None, int | None]] = [
        ("over all stored time", q, None, None),
        ("without the level, service and status filters", bare, q.since, q.until),
        ("with the topic alone over all stored time", bare, None, None),
    ]
    for why, variant, since, until in tries:
        query = variant.query_string()
        if (since, until, query) == (q.since, q.until, result["query"]):
            continue
        count = _count(run.store, _filter(run.tz, query, since, until))
        if count:
            command = _command(variant, query, True, since, until)
            result["suggestion"] = {"why": why, "query": query, "count": count, "command": command}
            sentences.append(f"Widened {why}, {count:,} lines match: `{command}`.")
            return sentences
    if q.topics:
        sentences.append(
            "Nothing stored mentions any of: "
            + "; ".join(", ".join(t.alternatives) for t in q.topics if t.alternatives)
            + "."
        )
    return sentences


_INTENT_ANSWERS: Final[dict[str, Callable[[_Run, dict[str, Any]], list[str]]]] = {
    "records": _answer_records,
    "cause": _answer_cause,
    "before": _answer_before,
    "count": _answer_count,
    "when": _answer_when,
    "top": _answer_top,
    "summary": _answer_summary,
}


# ---------------------------------------------------------------------------------------- render


def render_answer(result: dict[str, Any]) -> str:
    """The answer for a terminal: how the question was read, the query, the answer, then the
    lines, patterns and incidents it rests on."""
    out = [
        f"Understood: {result['understood']}",
        f"Ran: {result['command']}",
        "",
        result["answer"],
    ]
    if result.get("narrative"):
        out += ["", result["narrative"]]
    if result.get("suggestion"):
        out += ["", f"Try: {result['suggestion']['command']}"]
    offline = result.get("offline") or {}
    if offline.get("fix"):
        out += ["", "Fix (from the known signature):" if offline.get("signature") else "Fix:"]
        out += [f"  - {step}" for step in offline["fix"]]
    if result.get("ranking"):
        out += ["", "Services:"]
        out += [
            f"  {r['count']:>9,}  {r['share'] * 100:5.1f}%  {r['service']}" for r in result["ranking"][:10]
        ]
    before = result.get("before")
    if before and before.get("new_templates"):
        out += ["", f"New in the {before['window']} before {before['anchor']['ts']}:"]
        out += [
            f"  {t['count']:>6,}  {t['level']:<8} {t['service'][:14]:<14} {t['template'][:100]}"
            for t in before["new_templates"]
        ]
    if result.get("records"):
        out += ["", f"Lines ({len(result['records'])} of {result['matched']:,}, newest last):"]
        out += [
            f"  {r['ts']}  {r['service'][:14]:<14} {r['level']:<8} {r['message'][:120]}"
            for r in result["records"]
        ]
    if result.get("patterns"):
        out += ["", "Patterns:"]
        out += [
            f"  {p['count']:>9,}  {p['service'][:14]:<14} {p['template'][:100]}" for p in result["patterns"]
        ]
    if result.get("incidents"):
        out += ["", "Incidents:"]
        for i in result["incidents"]:
            cause = i["root_cause"]
            out.append(
                f"  {i['id']}  {i['severity']:<8} {i['start']} → {i['end']}  root cause {cause['service']} "
                f"({cause['confidence']:.2f})"
            )
    if result.get("anomalies"):
        out += ["", "Anomalies:"]
        out += [
            f"  {a['start']}  {a['severity']:<8} {a['service'][:14]:<14} {a['kind']:<16} {a['detail']}"
            for a in result["anomalies"][:20]
        ]
    return "\n".join(out) + "\n"
