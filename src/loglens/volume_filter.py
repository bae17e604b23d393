"""The volume filter: an optional ingest stage (`[filter]` in loglens.toml, off by default) that drops,
samples or caps chatty templates so that storage holds the signal without the flood.

It runs after template mining, so rules can name templates. Every warning and error is kept unless
a rule names warning-or-worse levels on purpose; records the parser could not read are always kept.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from loglens.errors import ConfigError, LoglensError
from loglens.formats.level import level_from_name
from loglens.query.timerange import parse_duration
from loglens.record import Level, Record

__all__ = [
    "ACTIONS",
    "DEFAULT_MAX_KEYS",
    "DEFAULT_RULES",
    "FILTER_KEYS",
    "RULE_KEYS",
    "FilterRule",
    "VolumeFilter",
    "VolumeFilterSettings",
    "parse_filter",
    "parse_level_bound",
]

Action = Literal["keep", "drop", "sample", "cap"]
ACTIONS: tuple[Action, ...] = ("keep", "drop", "sample", "cap")
FILTER_KEYS = ("enabled", "max_keys", "rules")
RULE_KEYS = ("name", "action", "levels", "services", "templates", "message", "rate", "limit", "per")

DEFAULT_PER_SECONDS = 60.0
DEFAULT_MAX_KEYS = 100_000
"""Templates tracked for sampling and capping, over all rules. A key costs about 150 bytes, so the
default bounds the state near 15 MB however many distinct templates a flood brings."""

_NS_PER_S = 1_000_000_000
# Samples need no window to count in, only a notion of "not seen lately" so that stale counters can be
# forgotten first when the state is full.
_SAMPLE_RECENCY_NS = 60 * _NS_PER_S
_BOUND = re.compile(r"\s*(<=|>=|<|>)?\s*([^<>=\s]+)\s*")
_GLOB_MAGIC = re.compile(r"[*?\[]")


def parse_level_bound(text: str) -> frozenset[Level]:
    """The levels a bound such as ``"<=info"`` selects: ``<=``, ``<``, ``>=`` or ``>`` and a level name,
    or a bare name for exactly that level.

    Names are read as in log lines (``warn``, ``err``, ``crit``...). Kept as a set rather than a
    threshold so that "does this rule reach warnings?" is a plain membership question.

    Raises:
        ValueError: the text is not a bound, names no level, or selects no level (``"<trace"``).
    """
    match = _BOUND.fullmatch(text)
    level = level_from_name(match.group(2)) if match else None
    if match is None or level is None:
        raise ValueError(
            f"cannot read the level bound {text!r}: use a level name, optionally after <=, <, >= or >, "
            'such as "<=info" or "debug"'
        )
    op = match.group(1)
    chosen = frozenset(
        candidate
        for candidate in Level
        if (op == "<=" and candidate <= level)
        or (op == "<" and candidate < level)
        or (op == ">=" and candidate >= level)
        or (op == ">" and candidate > level)
        or (op is None and candidate == level)
    )
    if not chosen:
        raise ValueError(f"the level bound {text!r} selects no level")
    return chosen


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One `[[filter.rules]]` entry: which records it matches and what it does with them.

    A record matches when every condition given holds; a rule with no condition matches every record
    below warning.

    Args:
        name: names the rule in `VolumeFilter.dropped` and on `/metrics`; unique within a filter.
        action: ``keep`` (stop here, keep it), ``drop``, ``sample`` (keep the 1st, (rate+1)th... record
            of each template: exactly 1 in `rate`, the same ones on every run) or ``cap`` (keep at most
            `limit` records of each template per `per` seconds of record time, windows aligned to the
            epoch, so "per minute" means per clock minute).
        levels: the levels it matches (`parse_level_bound`); None matches every level below warning.
            Warnings and worse are only ever matched by a rule whose `levels` names them: a rule about
            "chatty services" must never be what hides the one error that explains an outage.
        services: fnmatch globs over `record.service`, case-sensitive; empty matches any service.
        templates: template ids (``api-12``, made ``<service>-<n>`` by the miner) or globs over them
            (``api-*``); empty matches any, non-empty never matches a record without a template.
        message: a regex searched for in `record.message` (prefix ``(?i)`` to ignore case).
        rate: sample only, ≥ 1.
        limit: cap only, ≥ 1.
        per: cap only, the window in seconds (> 0; default a minute).
    """

    name: str
    action: Action
    levels: frozenset[Level] | None = None
    services: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    message: re.Pattern[str] | None = None
    rate: int | None = None
    limit: int | None = None
    per: float = DEFAULT_PER_SECONDS

    def __post_init__(self) -> None:
        problem = _rule_problem(self)
        if problem is not None:
            raise _RuleProblem(self.name, problem)

    @property
    def reaches_warnings(self) -> bool:
        """True when the rule was written to act on warning-or-worse records (its `levels` name one)."""
        return self.levels is not None and any(level >= Level.WARNING for level in self.levels)


class _RuleProblem(ValueError):
    """A rule that cannot work; `problem` is worded for the user, so the config reader can reuse it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"filter rule {name!r}: {problem}")
        self.problem = problem


def _rule_problem(rule: FilterRule) -> str | None:
    """What makes a rule unusable, in words for the user, or None when it is fine."""
    if rule.action not in ACTIONS:
        return f"unknown action {rule.action!r}; choose one of: {', '.join(ACTIONS)}"
    if rule.levels is not None and not rule.levels:
        return "`levels` selects no level"
    for key, wanted in (("rate", "sample"), ("limit", "cap")):
        value = getattr(rule, key)
        if rule.action == wanted and value is None:
            return f'action "{wanted}" needs `{key}`'
        if rule.action != wanted and value is not None:
            return f'`{key}` only goes with action "{wanted}"'
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"`{key}` must be a whole number ≥ 1, got {value!r}"
    if not (math.isfinite(rule.per) and rule.per * _NS_PER_S >= 1):
        return f"`per` must be a positive number of seconds, got {rule.per!r}"
    return None


DEFAULT_RULES: tuple[FilterRule, ...] = (
    FilterRule("default-debug-sample", "sample", levels=parse_level_bound("<=debug"), rate=10),
    FilterRule("default-info-cap", "cap", levels=parse_level_bound("<=info"), limit=100),
)
"""What ``enabled = true`` with no rules means: trace and debug records sampled 1 in 10 per template,
info records capped at 100 per template per minute (debug never reaches the cap: the first matching
rule decides). Notice, warning and worse are all kept."""


def _glob_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool] | None:
    """One test for "matches any of these globs"; None when there are none (the condition is absent).

    Plain names become a set lookup and the rest one compiled regex, because this runs per record.
    """
    if not patterns:
        return None
    exact = frozenset(p for p in patterns if _GLOB_MAGIC.search(p) is None)
    wild = [p for p in patterns if _GLOB_MAGIC.search(p) is not None]
    if not wild:
        return exact.__contains__
    regex = re.compile("|".join(fnmatch.translate(p) for p in wild))
    return lambda value: value in exact or regex.match(value) is not None


class _CompiledRule:
    """A rule in the form the hot loop reads: matchers built once, the window in nanoseconds."""

    __slots__ = ("action", "levels", "limit", "message", "name", "rate", "services", "templates", "window_ns")

    def __init__(self, rule: FilterRule) -> None:
        self.name = rule.name
        self.action = rule.action
        self.levels = rule.levels
        self.services = _glob_matcher(rule.services)
        self.templates = _glob_matcher(rule.templates)
        self.message = rule.message
        self.rate = rule.rate or 1
        self.limit = rule.limit or 0
        self.window_ns = round(rule.per * _NS_PER_S) if rule.action == "cap" else _SAMPLE_RECENCY_NS

    def matches(self, record: Record) -> bool:
        """Every condition of the rule holds for the record (warnings need a rule naming them)."""
        if self.levels is None:
            if record.level >= Level.WARNING:
                return False
        elif record.level not in self.levels:
            return False
        if self.services is not None and not self.services(record.service):
            return False
        if self.templates is not None:
            template_id = record.template_id
            if template_id is None or not self.templates(template_id):
                return False
        return self.message is None or self.message.search(record.message) is not None


class VolumeFilter:
    """Keeps the records a list of rules lets through, in order; the first matching rule decides.

    Records matching no rule are kept, and so are records with `parse_error` set (their template says
    nothing). Rules only match warning-or-worse records when their `levels` name those levels
    (see `FilterRule`): without such a rule, every warning and error is kept at any volume.

    Sampling and capping count per (rule, template) — records without a template share one count —
    so a noisy template cannot use up the allowance of a quiet one. Capping follows record time, not
    the clock, so re-ingesting a file keeps the same records; a record older than its template's
    current window counts against that window.

    Memory is bounded by `max_keys` counts over all rules. When a new template would pass it, counts
    whose window has passed are forgotten first (a cap would restart them anyway); if that frees less
    than half, every count is forgotten (`state_resets` goes up). Forgetting only ever keeps more: each
    template's cap starts afresh and its next sampled record is kept.

    Counters for `/metrics`: `seen`, `kept`, and `dropped` per rule name (every rule listed, from 0).
    One instance serves one stream of batches; it is not thread-safe.
    """

    def __init__(self, rules: Iterable[FilterRule], max_keys: int = DEFAULT_MAX_KEYS) -> None:
        """Args:
        rules: tried in order for each record.
        max_keys: bound on the templates whose sample or cap count is held (≥ 1).
        """
        self.rules = tuple(rules)
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"filter rule names must be unique; used twice: {', '.join(twice)}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be ≥ 1, got {max_keys}")
        self.max_keys = max_keys
        self._compiled = tuple(_CompiledRule(rule) for rule in self.rules)
        # One table per rule (template id → [window, count]): keys are the record's own id string,
        # so a held count costs no new key object.
        self._tables: tuple[dict[str, list[int]], ...] = tuple({} for _ in self.rules)
        self._keys = 0
        self._latest_ts = 0
        self.seen = 0
        self.kept = 0
        self.dropped: dict[str, int] = dict.fromkeys(names, 0)
        self.state_resets = 0

    @property
    def tracked_keys(self) -> int:
        """Sample and cap counts held now, over all rules (never above `max_keys`)."""
        return self._keys

    def apply(self, records: Iterable[Record]) -> list[Record]:
        """The records to keep, in their order; counts what was dropped and by which rule."""
        kept: list[Record] = []
        dropped = self.dropped
        seen = 0
        for record in records:
            seen += 1
            dropper = self._dropper(record) if record.parse_error is None else None
            if dropper is None:
                kept.append(record)
            else:
                dropped[dropper] += 1
        self.seen += seen
        self.kept += len(kept)
        return kept

    def _dropper(self, record: Record) -> str | None:
        """The name of the rule that drops the record, or None to keep it."""
        for index, rule in enumerate(self._compiled):
            if not rule.matches(record):
                continue
            action = rule.action
            if action == "keep":
                return None
            if action == "drop":
                return rule.name
            return None if self._admits(index, rule, record) else rule.name
        return None

    def _admits(self, index: int, rule: _CompiledRule, record: Record) -> bool:
        """Counts the record against its template's sample or cap and says whether it is kept."""
        ts = record.ts
        if ts > self._latest_ts:
            self._latest_ts = ts
        window = ts // rule.window_ns
        table = self._tables[index]
        key = record.template_id or ""
        slot = table.get(key)
        if slot is None:
            if self._keys >= self.max_keys:
                self._make_room()
            table[key] = [window, 1]
            self._keys += 1
            return True
        if rule.action == "sample":
            slot[0] = max(slot[0], window)
            # Counting modulo the rate keeps the number small; 1 marks the record to keep.
            slot[1] = slot[1] % rule.rate + 1
            return slot[1] == 1
        if window > slot[0]:
            slot[0], slot[1] = window, 1
            return True
        slot[1] += 1
        return slot[1] <= rule.limit

    def _make_room(self) -> None:
        """Forgets counts so that a new template fits (see the class docs for what that costs).

        Leaving at most half the bound means the next call is at least `max_keys / 2` new templates
        away, so the scan here is paid for many times over, even under a flood of unique templates.
        """
        for rule, table in zip(self._compiled, self._tables, strict=True):
            current = self._latest_ts // rule.window_ns
            for key in [key for key, slot in table.items() if slot[0] < current]:
                del table[key]
        self._keys = sum(len(table) for table in self._tables)
        if self._keys > self.max_keys // 2:
            for table in self._tables:
                table.clear()
            self._keys = 0
            self.state_resets += 1

    def metric_lines(self) -> list[str]:
        """The filter's counters as Prometheus exposition lines (HELP and TYPE included), for `/metrics`."""
        families: list[tuple[str, str, str, list[tuple[str, int]]]] = [
            ("loglens_filter_seen_total", "counter", "Records that reached the volume filter.",
             [("", self.seen)]),
            ("loglens_filter_kept_total", "counter", "Records the volume filter passed on.",
             [("", self.kept)]),
            ("loglens_filter_dropped_total", "counter", "Records the volume filter dropped, by rule.",
             [(f'{{rule="{_label_value(name)}"}}', count) for name, count in self.dropped.items()]),
            ("loglens_filter_state_keys", "gauge", "Templates whose sample or cap count is held.",
             [("", self._keys)]),
            ("loglens_filter_state_resets_total", "counter",
             "Times the held counts reached [filter] max_keys and were all forgotten.",
             [("", self.state_resets)]),
        ]  # fmt: skip
        lines: list[str] = []
        for name, kind, help_text, samples in families:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {value}" for labels, value in samples)
        return lines


def _label_value(text: str) -> str:
    """A Prometheus label value, escaped as the text format requires."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True, slots=True)
class VolumeFilterSettings:
    """`[filter]` of loglens.toml when `enabled = true`: the rules (`DEFAULT_RULES` when none are
    written) and the bound on held counts."""

    rules: tuple[FilterRule, ...] = DEFAULT_RULES
    max_keys: int = DEFAULT_MAX_KEYS

    def build(self) -> VolumeFilter:
        """A fresh filter with these settings (counts start at zero)."""
        return VolumeFilter(self.rules, self.max_keys)


def parse_filter(table: dict[str, Any], where: str) -> VolumeFilterSettings | None:
    """Reads `[filter]`: None when the filter is off (the default), its settings when on.

    Rules are checked even when the filter is off, so a mistake shows before it is switched on.

    Raises:
        ConfigError: naming the rule (by number and name) and the key that is wrong.
    """
    unknown = sorted(set(table) - set(FILTER_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [filter] has no setting {unknown[0]!r}; known: {', '.join(FILTER_KEYS)}")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: [filter] enabled must be true or false, got {enabled!r}")
    max_keys = table.get("max_keys", DEFAULT_MAX_KEYS)
    if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
        raise ConfigError(f"{where}: [filter] max_keys must be a whole number ≥ 1, got {max_keys!r}")
    entries = table.get("rules", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: [filter] rules must be an array of tables ([[filter.rules]])")
    rules: list[FilterRule] = []
    for i, entry in enumerate(entries):
        rule = _parse_rule(entry, f"{where} [[filter.rules]] #{i + 1}")
        if any(rule.name == other.name for other in rules):
            raise ConfigError(f"{where} [[filter.rules]] #{i + 1}: the name {rule.name!r} is used twice")
        rules.append(rule)
    if not enabled:
        return None
    return VolumeFilterSettings(tuple(rules) or DEFAULT_RULES, max_keys)


def _parse_rule(entry: object, here: str) -> FilterRule:
    """One `[[filter.rules]]` table as a rule, every key checked."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{here}: each rule must be a table with a `name` and an `action`")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{here}: each rule needs a `name` (a non-empty string), got {name!r}")
    here = f"{here} ({name})"
    unknown = sorted(set(entry) - set(RULE_KEYS))
    if unknown:
        raise ConfigError(f"{here}: unknown key {unknown[0]!r}; a rule takes: {', '.join(RULE_KEYS)}")
    action = entry.get("action")
    if action not in ACTIONS:
        raise ConfigError(f"{here}: `action` must be one of: {', '.join(ACTIONS)}; got {action!r}")
    levels = None
    if "levels" in entry:
        try:
            levels = parse_level_bound(_string(entry["levels"], "levels", here))
        except ValueError as exc:
            raise ConfigError(f"{here}: `levels`: {exc}") from None
    message = None
    if "message" in entry:
        pattern = _string(entry["message"], "message", here)
        try:
            message = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{here}: `message` is not a valid regex {pattern!r}: {exc}") from None
    rule_args: dict[str, Any] = {
        "levels": levels,
        "services": _globs(entry.get("services", []), "services", here),
        "templates": _globs(entry.get("templates", []), "templates", here),
        "message": message,
        "rate": entry.get("rate"),
        "limit": entry.get("limit"),
    }
    if "per" in entry:
        if action != "cap":
            raise ConfigError(f'{here}: `per` only goes with action "cap"')
        rule_args["per"] = _seconds(entry["per"], here)
    try:
        return FilterRule(name, action, **rule_args)
    except _RuleProblem as exc:
        raise ConfigError(f"{here}: {exc.problem}") from None


def _string(value: object, key: str, here: str) -> str:
    """The value when it is a string, else a ConfigError naming the key."""
    if not isinstance(value, str):
        raise ConfigError(f"{here}: `{key}` must be a string, got {value!r}")
    return value


def _globs(value: object, key: str, here: str) -> tuple[str, ...]:
    """A glob or list of globs as a tuple; a single string is taken as a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f'{here}: `{key}` must be a list of names or globs such as ["api-*"]')
    return tuple(value)


def _seconds(value: object, here: str) -> float:
    """`per` as seconds: a number (60) or a duration ("1m", "30s")."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value) if isinstance(value, int | float) else parse_duration(str(value)) / _NS_PER_S
    except (ValueError, LoglensError):
        seconds = -1.0
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f'{here}: `per` must be a positive duration such as 60 or "1m", got {value!r}')
    return seconds
