"""Redaction of secrets and personal data in log text: what leaves loglens for an LLM (and, later,
what it stores) has e-mail addresses, card numbers, tokens, keys and passwords replaced by markers.

Each rule is one precompiled regex with a cheap pre-check (substrings that must occur for the rule to
have anything to find), so a line with nothing to hide costs a lowercase copy and a few `in` tests.
Rules run in order, and a later rule never matches a marker an earlier one left (`<token>` etc.).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

EMAIL = "<email>"
CARD = "<card>"
TOKEN = "<token>"
SECRET = "<secret>"
IP = "<ip>"
MARKERS = (EMAIL, CARD, TOKEN, SECRET, IP)
"""What redacted values become: the LLM is told these are placeholders, not values."""


@dataclass(frozen=True, slots=True)
class RedactionRule:
    """One kind of sensitive value and what replaces it.

    Attributes:
        name: what `Redactor.redact_counts` counts this rule's replacements under.
        pattern: finds candidates; a group named `keep` (when there is one) is kept in front of the
            replacement, so `password=` or `Authorization: Bearer ` stay readable.
        replacement: the marker that takes the value's place.
        validator: tells a real value from a look-alike (the Luhn check for cards); a candidate it
            refuses stays as it was.
        hints: lowercase substrings one of which must occur in the text for the rule to run at all
            (empty: always run); the pre-check that keeps clean lines cheap.
    """

    name: str
    pattern: re.Pattern[str]
    replacement: str
    validator: Callable[[str], bool] | None = None
    hints: tuple[str, ...] = ()


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number(candidate: str) -> bool:
    """A 13–19 digit card number: Luhn-valid, and starting 2–6 as the card networks' numbers do (so
    that ids and epoch timestamps starting 1, 7, 8 or 9 are never taken for cards)."""
    digits = candidate.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def ipv6_address(candidate: str) -> bool:
    """Whether a run of hex digits and colons is an IPv6 address (and not a time or a MAC address)."""
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


_VALUE_END = r"\s\"'&,;}<>"
"""Characters that end an unquoted key=value value (and `<`, so markers are never redacted again)."""


def _key_value(keys: str, *, bare_colon: bool) -> re.Pattern[str]:
    """`key=value` and JSON `"key": "value"` (with `bare_colon`, also `key: value`) for keys ending in
    one of `keys`; the key, separator and opening quote are kept, the value (quoted: up to its closing
    quote) is replaced."""
    separator = r"[\"']?\s*[:=]" if bare_colon else r"(?:\s*=|[\"']\s*:)"
    return re.compile(
        rf"(?P<keep>\b[\w.-]*?(?:{keys}){separator}\s*(?P<quote>[\"'])?)"
        rf"(?(quote)(?!<)[^\"'\n]+|(?!<)[^{_VALUE_END}]+)",
        re.IGNORECASE,
    )


_SCHEMES = r"(?:bearer|basic|token|digest|negotiate|apikey)"
"""HTTP authentication schemes, kept in front of the credential they introduce."""

DEFAULT_RULES: tuple[RedactionRule, ...] = (
    # First, so that `user:pass@host` is not read as an e-mail address `pass@host`.
    RedactionRule(
        "url_password",
        re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@<>]*:)(?!<)[^\s@/<>]+(?=@)", re.IGNORECASE),
        SECRET,
        hints=("://",),
    ),
    # Before `bearer`, which would leave `Authorization: Bearer <token>`; the scheme is never the value.
    RedactionRule(
        "authorization",
        re.compile(
            r"(?P<keep>\b(?:(?:proxy-)?authorization|x-api-key|api-key|x-auth-token)[\"']?\s*[:=]\s*[\"']?"
            rf"(?:{_SCHEMES}\s+)?)(?!<|{_SCHEMES}\s)[^\s\"',;]+",
            re.IGNORECASE,
        ),
        TOKEN,
        hints=("authorization", "api-key", "auth-token"),
    ),
    RedactionRule(
        "jwt",
        re.compile(r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*"),
        TOKEN,
        hints=("eyj",),
    ),
    RedactionRule(
        "bearer",
        re.compile(r"(?P<keep>\bbearer\s+)(?!<)[\w.~+/=-]{8,}", re.IGNORECASE),
        TOKEN,
        hints=("bearer",),
    ),
    RedactionRule(
        "api_key",
        re.compile(
            r"\bsk-(?:proj-|ant-|live-|test-)?[\w-]{16,}"
            r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_\w{30,}"
            r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
            r"|\bxox[abprs]-[\w-]{10,}"
        ),
        TOKEN,
        hints=("sk-", "gh", "akia", "asia", "xox"),
    ),
    RedactionRule(
        "password",
        _key_value(r"password|passwd|pwd", bare_colon=True),
        SECRET,
        hints=("pass", "pwd"),
    ),
    # `token: expired` is prose more often than a secret, so a bare colon is not enough here.
    RedactionRule(
        "key_value_token",
        _key_value(r"api[_-]?key|access[_-]?key|token|secret", bare_colon=False),
        TOKEN,
        hints=("key", "token", "secret"),
    ),
    RedactionRule(
        "email",
        re.compile(r"\b[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        EMAIL,
        hints=("@",),
    ),
    # No hint: digits cannot be pre-checked by substring, and the regex fails fast on text.
    RedactionRule(
        "card",
        re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
        CARD,
        validator=card_number,
    ),
)
"""Secrets and personal data, in the order they are looked for (see each rule's comment for why)."""

IP_RULES: tuple[RedactionRule, ...] = (
    RedactionRule(
        "ipv4",
        re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\.?\w)"),
        IP,
        hints=(".",),
    ),
    RedactionRule(
        "ipv6",
        re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,37}(?![\w:])"),
        IP,
        validator=ipv6_address,
        hints=(":",),
    ),
)
"""Addresses, which are often what a log is about (an attacker's, a failing peer's), hence optional."""


class Redactor:
    """Replaces what `rules` find in a text with their markers and counts each rule's replacements.

    Args:
        rules: the rules to apply, in order (default `DEFAULT_RULES`).
        ips: also replace IPv4 and IPv6 addresses with `<ip>` (off by default: addresses are often the
            evidence itself, and rarely a secret).
    """

    def __init__(self, rules: Sequence[RedactionRule] = DEFAULT_RULES, *, ips: bool = False) -> None:
        self.rules: tuple[RedactionRule, ...] = (*rules, *(IP_RULES if ips else ()))
        self.redact_counts: Counter[str] = Counter()
        self._steps = [(rule, self._replacer(rule)) for rule in self.rules]

    def redact(self, text: str) -> str:
        """`text` with every sensitive value the rules find replaced by its marker."""
        if not text:
            return text
        lowered = text.lower()
        for rule, replace in self._steps:
            if not rule.hints or any(hint in lowered for hint in rule.hints):
                text = rule.pattern.sub(replace, text)
        return text

    def _replacer(self, rule: RedactionRule) -> Callable[[re.Match[str]], str]:
        """The re.sub callback of a rule: validates, counts, and keeps the `keep` group in front."""
        keeps = "keep" in rule.pattern.groupindex

        def replace(match: re.Match[str]) -> str:
            keep = (match.group("keep") or "") if keeps else ""
            value = match.group(0)[len(keep) :]
            if rule.validator is not None and not rule.validator(value):
                return match.group(0)
            self.redact_counts[rule.name] += 1
            return keep + rule.replacement

        return replace
