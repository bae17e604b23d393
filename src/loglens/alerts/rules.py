"""Alert rules: what deserves a person's (or an agent's) attention, read from `[[alerts.rules]]` in
loglens.toml or posted to `/api/alerts/rules`, in one typed shape checked once.

Six kinds, after what on-call engineers configure in Grafana, Datadog and Alertmanager:
`threshold` (a query's count over a window against a number), `match` (a template or a regex),
`new_template` (a shape never seen before), `anomaly` and `incident` (what the detectors found, at or
above a severity) and `absence` (a service that went quiet).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from loglens.analysis.detectors import SEVERITIES, SEVERITY_RANK
from loglens.errors import ConfigError, LoglensError
from loglens.query.language import parse_query
from loglens.query.timerange import format_duration, parse_duration

RuleKind = Literal["threshold", "match", "new_template", "anomaly", "incident", "absence"]
RULE_KINDS: tuple[RuleKind, ...] = ("threshold", "match", "new_template", "anomaly", "incident", "absence")
ALERT_SEVERITIES = ("info", "warning", "error", "critical")
"""An alert's own severity (what a channel shows and a silence or route can select on)."""
COMPARISONS = (">", ">=", "<", "<=")
MAX_CONTEXT = 50
"""Lines before and after an alert's first evidence line, at most (kept in memory per service)."""
DEFAULT_GROUP_BY = ("rule", "service")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_COMMON_KEYS = (
    "name", "type", "severity", "labels", "context", "group_by", "channels", "escalate_to",
    "escalate_after", "resolve_after", "enabled", "description",
)  # fmt: skip
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "threshold": ("query", "window", "threshold", "op"),
    "match": ("query", "template", "regex"),
    "new_template": ("query", "level"),
    "anomaly": ("min_severity", "services", "kinds"),
    "incident": ("min_severity", "services"),
    "absence": ("service", "window"),
}


class RuleError(LoglensError):
    """A rule that cannot be used, with what is wrong and how to write it (the API answers 400)."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One rule, whatever its kind: the fields a kind does not use keep their defaults.

    Times are nanoseconds. `context` is the number of lines of the same service kept before and
    after the alert's first evidence line. `group_by` names the labels whose values make one
    notification group (`rule`, `service` and any of `labels`); `escalate_to` lists the channels
    told, one more each `escalate_after`, while nobody acknowledges.
    """

    name: str
    kind: RuleKind
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    context: int = 3
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    channels: tuple[str, ...] = ()
    escalate_to: tuple[str, ...] = ()
    escalate_after_ns: int = 15 * 60 * 10**9
    resolve_after_ns: int = 5 * 60 * 10**9
    enabled: bool = True
    description: str = ""
    query: str = ""
    window_ns: int = 5 * 60 * 10**9
    threshold: float = 0.0
    op: str = ">="
    template: str | None = None
    regex: str | None = None
    level: str | None = None
    min_severity: str = "warning"
    services: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    service: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The rule as the API and `loglens alerts rules` show it (durations as text)."""
        out = asdict(self)
        out["type"] = out.pop("kind")
        for key in ("window", "escalate_after", "resolve_after"):
            out[key] = format_duration(out.pop(f"{key}_ns"))
        for key in ("group_by", "channels", "escalate_to", "services", "kinds"):
            out[key] = list(out[key])
        used = set(_COMMON_KEYS) | set(_KIND_KEYS[self.kind])
        return {key: value for key, value in out.items() if key in used and value not in (None, "")}

    def compares(self, count: float) -> bool:
        """Whether a threshold rule's condition holds for `count`."""
        if self.op == ">":
            return count > self.threshold
        if self.op == ">=":
            return count >= self.threshold
        if self.op == "<":
            return count < self.threshold
        return count <= self.threshold


def _duration(value: object, key: str, here: str) -> int:
    try:
        ns = int(float(value) * 1e9) if isinstance(value, int | float) else parse_duration(str(value))
    except (ValueError, LoglensError):
        ns = -1
    if isinstance(value, bool) or ns <= 0:
        raise RuleError(f'{here}: {key} must be a duration such as "5m" or 300 (seconds)')
    return ns


def _names(value: object, key: str, here: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{here}: {key} must be a list of names")
    return tuple(value)


def _one_of(value: object, choices: tuple[str, ...], key: str, here: str) -> str:
    if value not in choices:
        raise RuleError(f"{here}: {key} must be one of: {', '.join(choices)} (got {value!r})")
    return str(value)


def parse_rule(entry: dict[str, Any], here: str = "rule") -> AlertRule:
    """A rule from a TOML table or a JSON object, every mistake named with `here` and the key.

    Raises:
        RuleError: an unknown kind or key, a missing key, a query or regex that does not parse.
    """
    kind = entry.get("type")
    if kind not in RULE_KINDS:
        raise RuleError(f"{here}: type must be one of: {', '.join(RULE_KINDS)} (got {kind!r})")
    unknown = sorted(set(entry) - set(_COMMON_KEYS) - set(_KIND_KEYS[kind]))
    if unknown:
        known = ", ".join((*_COMMON_KEYS, *_KIND_KEYS[kind]))
        raise RuleError(f"{here}: a {kind} rule has no {', '.join(unknown)}; known: {known}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleError(f"{here}: name must be 1–100 letters, digits, '_', '.', ':' or '-' (got {name!r})")
    here = f"{here} {name!r}"
    values: dict[str, Any] = {"name": name, "kind": kind}
    if "severity" in entry:
        values["severity"] = _one_of(entry["severity"], ALERT_SEVERITIES, "severity", here)
    labels = entry.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str | int | float) for v in labels.values()):
        raise RuleError(f"{here}: labels must be a table of names to strings")
    values["labels"] = {str(k): str(v) for k, v in labels.items()}
    if "context" in entry:
        context = entry["context"]
        if not isinstance(context, int) or isinstance(context, bool) or not 0 <= context <= MAX_CONTEXT:
            raise RuleError(f"{here}: context must be a number of lines, 0–{MAX_CONTEXT}")
        values["context"] = context
    for key in ("group_by", "channels", "escalate_to", "services", "kinds"):
        if key in entry:
            values[key] = _names(entry[key], key, here)
    for key in ("escalate_after", "resolve_after", "window"):
        if key in entry:
            values[f"{key}_ns"] = _duration(entry[key], key, here)
    if "enabled" in entry:
        if not isinstance(entry["enabled"], bool):
            raise RuleError(f"{here}: enabled must be true or false")
        values["enabled"] = entry["enabled"]
    for key in ("description", "template", "service", "level"):
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key]:
                raise RuleError(f"{here}: {key} must be a non-empty string")
            values[key] = entry[key]
    if "query" in entry:
        if not isinstance(entry["query"], str):
            raise RuleError(f"{here}: query must be a string in the search language")
        try:
            parse_query(entry["query"])
        except LoglensError as exc:
            raise RuleError(f"{here}: query: {exc}") from None
        values["query"] = entry["query"]
    if "regex" in entry:
        try:
            re.compile(str(entry["regex"]))
        except (re.error, OverflowError) as exc:  # OverflowError: a repeat count such as {4294967296}
            raise RuleError(f"{here}: regex {entry['regex']!r} does not compile: {exc}") from None
        values["regex"] = str(entry["regex"])
    if "min_severity" in entry:
        values["min_severity"] = _one_of(entry["min_severity"], SEVERITIES, "min_severity", here)
    if "op" in entry:
        values["op"] = _one_of(entry["op"], COMPARISONS, "op", here)
    if "threshold" in entry:
        threshold = entry["threshold"]
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or threshold < 0:
            raise RuleError(f"{here}: threshold must be a number ≥ 0")
        values["threshold"] = float(threshold)
    if kind == "threshold" and "threshold" not in entry:
        raise RuleError(f'{here}: a threshold rule needs threshold (and query, window: "5m")')
    if kind == "match" and not (values.get("template") or values.get("regex")):
        raise RuleError(f"{here}: a match rule needs template (an id or its text) or regex")
    if kind == "absence" and not values.get("service"):
        raise RuleError(f'{here}: an absence rule needs service (and window: "10m")')
    if values.get("level") is not None:
        try:
            parse_query(f"level:>={values['level']}")
        except LoglensError:
            raise RuleError(f"{here}: level {values['level']!r} is not a level name") from None
    return AlertRule(**values)


def parse_rules(entries: object, where: str) -> tuple[AlertRule, ...]:
    """`[[alerts.rules]]`: each entry a rule; names unique."""
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: alerts.rules must be a list of tables ([[alerts.rules]])")
    rules: list[AlertRule] = []
    for number, entry in enumerate(entries, 1):
        here = f"{where}: [[alerts.rules]] #{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{here} must be a table")
        try:
            rule = parse_rule(entry, here)
        except RuleError as exc:
            raise ConfigError(str(exc)) from None
        if any(r.name == rule.name for r in rules):
            raise ConfigError(f"{here}: another rule is already named {rule.name!r}")
        rules.append(rule)
    return tuple(rules)


def severity_at_least(severity: str, minimum: str) -> bool:
    """Whether a detector's severity (info, warning, critical) is at least `minimum`."""
    return SEVERITY_RANK.get(severity, -1) >= SEVERITY_RANK[minimum]
