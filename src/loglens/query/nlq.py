"""Plain-English questions about logs → a structured query in loglens's search language.

Pure functions, no store: the caller passes the service names and fields that exist (`loglens.ai.ask`
runs the result). Users' reference: docs/ask.md; the vocabulary is data in `synonyms.toml`.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from loglens.config_tables import table_entries
from loglens.errors import ConfigError, QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.timerange import format_duration, parse_time_bound
from loglens.record import Level

__all__ = [
    "DEFAULT_WINDOWS_NS",
    "INTENTS",
    "STATUS_FIELDS",
    "Intent",
    "Question",
    "ServiceAlias",
    "SynonymMap",
    "Topic",
    "TopicEntry",
    "cli_time",
    "default_synonyms",
    "load_synonyms",
    "on_newest_data",
    "parse_question",
    "stem",
    "wanted_fields",
]

Intent: TypeAlias = Literal["records", "cause", "before", "count", "when", "top", "summary"]
INTENTS: Final[tuple[Intent, ...]] = ("records", "cause", "before", "count", "when", "top", "summary")

_SECOND: Final = 10**9
_MINUTE: Final = 60 * _SECOND
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR

DEFAULT_WINDOWS_NS: Final[dict[Intent, int]] = {
    "records": _HOUR,
    "summary": _HOUR,
    "count": _DAY,
    "top": _DAY,
    "cause": _DAY,
    "before": _DAY,
    "when": 7 * _DAY,
}
"""The range asked about when a question names no time: recent for "show me", wider for questions
that look for something that happened once ("what caused", "when did")."""

STATUS_FIELDS: Final = ("status", "status_code", "http.status", "http_status", "response_code")
"""Parsed fields that hold an HTTP status, in the order one is chosen for "5xx"."""


# ------------------------------------------------------------------------------------ vocabulary


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """One `[[topic]]` of synonyms.toml: a group of equivalent ops terms (keys explained there)."""

    name: str
    terms: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    asked: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    anomalies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceAlias:
    """One `[[service]]`: what people call a service, and globs for the names it goes by."""

    asked: tuple[str, ...]
    matches: tuple[str, ...]


@dataclass(frozen=True)
class SynonymMap:
    """The whole vocabulary a question is read with (synonyms.toml, or a file of the same shape)."""

    topics: tuple[TopicEntry, ...]
    services: tuple[ServiceAlias, ...]
    levels: dict[str, Level]
    ignored: frozenset[str]

    def topic(self, name: str) -> TopicEntry:
        """The topic called `name` (KeyError when there is none)."""
        for entry in self.topics:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @functools.cached_property
    def index(self) -> dict[tuple[str, ...], tuple[str, str]]:
        """Stemmed word sequence → ("level", label) or ("topic", name); the first entry wins."""
        found: dict[tuple[str, ...], tuple[str, str]] = {}
        for word, level in self.levels.items():
            found.setdefault(_key(word), ("level", level.label))
        for entry in self.topics:
            for phrase in (*entry.terms, *entry.prefixes, *entry.words, *entry.asked):
                key = _key(phrase)
                if key:
                    found.setdefault(key, ("topic", entry.name))
        return found

    @functools.cached_property
    def ignored_stems(self) -> frozenset[str]:
        """The ignored words, stemmed as question words are."""
        return frozenset(stem(word) for word in self.ignored)


_TOPIC_KEYS = ("name", "terms", "prefixes", "words", "asked", "includes", "anomalies")


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def load_synonyms(path: Path | None = None, *, extends: SynonymMap | None = None) -> SynonymMap:
    """Read a synonym map: `path`, or the one shipped with loglens (`loglens/query/synonyms.toml`).

    With `extends` (usually `default_synonyms()`), the file adds to that map: its topics come first
    (a topic of the same name replaces the one extended; on a word both know, the file's wins), its
    services and levels are added, and its ignored words join the others.

    Raises:
        ConfigError: naming the file, the entry and what is wrong with it.
    """
    if path is None:
        where = "loglens/query/synonyms.toml"
        text = resources.files("loglens.query").joinpath("synonyms.toml").read_text("utf-8")
    else:
        where = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the synonym map {where}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    found = _synonyms(data, where)
    if extends is not None:
        mine = {t.name for t in found.topics}
        found = SynonymMap(
            (*found.topics, *(t for t in extends.topics if t.name not in mine)),
            (*found.services, *extends.services),
            extends.levels | found.levels,
            extends.ignored | found.ignored,
        )
    names = {t.name for t in found.topics}
    for entry in found.topics:
        unknown = sorted(set(entry.includes) - names)
        if unknown:
            raise ConfigError(f"{where}: topic {entry.name!r} includes unknown topics {unknown}")
    return found


def _synonyms(data: dict[str, Any], where: str) -> SynonymMap:
    topics = tuple(
        _topic(here, entry)
        for here, entry in table_entries(data.get("topic", []), where, "topic", _TOPIC_KEYS)
    )
    services = tuple(
        ServiceAlias(_strings(e.get("asked"), here, "asked"), _strings(e.get("matches"), here, "matches"))
        for here, e in table_entries(data.get("service", []), where, "service", ("asked", "matches"))
    )
    levels: dict[str, Level] = {}
    for label, words in dict(data.get("levels", {})).items():
        try:
            level = Level.from_label(label)
        except KeyError:
            raise ConfigError(f"{where}: [levels] has an unknown level {label!r}") from None
        levels.update((word.lower(), level) for word in _strings(words, f"{where} [levels]", label))
    ignored = _strings(dict(data.get("ignore", {})).get("words", []), f"{where} [ignore]", "words")
    return SynonymMap(topics, services, levels, frozenset(w.lower() for w in ignored))


def _topic(here: str, entry: dict[str, Any]) -> TopicEntry:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{here} needs a name")
    lists = {key: _strings(entry.get(key, []), here, key) for key in _TOPIC_KEYS[1:]}
    if not (lists["terms"] or lists["prefixes"] or lists["words"] or lists["anomalies"]):
        raise ConfigError(f"{here} ({name}) needs terms, prefixes, words or anomalies to search for")
    return TopicEntry(name.strip(), **lists)


@functools.cache
def default_synonyms() -> SynonymMap:
    """The synonym map shipped with loglens, read once."""
    return load_synonyms()


# ---------------------------------------------------------------------------------------- words

_TOKEN = re.compile(r"[a-z0-9]+")
# Checked in order; the first suffix that leaves at least three letters is taken off.
_SUFFIXES: Final = (
    ("ss", "ss"),
    ("us", "us"),
    ("is", "is"),
    ("ures", ""),
    ("ure", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("sses", "ss"),
    ("shes", "sh"),
    ("ches", "ch"),
    ("xes", "x"),
    ("ing", ""),
    ("ed", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """A crude stem, enough to match question words to the vocabulary (errors → error, failures →
    fail, killed → kill); both sides are stemmed alike, so only collisions matter, not English."""
    w = word.lower()
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, replacement in _SUFFIXES:
        if w.endswith(suffix):
            if suffix == replacement:
                return w
            if len(w) - len(suffix) + len(replacement) >= 3:
                return w[: len(w) - len(suffix)] + replacement
    return w


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(token) for token in _TOKEN.findall(phrase.lower()))


def _singular(word: str) -> str:
    """The form of an unknown word searched for: its singular, which as a substring finds both."""
    if not word.isalpha() or len(word) <= 4:
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"), ("xes", "x")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# ------------------------------------------------------------------------------------- question


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of a question: each matching line contains one of `terms` (substrings), a word
    starting with one of `prefixes`, or one of `words` (whole words); `anomalies` are detector kinds
    that answer it instead (a log storm)."""

    name: str
    asked: str
    terms: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    anomalies: tuple[str, ...] = ()

    @property
    def alternatives(self) -> tuple[str, ...]:
        """Everything the topic searches for."""
        return (*self.prefixes, *self.terms, *self.words)

    def query(self) -> str:
        """The topic in the search language, '' for none:
        `(a OR "b c" OR /\\b(prefix)/i OR /\\b(word)\\b/i)`."""
        parts = [_quoted_term(term) for term in self.terms]
        if self.prefixes:
            parts.append(f"/\\b({_alternation(self.prefixes)})/i")
        if self.words:
            parts.append(f"/\\b({_alternation(self.words)})\\b/i")
        if len(parts) <= 1:
            return "".join(parts)
        return "(" + " OR ".join(parts) + ")"


def _alternation(items: Sequence[str]) -> str:
    """`a|b` for a regex, each escaped, with `/` written `\\/` as the query language wants."""
    return "|".join(re.escape(item).replace("/", "\\/") for item in items)


@dataclass(frozen=True, slots=True)
class Question:
    """A question as loglens understood it: what is asked (`intent`) about which lines.

    Times are ns since the epoch; `until` None is "until now". `since_arg`/`until_arg` are the same
    bounds as `loglens logs --since/--until` takes them, `time_label` as the question said it.
    `window_default` is set when the question named no time and the intent's default range was used.
    """

    text: str
    intent: Intent
    now: int
    since: int | None
    until: int | None
    time_label: str
    since_arg: str | None = None
    until_arg: str | None = None
    window_default: bool = False
    widened: bool = False
    min_level: str | None = None
    services: tuple[str, ...] = ()
    excluded_services: tuple[str, ...] = ()
    topics: tuple[Topic, ...] = ()
    excluded_topics: tuple[Topic, ...] = ()
    status: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def terms(self) -> tuple[tuple[str, ...], ...]:
        """The topic groups as lists of alternatives (what the query ANDs, each an OR)."""
        return tuple(t.alternatives for t in self.topics if t.alternatives)

    @property
    def anomaly_kinds(self) -> frozenset[str]:
        """Detector kinds the question's topics are answered by (empty: any)."""
        return frozenset(kind for t in self.topics for kind in t.anomalies)

    def query_string(self) -> str:
        """The question's filter in loglens's search language (time is separate: `--since`)."""
        parts: list[str] = []
        if self.services:
            parts.append(_service_query(self.services))
        if self.excluded_services:
            parts.append("-" + _service_query(self.excluded_services))
        if self.min_level is not None:
            parts.append(f"level:>={self.min_level}")
        parts.extend(self.status)
        parts.extend(q for t in self.topics if (q := t.query()))
        parts.extend("-" + q for t in self.excluded_topics if (q := t.query()))
        return " ".join(parts)

    def range_text(self) -> str:
        """The range as ISO times (`2026-11-21T05:00Z → now`)."""
        start = _short_iso(self.since) if self.since is not None else "the beginning"
        end = _short_iso(self.until) if self.until is not None else "now"
        return f"{start} → {end}"

    def explain(self) -> str:
        """One line saying how the question was understood."""
        parts = [_INTENT_VERBS[self.intent]]
        if self.services:
            parts.append("from " + ", ".join(self.services))
        if self.excluded_services:
            parts.append("not from " + ", ".join(self.excluded_services))
        if self.min_level is not None:
            parts.append(f"at {self.min_level} or worse")
        if self.status:
            parts.append(" ".join(self.status))
        for topic in self.topics:
            shown = ", ".join(topic.alternatives[:6]) + (" …" if len(topic.alternatives) > 6 else "")
            if topic.alternatives:
                parts.append(f"about {topic.name} ({shown})")
            else:
                parts.append(f"about {topic.name} (anomalies: {', '.join(topic.anomalies)})")
        parts.extend(f"not about {t.name} ({', '.join(t.alternatives[:6])})" for t in self.excluded_topics)
        parts.append(f"{self.time_label} ({self.range_text()})")
        line = "; ".join(parts)
        return line + (" — " + "; ".join(self.notes) if self.notes else "")

    def to_json(self) -> dict[str, Any]:
        """The structured form, as `loglens ask --json` shows it."""
        return {
            "text": self.text,
            "intent": self.intent,
            "since": to_iso_ms(self.since) if self.since is not None else None,
            "until": to_iso_ms(self.until) if self.until is not None else None,
            "time": self.time_label,
            "window_default": self.window_default,
            "widened": self.widened,
            "min_level": self.min_level,
            "services": list(self.services),
            "excluded_services": list(self.excluded_services),
            "status": list(self.status),
            "terms": [list(t) for t in self.terms],
            "topics": [
                {
                    "name": t.name,
                    "asked": t.asked,
                    "terms": list(t.terms),
                    "prefixes": list(t.prefixes),
                    "words": list(t.words),
                    "anomalies": list(t.anomalies),
                }
                for t in self.topics
            ],
            "excluded_terms": [list(t.alternatives) for t in self.excluded_topics],
            "query": self.query_string(),
            "notes": list(self.notes),
        }


_INTENT_VERBS: Final[dict[Intent, str]] = {
    "records": "show the lines",
    "cause": "find what caused it",
    "before": "look at what came before it",
    "count": "count the lines",
    "when": "find when it first and last happened",
    "top": "rank the services by lines",
    "summary": "summarise what was unusual",
}


def _short_iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%MZ")


_BARE: Final = re.compile(r"[a-z0-9][a-z0-9_.\-]*", re.I)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_term(term: str) -> str:
    """A term as a bare word when the language reads it back unchanged, else a quoted phrase."""
    if _BARE.fullmatch(term) and term not in ("OR", "AND", "NOT"):
        return term
    return _quoted(term)


_BARE_SERVICE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@\-]*")


def _service_query(services: Sequence[str]) -> str:
    """`service:a,b`, or an OR of quoted values when a name holds a space, comma or quote."""
    if all(_BARE_SERVICE.fullmatch(s) for s in services):
        return "service:" + ",".join(services)
    parts = ["service:" + (s if _BARE_SERVICE.fullmatch(s) else _quoted(s)) for s in services]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


# ------------------------------------------------------------------------------------------ time


@dataclass(frozen=True, slots=True)
class _Window:
    since: int | None
    until: int | None
    label: str
    since_arg: str | None
    until_arg: str | None


_NUMBER_WORDS: Final = {
    "a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
    "seven": 7.0, "eight": 8.0, "nine": 9.0, "ten": 10.0, "eleven": 11.0, "twelve": 12.0,
    "fifteen": 15.0, "twenty": 20.0, "thirty": 30.0, "forty": 40.0, "forty-five": 45.0, "fifty": 50.0,
    "sixty": 60.0, "ninety": 90.0, "half": 0.5, "half a": 0.5, "half an": 0.5, "couple of": 2.0,
    "a couple of": 2.0, "few": 3.0, "a few": 3.0,
}  # fmt: skip
_NUM: Final = (
    r"(?P<num>\d+(?:\.\d+)?|half an?|half|a couple of|couple of|a few|few|forty-five|"
    + "|".join(sorted((w for w in _NUMBER_WORDS if " " not in w and w != "half"), key=len, reverse=True))
    + ")"
)
_UNIT: Final = r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|mo)\b"
_UNIT_WORD: Final = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\b"
_UNIT_NS: Final = {"s": _SECOND, "m": _MINUTE, "h": _HOUR, "d": _DAY, "w": 7 * _DAY, "mo": 30 * _DAY}
_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _clock(p: str) -> str:
    """A time of day; its groups are prefixed with `p` so that two can share one pattern."""
    return (
        rf"(?:(?P<{p}h>\d{{1,2}})(?::(?P<{p}m>[0-5]\d))?\s*(?P<{p}ap>a\.?m\.?|p\.?m\.?)?"
        rf"|(?P<{p}word>noon|midnight))"
    )


_DAY_WORD: Final = r"(?P<{}>today|yesterday)"
_ISO: Final = re.compile(
    r"\b(?:(?P<op>since|after|from|before|until|till|on)\s+)?"
    r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[ t]\d{2}:\d{2}(?::\d{2})?)?)"
)
_BETWEEN: Final = re.compile(
    rf"(?:\b{_DAY_WORD.format('day0')}\s+)?\b(?P<op>between|from)\s+{_clock('a')}\s*"
    rf"(?:and|to|until|till|-|–)\s*{_clock('b')}(?!\s*{_UNIT_WORD})(?:\s+{_DAY_WORD.format('day1')})?"
)
_AGO: Final = re.compile(rf"(?:\b(?:since|from|after)\s+)?\b{_NUM}\s*{_UNIT}\s+ago\b")
_LAST: Final = re.compile(
    rf"(?:\b(?:in|over|during|within|for|from)\s+)?(?:\bthe\s+)?\b(?:last|past|previous|recent|prior)\s+"
    rf"(?:{_NUM}\s*)?{_UNIT}"
)
_BOUND_DAY: Final = re.compile(
    r"\b(?P<op>since|after|from|before|until|till)\s+"
    r"(?P<day>today|yesterday|this morning|last night|" + "|".join(_WEEKDAYS) + r")\b"
)
# A bare hour ("since 2") is a time only where nothing else could follow it.
_BARE_HOUR_END: Final = r"(?=\s*(?:$|[?.!,;]|and\b|today\b|yesterday\b|o'?clock\b))"
_BOUND: Final = re.compile(
    rf"(?:\b{_DAY_WORD.format('day0')}\s+)?\b(?P<op>since|after|from|before|until|till|by)\s+{_clock('a')}"
    rf"(?:\s+{_DAY_WORD.format('day1')})?"
)
_AROUND: Final = re.compile(
    rf"(?:\b{_DAY_WORD.format('day0')}\s+)?\b(?:at|around|about|near)\s+{_clock('a')}"
    rf"(?:\s+{_DAY_WORD.format('day1')})?"
)
_DAYS: Final = re.compile(
    r"\b(?P<which>today|yesterday|this morning|this afternoon|this evening|tonight|last night|overnight|"
    r"this week)\b"
)


def _local(ns: int, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz).astimezone(tz)


def _ns(moment: datetime) -> int:
    return round(moment.timestamp()) * _SECOND


def cli_time(ns: int) -> str:
    """A time as `--since`/`--until` read it back exactly: `2026-11-21T02:00:00Z`, with milliseconds
    only when it has them."""
    if ns % _SECOND:
        return to_iso_ms(ns)
    return datetime.fromtimestamp(ns // _SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(now: datetime, days_back: int = 0) -> datetime:
    day = (now - timedelta(days=days_back)).date()
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def _hour_minute(m: re.Match[str], p: str, inherit_ap: str | None = None) -> tuple[int, int, bool] | None:
    """(hour, minute, written with am/pm or a colon) of clock `p` in `m`, None when not a time."""
    word = m.group(f"{p}word")
    if word is not None:
        return (12 if word == "noon" else 0), 0, True
    hour, minute = int(m.group(f"{p}h")), int(m.group(f"{p}m") or 0)
    ap = (m.group(f"{p}ap") or "").replace(".", "") or inherit_ap
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap == "pm" else 0)
    elif hour > 23:
        return None
    return hour, minute, bool(ap or m.group(f"{p}m"))


def _day_offset(m: re.Match[str]) -> int | None:
    day = next((m.group(g) for g in ("day0", "day1") if g in m.re.groupindex and m.group(g)), None)
    return None if day is None else (1 if day == "yesterday" else 0)


def _at(now: datetime, hour: int, minute: int, days_back: int | None) -> datetime:
    """The latest `hour:minute` not after now (on the day given, when one is)."""
    moment = _midnight(now, days_back or 0).replace(hour=hour, minute=minute)
    if days_back is None and moment > now:
        moment -= timedelta(days=1)
    return moment


def _amount(m: re.Match[str]) -> int:
    num = m.group("num")
    count = 1.0 if num is None else _NUMBER_WORDS.get(num, None) or float(num)
    unit = m.group("unit")
    key = "mo" if unit.startswith("mo") else unit[0]
    return int(count * _UNIT_NS[key])


def _window_from(
    m: re.Match[str], pattern: re.Pattern[str], now_ns: int, tz: tzinfo | None
) -> _Window | None:
    """The range one time phrase gives, None when the match is not a time after all."""
    now = _local(now_ns, tz)
    label = m.group(0).strip()
    if pattern is _LAST or pattern is _AGO:
        length = _amount(m)
        return _Window(now_ns - length, None, label, format_duration(length), None)
    if pattern is _ISO:
        return _iso_window(m, now_ns, tz, label)
    if pattern is _BETWEEN:
        return _between(m, now, label)
    if pattern is _BOUND_DAY:
        return _bound(m.group("op"), _ns(_named_day(m.group("day"), now)), label)
    if pattern is _BOUND or pattern is _AROUND:
        return _clock_window(m, pattern is _AROUND, now, label)
    return _day_window(m.group("which"), now, label)


_UNTIL_OPS: Final = ("before", "until", "till", "by")


def _bound(op: str | None, at: int, label: str) -> _Window:
    """`since/after/from X` bounds the start, `before/until/till/by X` the end."""
    if op in _UNTIL_OPS:
        return _Window(None, at, label, None, cli_time(at))
    return _Window(at, None, label, cli_time(at), None)


def _iso_window(m: re.Match[str], now_ns: int, tz: tzinfo | None, label: str) -> _Window | None:
    text = m.group("iso").replace("t", " ")
    try:
        at = parse_time_bound(text, now_ns, tz)
    except QueryError:
        return None
    if m.group("op") in (None, "on") and len(text) == 10:
        end = _ns(_local(at, tz) + timedelta(days=1))
        return _Window(at, end, label, cli_time(at), cli_time(end))
    return _bound(m.group("op"), at, label)


def _clock_window(m: re.Match[str], around: bool, now: datetime, label: str) -> _Window | None:
    clock = _hour_minute(m, "a")
    if clock is None:
        return None
    hour, minute, explicit = clock
    if not explicit and re.match(_BARE_HOUR_END, m.string[m.end() :]) is None:
        return None
    days_back = _day_offset(m)
    if days_back is None and not around and m.group("op") in _UNTIL_OPS:
        days_back = 0  # "until noon" asked in the morning is today's noon, not yesterday's
    at = _ns(_at(now, hour, minute, days_back))
    if around:
        half = 30 * _MINUTE
        return _Window(at - half, at + half, label, cli_time(at - half), cli_time(at + half))
    return _bound(m.group("op"), at, label)


def _named_day(day: str, now: datetime) -> datetime:
    if day == "today":
        return _midnight(now)
    if day == "yesterday":
        return _midnight(now, 1)
    if day == "this morning":
        return _midnight(now)
    if day == "last night":
        return _midnight(now, 1).replace(hour=18)
    back = (now.weekday() - _WEEKDAYS.index(day)) % 7
    return _midnight(now, back)


def _day_window(which: str, now: datetime, label: str) -> _Window:
    today = _midnight(now)
    if which == "today":
        return _Window(_ns(today), None, label, "today", None)
    if which == "yesterday":
        return _Window(_ns(_midnight(now, 1)), _ns(today), label, "yesterday", "today")
    spans = {
        "this morning": (today, today.replace(hour=12)),
        "this afternoon": (today.replace(hour=12), today.replace(hour=18)),
        "this evening": (today.replace(hour=18), today + timedelta(days=1)),
        "tonight": (today.replace(hour=18), today + timedelta(days=1)),
        "last night": (_midnight(now, 1).replace(hour=18), today.replace(hour=6)),
        "overnight": (_midnight(now, 1).replace(hour=18), today.replace(hour=6)),
        "this week": (_midnight(now, now.weekday()), None),
    }
    start, end = spans[which]
    since = _ns(start)
    until = None if end is None or end >= now else _ns(end)
    return _Window(since, until, label, cli_time(since), None if until is None else cli_time(until))


def _between(m: re.Match[str], now: datetime, label: str) -> _Window | None:
    end_clock = _hour_minute(m, "b")
    if end_clock is None:
        return None
    ap_b = (m.group("bap") or "").replace(".", "") or None
    start_clock = _hour_minute(m, "a", ap_b)
    if start_clock is not None and ap_b and start_clock[0] > end_clock[0] and not m.group("aap"):
        start_clock = _hour_minute(m, "a")  # "between 11 and 1pm": the 11 is in the morning
    if start_clock is None:
        return None
    if m.group("op") == "from" and not (start_clock[2] or end_clock[2]):
        return None  # "from 2 to 3" reads as times only with am/pm or a colon somewhere
    end = _at(now, end_clock[0], end_clock[1], _day_offset(m))
    start = end.replace(hour=start_clock[0], minute=start_clock[1])
    if start >= end:
        start -= timedelta(days=1)
    return _Window(_ns(start), _ns(end), label, cli_time(_ns(start)), cli_time(_ns(end)))


_TIME_PATTERNS: Final = (_ISO, _BETWEEN, _AGO, _LAST, _BOUND_DAY, _BOUND, _AROUND, _DAYS)


def _take_time(text: str, now_ns: int, tz: tzinfo | None) -> tuple[str, _Window | None]:
    """The time phrases of `text` blanked out, and the range they give (None: no time named)."""
    found: list[_Window] = []
    for pattern in _TIME_PATTERNS:
        for m in list(pattern.finditer(text)):
            window = _window_from(m, pattern, now_ns, tz)
            if window is None:
                continue
            found.append(window)
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    if not found:
        return text, None
    since = next((w for w in found if w.since is not None), None)
    until = next((w for w in found if w.until is not None), None)
    label = " ".join(dict.fromkeys(w.label for w in found))
    return text, _Window(
        since.since if since else None,
        until.until if until else None,
        label,
        since.since_arg if since else None,
        until.until_arg if until else None,
    )


def _default_window(intent: Intent, now_ns: int) -> _Window:
    length = DEFAULT_WINDOWS_NS[intent]
    return _Window(
        now_ns - length, None, f"in the last {_duration_words(length)}", format_duration(length), None
    )


def _duration_words(ns: int) -> str:
    for unit, name in ((7 * _DAY, "week"), (_DAY, "day"), (_HOUR, "hour"), (_MINUTE, "minute")):
        if ns % unit == 0:
            n = ns // unit
            if name == "day" and n % 7 and n <= 2:
                return "24 hours" if n == 1 else f"{n * 24} hours"
            return name if n == 1 else f"{n} {name}s"
    return format_duration(ns)


def on_newest_data(question: Question, newest_ns: int | None) -> Question:
    """The question with its default range moved back to end at the newest stored record, when the
    question named no time and the store holds nothing that recent (an old store still answers
    "show me errors" with its last hour, and the answer says so). Otherwise unchanged."""
    if newest_ns is None or not question.window_default or question.since is None:
        return question
    if newest_ns >= question.since:
        return question
    length = (question.until if question.until is not None else question.now) - question.since
    until = (newest_ns // _SECOND + 1) * _SECOND
    since = until - length
    return replace(
        question,
        since=since,
        until=until,
        since_arg=cli_time(since),
        until_arg=cli_time(until),
        time_label=f"in the last {_duration_words(length)} of the stored logs",
        widened=True,
    )


# ---------------------------------------------------------------------------------------- intent

_INTENT_PATTERNS: Final[tuple[tuple[Intent, re.Pattern[str]], ...]] = (
    ("before", re.compile(
        r"\b(before|leading up to|led up to|lead up to|preceding|preceded|precede|prior to|run-?up to|"
        r"ahead of)\b")),
    ("cause", re.compile(
        r"\b(why|causes?|caused|causing|root[- ]?cause|reason|reasons|triggered|triggers?|behind|"
        r"led to|lead to|responsible|explain)\b")),
    ("count", re.compile(r"\bhow (many|much|often)\b|\b(count|number of|total)\b")),
    ("when", re.compile(
        r"^\W*when\b|\bwhen (did|was|were|does|do|is|has|have|will)\b|\bwhat time\b|\bsince when\b|"
        r"\b(first|last) (time|seen|occurrence|appear\w*)\b|\bfirst (appear|show|start)\w*")),
    ("top", re.compile(
        r"\bwhich (services?|apps?|hosts?|components?|process(es)?|programs?|ones?|daemons?)\b|"
        r"\b(the )?(most|noisiest|loudest|busiest|worst|biggest|chattiest)\b|\btop\b")),
    ("summary", re.compile(
        r"\b(weird|odd|unusual|strange|abnormal|suspicious|wrong|going on|what'?s up|what happened|"
        r"health|healthy|status of|overview|summary|summari[sz]e|incidents?|anomal(y|ies)|outages?|"
        r"okay|ok)\b|\bhow (is|are|was|were|has|have)\b.*\b(doing|looking|going|been)\b")),
)  # fmt: skip


def _intent(text: str) -> Intent:
    for intent, pattern in _INTENT_PATTERNS:
        if pattern.search(text):
            return intent
    return "records"


# ---------------------------------------------------------------------------------------- status

_STATUS_CLASS: Final = re.compile(r"\b(?P<class>[1-5])xx(?:e?s)?\b")
_STATUS_CODE: Final = re.compile(r"(?<!port )\b(?P<code>[1-5]\d\d)s?\b")
_MENTIONS_STATUS: Final = re.compile(r"\b[1-5](?:xx|\d\d)(?:e?s)?\b|\bstatus\b|\bhttp\b")


def wanted_fields(text: str) -> tuple[str, ...]:
    """The parsed fields worth looking up in the store before reading `text` (the status fields
    when it mentions a status code), so the caller probes only what the question needs."""
    return STATUS_FIELDS if _MENTIONS_STATUS.search(text.lower()) else ()


def _take_status(text: str, fields: Sequence[str]) -> tuple[str, tuple[str, ...], bool, tuple[str, ...]]:
    """(text without the codes, status clauses, whether a class like 5xx was named, notes)."""
    name = next((f for f in STATUS_FIELDS if f in fields), None)
    classes = [int(m.group("class")) for m in _STATUS_CLASS.finditer(text)]
    text = _STATUS_CLASS.sub(" ", text)
    if name is None:
        notes = ("no status field is stored, so 5xx-style classes read as error lines",) if classes else ()
        return text, (), bool(classes), notes
    if classes:
        low, high = min(classes) * 100, (max(classes) + 1) * 100
        return text, (f"{name}:>={low}", f"{name}:<{high}"), True, ()
    codes = [m.group("code") for m in _STATUS_CODE.finditer(text)]
    if not codes:
        return text, (), False, ()
    text = _STATUS_CODE.sub(" ", text)
    return text, (f"{name}:{','.join(dict.fromkeys(codes))}",), False, ()


# ----------------------------------------------------------------------------------------- words

_MAX_PHRASE = 4
_QUOTED: Final = re.compile(r'"([^"]+)"')


def _service_index(services: Sequence[str], synonyms: SynonymMap) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Stemmed word sequence → the store's services it names: full names, their plural, a part
    of a name (`logind`) that is unique, and the aliases of synonyms.toml that match a name."""
    index: dict[tuple[str, ...], tuple[str, ...]] = {}
    for name in services:
        key = _key(name)
        if key:
            index[key] = (*index.get(key, ()), name)
    parts: dict[str, list[str]] = {}
    for name in services:
        for token in _TOKEN.findall(name.lower()):
            if len(token) >= 3 and (stem(token),) not in index:
                parts.setdefault(stem(token), []).append(name)
    for part, names in parts.items():
        if len(names) == 1 and part not in synonyms.ignored_stems and (part,) not in synonyms.index:
            index[(part,)] = (names[0],)
    for alias in synonyms.services:
        chosen = tuple(
            name
            for name in services
            if any(fnmatchcase(name.lower(), glob.lower()) for glob in alias.matches)
        )
        if chosen:
            for asked in alias.asked:
                index.setdefault(_key(asked), chosen)
    return index


@dataclass
class _Reading:
    levels: list[Level] = field(default_factory=list)
    services: dict[str, None] = field(default_factory=dict)
    excluded_services: dict[str, None] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    literal: list[str] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    """Topic names and literal words that follow "except", "without"…: lines must not match them."""


_NEGATIONS: Final = (
    ("except",), ("excluding",), ("exclude",), ("without",), ("ignoring",), ("besides",),
    ("other", "than"), ("apart", "from"), ("but", "not"), ("not", "from"), ("not", "in"), ("not", "by"),
    ("not", "about"), ("not", "counting"),
)  # fmt: skip


def _negation_at(tokens: Sequence[str], i: int) -> int:
    """How many words of an exclusion ("except", "other than") start at `i`, 0 for none."""
    for words in _NEGATIONS:
        if tuple(tokens[i : i + len(words)]) == words:
            return len(words)
    return 0


def _read_words(text: str, services: Sequence[str], synonyms: SynonymMap) -> _Reading:
    """Services, levels, topics and leftover words, longest phrase first at each word."""
    text = re.sub(r"'s\b|n't\b|'", " ", text)
    tokens = _TOKEN.findall(text)
    stems = [stem(t) for t in tokens]
    by_service = _service_index(services, synonyms)

    def kind_of(key: tuple[str, ...]) -> str | None:
        return synonyms.index[key][0] if key in synonyms.index and key not in by_service else None

    reading = _Reading()
    previous_level = False
    negated = False  # an exclusion word was read and waits for what it excludes
    i = 0
    while i < len(tokens):
        if skip := _negation_at(tokens, i):
            negated, i = True, i + skip
            continue
        for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
            key = tuple(stems[i : i + n])
            asked = " ".join(tokens[i : i + n])
            named: str | None = None
            if key in by_service:
                chosen = reading.excluded_services if negated else reading.services
                chosen.update(dict.fromkeys(by_service[key]))
                named = asked
            elif key in synonyms.index:
                kind, value = synonyms.index[key]
                if kind == "level" and previous_level:
                    pass  # "critical errors": the first word says which level, the second is a noun
                elif kind == "level":
                    reading.levels.append(Level.from_label(value))
                else:
                    reading.topics.setdefault(value, []).append(asked)
                    named = value
            elif n == 1:
                word = tokens[i]
                ignorable = key[0] in synonyms.ignored_stems or word in synonyms.ignored
                if not ignorable and (len(word) >= 3 and not (word.isdigit() and len(word) > 5)):
                    reading.literal.append(word)
                    named = word
            else:
                continue
            if named is not None:
                if negated:
                    reading.excluded.add(named)
                # "except the kernel or sshd": the exclusion runs on over "or"/"and"/"nor"
                negated = negated and i + n < len(tokens) and tokens[i + n] in ("or", "and", "nor")
            elif kind_of(key) == "level":
                negated = False
            previous_level = kind_of(key) == "level"
            i += n
            break
    return reading


def _topics(
    reading: _Reading, quoted: Sequence[str], synonyms: SynonymMap
) -> tuple[tuple[Topic, ...], tuple[Topic, ...]]:
    """(the topics lines must match, the topics they must not), in the order asked."""
    names = list(reading.topics)
    wanted = {name for name in names if name not in reading.excluded}
    found: list[Topic] = []
    for name in names:
        if name in wanted and set(synonyms.topic(name).includes) & wanted:
            # A broader topic asked beside a narrower one it includes gives way to it: "postgres
            # deadlocks" means the deadlocks, not every line that says "query".
            continue
        entry = synonyms.topic(name)
        inner = [synonyms.topic(i) for i in entry.includes]
        prefixes = tuple(dict.fromkeys([*entry.prefixes, *(p for e in inner for p in e.prefixes)]))
        terms = _without_redundant([*entry.terms, *(t for e in inner for t in e.terms)], prefixes)
        words = tuple(
            w
            for w in dict.fromkeys([*entry.words, *(w for e in inner for w in e.words)])
            if not any(t.lower() in w.lower() for t in terms)
        )
        asked = ", ".join(dict.fromkeys(reading.topics[name]))
        found.append(Topic(name, asked, terms, prefixes, words, entry.anomalies))
    for word in dict.fromkeys(reading.literal):
        if word.isdigit():
            found.append(Topic(word, word, words=(word,)))
        else:
            found.append(Topic(word, word, (_singular(word),)))
    found.extend(Topic(phrase, f'"{phrase}"', (phrase,)) for phrase in dict.fromkeys(quoted))
    return (
        tuple(t for t in found if t.name not in reading.excluded),
        tuple(t for t in found if t.name in reading.excluded),
    )


def _without_redundant(terms: Sequence[str], prefixes: Sequence[str]) -> tuple[str, ...]:
    """The terms minus any that another finds already, in their first order: one containing
    another term (`out of memory` adds nothing to `memory`), or one whose word begins with a
    prefix (`oom-killer` adds nothing to the prefix `oom`)."""
    unique = list(dict.fromkeys(terms))
    lowered = [t.lower() for t in unique]
    starts = [re.compile(rf"\b{re.escape(p.lower())}") for p in prefixes]
    return tuple(
        term
        for term, low in zip(unique, lowered, strict=True)
        if not any(other != low and other in low for other in lowered)
        and not any(start.search(low) for start in starts)
    )


# ------------------------------------------------------------------------------------------ parse


def parse_question(
    text: str,
    services: Sequence[str],
    now_ns: int,
    fields: Sequence[str] = (),
    *,
    tz: tzinfo | None = None,
    synonyms: SynonymMap | None = None,
) -> Question:
    """Read a plain-English question about logs.

    Args:
        text: the question ("show me errors related to memory in the last hour").
        services: the service names the store holds; only these can become a service filter.
        now_ns: what "now" is (ns since the epoch); relative times count back from it.
        fields: parsed field names the store holds (a status field makes "5xx" a `status:` filter).
        tz: the zone of "today", "2am" and "yesterday" (None: this machine's).
        synonyms: the vocabulary (default: synonyms.toml shipped with loglens).
    """
    vocabulary = synonyms or default_synonyms()
    now = now_ns - now_ns % 10**6  # whole ms, so the range survives the ISO round trip exactly
    lowered = text.lower().replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    quoted = [q.strip() for q in _QUOTED.findall(lowered) if q.strip()]
    lowered = _QUOTED.sub(" ", lowered)
    lowered, window = _take_time(lowered, now, tz)
    intent = _intent(lowered)
    lowered, status, status_class, notes = _take_status(lowered, fields)
    reading = _read_words(lowered, services, vocabulary)
    topics, excluded_topics = _topics(reading, quoted, vocabulary)
    min_level: Level | None = min(reading.levels) if reading.levels else None
    if status:
        min_level = None  # "4xx errors": the status says which lines; 4xx are often warnings
    elif status_class and min_level is None:
        min_level = Level.ERROR
    if intent == "records" and topics and all(not t.alternatives for t in topics):
        intent = "summary"  # "any log storms?": answered by the detectors, not by words
    defaulted = window is None
    chosen = window or _default_window(intent, now)
    return Question(
        text=text.strip(),
        intent=intent,
        now=now,
        since=chosen.since,
        until=chosen.until,
        time_label=chosen.label,
        since_arg=chosen.since_arg,
        until_arg=chosen.until_arg,
        window_default=defaulted,
        min_level=None if min_level is None else min_level.label,
        services=tuple(reading.services),
        excluded_services=tuple(s for s in reading.excluded_services if s not in reading.services),
        topics=topics,
        excluded_topics=excluded_topics,
        status=status,
        notes=notes,
    )
