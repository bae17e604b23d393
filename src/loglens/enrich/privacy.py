"""`[privacy]`: secrets and personal data redacted from every record before it is mined and stored, and
the `RecordRedactor` that does it to each parsed batch, whatever path the batch came by.

On by default for e-mail addresses, card numbers, tokens, API keys and passwords (a secret stored is
the failure that cannot be undone); IP addresses only with `ips = true` (often the evidence itself).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from loglens.config_tables import table_entries
from loglens.enrich.redact import DEFAULT_RULES, IP_RULES, MARKERS, RedactionRule, Redactor, card_number
from loglens.errors import ConfigError
from loglens.record import Record

__all__ = [
    "BUILTIN_RULES",
    "PRIVACY_KEYS",
    "RULE_KEYS",
    "PrivacySettings",
    "RecordRedactor",
    "parse_privacy",
]

PRIVACY_KEYS = ("enabled", "ips", "keep", "rules")
RULE_KEYS = ("name", "pattern", "replacement")
BUILTIN_RULES: tuple[RedactionRule, ...] = (*DEFAULT_RULES, *IP_RULES)
"""Every rule loglens has, by the names `keep` takes; the IP ones run only with `ips = true`."""

_RULE_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""A rule's name is a Prometheus label value and a `keep` entry: plain lowercase words."""


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """`[privacy]` in loglens.toml.

    Attributes:
        enabled: redact at all (default true: storing a secret is the failure that cannot be undone).
        ips: also replace IPv4 and IPv6 addresses with `<ip>` (default false: addresses are often
            what a log is about, an attacker's or a failing peer's).
        rules: rules of one's own (`[[privacy.rules]]`), run before the built-in ones, so that where
            both would match, one's own wins.
        keep: names of built-in rules turned off (`keep = ["email"]` stores e-mail addresses).
    """

    enabled: bool = True
    ips: bool = False
    rules: tuple[RedactionRule, ...] = ()
    keep: frozenset[str] = frozenset()

    def active_rules(self) -> tuple[RedactionRule, ...]:
        """The rules that run, in order: one's own, then the built-in ones (IPs if asked) not kept."""
        if not self.enabled:
            return ()
        builtin = (*DEFAULT_RULES, *(IP_RULES if self.ips else ()))
        return (*self.rules, *(rule for rule in builtin if rule.name not in self.keep))


def parse_privacy(table: dict[str, Any], where: str) -> PrivacySettings:
    """Reads `[privacy]` and its `[[privacy.rules]]`; every rule is checked even when `enabled = false`,
    so that a mistake shows before redaction is switched on.

    Raises:
        ConfigError: naming the setting or the rule (by number) that is wrong, and what would do.
    """
    unknown = sorted(set(table) - set(PRIVACY_KEYS))
    if unknown:
        known = ", ".join(PRIVACY_KEYS)
        raise ConfigError(f"{where}: [privacy] has no setting {unknown[0]!r}; known: {known}")
    enabled = _flag(table, "enabled", True, where)
    ips = _flag(table, "ips", False, where)
    rules: list[RedactionRule] = []
    builtin = {rule.name for rule in BUILTIN_RULES}
    for here, entry in table_entries(table.get("rules", []), where, "privacy.rules", RULE_KEYS):
        rule = _parse_rule(entry, here)
        if rule.name in builtin:
            raise ConfigError(
                f"{here}: {rule.name!r} is a built-in rule's name; name yours differently "
                f'(and add "{rule.name}" to [privacy] keep to turn the built-in one off)'
            )
        if any(rule.name == other.name for other in rules):
            raise ConfigError(f"{here}: the name {rule.name!r} is used twice")
        rules.append(rule)
    keep = table.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(name, str) for name in keep):
        raise ConfigError(f'{where}: [privacy] keep must be a list of rule names, such as ["email"]')
    strange = sorted(set(keep) - builtin)
    if strange:
        raise ConfigError(
            f"{where}: [privacy] keep names no built-in rule {strange[0]!r}; "
            f"known: {', '.join(rule.name for rule in BUILTIN_RULES)}"
        )
    return PrivacySettings(enabled, ips, tuple(rules), frozenset(keep))


def _flag(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: [privacy] {key} must be true or false, got {value!r}")
    return value


def _parse_rule(entry: dict[str, Any], here: str) -> RedactionRule:
    """One `[[privacy.rules]]` table: a name, a regex, and the literal text that replaces a match."""
    name = entry.get("name")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise ConfigError(
            f"{here}: each rule needs a `name` of lowercase letters, digits and _ (such as "
            f'"employee_id"), got {name!r}'
        )
    here = f"{here} ({name})"
    source = entry.get("pattern")
    if not isinstance(source, str) or not source:
        raise ConfigError(f"{here}: each rule needs a `pattern` (a regular expression)")
    try:
        pattern = re.compile(source)
    except re.error as exc:
        raise ConfigError(f"{here}: `pattern` is not a valid regex {source!r}: {exc}") from None
    if pattern.fullmatch(""):
        raise ConfigError(f"{here}: `pattern` {source!r} matches the empty string; make it match the value")
    replacement = entry.get("replacement", f"<{name}>")
    if not isinstance(replacement, str):
        raise ConfigError(f"{here}: `replacement` must be a string, got {replacement!r}")
    return RedactionRule(name, pattern, replacement)


# Field keys whose string value is a secret whatever it looks like (`{"password": "hunter2"}` has
# no shape a text rule could find), by the built-in rule it counts under; the key ends the same way
# as in the text rules' `key=value`.
_KEYED = (
    ("authorization", re.compile(r"(?:authorization|api-key|auth-token)$", re.IGNORECASE)),
    ("password", re.compile(r"(?:password|passwd|pwd)$", re.IGNORECASE)),
    ("key_value_token", re.compile(r"(?:api[_-]?key|access[_-]?key|token|secret)$", re.IGNORECASE)),
)
MAX_KEYS_REMEMBERED = 4096
"""Field keys remembered as naming no secret: a source has the same few keys on every record, and
one set lookup for all of them is what checking them should cost."""
_SCHEME = re.compile(r"(?:bearer|basic|token|digest|negotiate|apikey)\s+", re.IGNORECASE)
_SMALLEST_CARD = 10**12
"""Integers below 13 digits cannot be card numbers (a JSON number field is checked like text)."""
_FLAT_KINDS = frozenset({str, int, float, bool, type(None)})
"""Value types of a flat fields dict, whose strings can be taken without walking it."""


class RecordRedactor:
    """Redacts records in place: `message`, `raw`, and every string in `fields` (nested ones too).

    Applied to each parsed batch before template mining, so that templates and their values (`params`)
    hold markers, never secrets. Each record is screened once: its strings are joined and the rules'
    pre-checks run on that, so a record with nothing to hide costs a few substring tests.

    Counts are per rule, of values redacted: a value found in both `raw` and `message` (or a field)
    counts once; a record counts what the one of its strings that held most held.

    Args:
        settings: `[privacy]`; with `enabled = false` records pass untouched.
    """

    def __init__(self, settings: PrivacySettings) -> None:
        self.settings = settings
        self.rules = settings.active_rules()
        self._text = Redactor(self.rules)
        active = {rule.name: rule for rule in self.rules}
        self._keyed = tuple((active[name], key) for name, key in _KEYED if name in active)
        self._plain_keys: set[str] = set()
        self._card = active.get("card")
        self._totals: Counter[str] = Counter()

    def __call__(self, records: Sequence[Record]) -> None:
        """Redacts each record of a batch in place."""
        if not self.rules:
            return
        for record in records:
            self._redact(record)

    def counts(self) -> dict[str, int]:
        """Values redacted so far per active rule (0 for those that found nothing); safe to call
        from another thread than the one redacting."""
        totals = dict(self._totals)  # one C-level copy: never iterated while the pipeline adds
        return {rule.name: totals.get(rule.name, 0) for rule in self.rules}

    def metric_lines(self) -> list[str]:
        """`loglens_redacted_total{rule="email"} 12` per active rule, with HELP and TYPE, for `/metrics`."""
        name = "loglens_redacted_total"
        return [
            f"# HELP {name} Values redacted before storage, by rule (once per record and value).",
            f"# TYPE {name} counter",
            *(f'{name}{{rule="{rule}"}} {count}' for rule, count in self.counts().items()),
        ]

    # -- one record ------------------------------------------------------------------------------

    def _redact(self, record: Record) -> None:
        message, raw, fields = record.message, record.raw, record.fields
        # What `raw` holds (the message, most fields) need not be screened twice: a pre-check that
        # passes on a part passes on the whole, and screening costs per character and rule.
        outside = [raw] if message in raw else [raw, message]
        keyed = numbers = False
        if fields:
            keyed, numbers = self._screen_fields(fields, raw, outside)
        rules = self._text.rules_for("\n".join(outside))
        if not rules and not keyed and not numbers:
            return
        found: Counter[str] = Counter()
        if rules:
            same = raw is message or raw == message
            record.message = self._place(message, rules, found)
            record.raw = record.message if same else self._place(raw, rules, found)
        if fields:
            record.fields = self._fields(fields, rules, keyed, found)
        self._totals.update(found)

    def _screen_fields(self, fields: dict[str, Any], raw: str, outside: list[str]) -> tuple[bool, bool]:
        """Adds the strings of `fields` that `raw` does not hold to `outside`; says whether a key names
        a secret, and whether an integer could be a card number."""
        values = fields.values()
        kinds = set(map(type, values))
        if kinds <= _FLAT_KINDS:  # the usual shape, walked in comprehensions
            outside.extend([value for value in values if type(value) is str and value not in raw])
            keys: Iterable[Any] = fields
            numbers = int in kinds and max(value for value in values if type(value) is int) >= _SMALLEST_CARD
        else:
            strings: list[str] = []
            keys = []
            numbers = _gather(fields, strings, keys)
            outside.extend([text for text in strings if text not in raw])
        keyed = not self._plain_keys.issuperset(keys) and self._names_secret(keys)
        return keyed, numbers and self._card is not None

    def _place(self, text: str, rules: list[RedactionRule], found: Counter[str]) -> str:
        """`text` redacted by `rules`, its counts merged into `found` as a maximum per rule."""
        redacted = self._text.redact(text, rules)
        counts = self._text.redact_counts
        if counts:
            _most(found, counts)
            counts.clear()
        return redacted

    def _fields(
        self, fields: dict[str, Any], rules: list[RedactionRule], keyed: bool, found: Counter[str]
    ) -> dict[str, Any]:
        """`fields` with its strings redacted (a new dict where anything changed: a parser may share
        one between records), counts merged into `found` as a maximum per rule."""
        changed: dict[str, Any] | None = None
        for key, value in fields.items():
            new = self._value(value, key, rules, keyed, found)
            if new is not value:
                if changed is None:
                    changed = dict(fields)
                changed[key] = new
        return fields if changed is None else changed

    def _value(
        self, value: Any, key: str, rules: list[RedactionRule], keyed: bool, found: Counter[str]
    ) -> Any:
        """A fields value redacted (the same object when nothing changed); `key` is the one it is
        under (a list's items are under the list's key)."""
        if isinstance(value, str):
            if not value:
                return value
            if keyed:
                secret = self._keyed_secret(key, value, found)
                if secret is not None:
                    return secret
            if not rules:
                return value
            return self._place(value, rules, found)
        if isinstance(value, dict):
            return self._fields(value, rules, keyed, found)
        if isinstance(value, list):
            items = [self._value(item, key, rules, keyed, found) for item in value]
            return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
        card = self._card
        if card is not None and type(value) is int and value >= _SMALLEST_CARD and card_number(str(value)):
            found[card.name] = max(found[card.name], 1)
            return card.replacement
        return value

    def _names_secret(self, keys: Iterable[Any]) -> bool:
        """Whether any of these field keys names a secret (keys found not to are remembered)."""
        plain = self._plain_keys
        secret = False
        for key in keys:
            if key in plain:
                continue
            if self._rule_for_key(key) is not None:
                secret = True
            elif len(plain) < MAX_KEYS_REMEMBERED:
                plain.add(key)
        return secret

    def _rule_for_key(self, key: str) -> RedactionRule | None:
        """The rule a field's value falls under because of its key alone (None for most keys)."""
        if not isinstance(key, str):
            return None  # fields parsed from text have string keys; a decoder's may not
        for rule, pattern in self._keyed:
            if pattern.search(key) is not None:
                return rule
        return None

    def _keyed_secret(self, key: str, value: str, found: Counter[str]) -> str | None:
        """The marker a value takes because of its key (`password`, `api_key`, `Authorization`…),
        keeping an authentication scheme in front; None when the key names no secret."""
        rule = self._rule_for_key(key)
        if rule is None or value in MARKERS:
            return None
        if rule.name == "password" and key.lower() == "pwd" and value.startswith("/"):
            return None  # sudo's PWD: the working directory
        scheme = _SCHEME.match(value)
        if scheme is not None and scheme.end() == len(value):
            return None
        found[rule.name] = max(found[rule.name], 1)
        return (scheme.group(0) if scheme else "") + rule.replacement


def _gather(value: dict[str, Any] | list[Any], strings: list[str], keys: list[str]) -> bool:
    """Collects the strings and keys of a fields value (dicts and lists walked); True when it holds
    an integer long enough to be a card number."""
    big = False
    if isinstance(value, dict):
        keys.extend(value)
        items: Iterable[Any] = value.values()
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind is str:
            strings.append(item)
        elif kind is int:
            big = big or item >= _SMALLEST_CARD
        elif isinstance(item, dict | list):
            big = _gather(item, strings, keys) or big
        elif isinstance(item, str):
            strings.append(item)
    return big


def _most(found: Counter[str], counts: Counter[str]) -> None:
    """Raises each rule's count in `found` to the one in `counts` where that is higher."""
    for name, count in counts.items():
        if count > found[name]:
            found[name] = count
