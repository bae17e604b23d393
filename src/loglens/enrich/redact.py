"""Redaction of secrets and personal data in log text: what loglens stores (`enrich.privacy`) and what
leaves it for an LLM has e-mail addresses, card numbers, tokens, keys and passwords replaced by markers.

Each rule is one precompiled regex with cheap pre-checks (substrings that must occur, or a test in C
for what no substring can tell, such as a run of 13 digits), so a line with nothing to hide costs a
lowercase copy, a few `in` tests and one byte translation. Rules run in order, and a later rule never
matches a marker an earlier one left (`<token>` etc.).
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
        precheck: a cheap test the text must pass (after the hints) for the rule to run, for what
            no substring can pre-check; it may pass text the pattern then finds nothing in, never
            the other way round, and passes any text holding one it passes (a record's strings are
            screened once, joined).
    """

    name: str
    pattern: re.Pattern[str]
    replacement: str
    validator: Callable[[str], bool] | None = None
    hints: tuple[str, ...] = ()
    precheck: Callable[[str], bool] | None = None


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


def ipv4_octets(candidate: str) -> bool:
    """Whether a dotted quad's four numbers are all 0–255 (`300.1.1.1` is a version, not an address)."""
    return all(int(octet) <= 255 for octet in candidate.split("."))


def ipv6_address(candidate: str) -> bool:
    """Whether a run of hex digits and colons is an IPv6 address (and not a time or a MAC address)."""
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


_DIGITS_AS_ZERO = bytes(48 if 48 <= byte <= 57 else 120 for byte in range(256))
"""A byte table: digits become `0`, everything else `x` (spaces and dashes are deleted apart)."""
_THIRTEEN_DIGITS = b"0" * 13


def digit_run(text: str) -> bool:
    """Whether `text` holds 13 digits in a row once spaces and dashes are taken out: what every card
    number has. A regex would try a match at every digit of every timestamp (5 µs a line on the
    test corpus); this is one translation in C (0.5 µs)."""
    data = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO, b" -")
    return _THIRTEEN_DIGITS in data


_IPV4_SHAPE = re.compile(r"\.\d{1,3}\.\d{1,3}\.")
"""The middle of a dotted quad (`.8.175.`), which starts with a literal the regex engine scans for fast."""
_IPV6_SHAPE = re.compile(r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
"""`::`, or four colons around three groups: an IPv6 address has one or the other, a time of day neither."""

_VALUE_END = r"\s\"'&,;}<>"
"""Characters that end an unquoted key=value value (and `<`, so markers are never redacted again)."""


def _key_value(keys: str, initials: str, *, bare_colon: bool) -> re.Pattern[str]:
    """`key=value` and JSON `"key": "value"` (with `bare_colon`, also `key: value`) for keys ending in
    one of `keys` (whose first letters are `initials`); the key, separator and opening quote are kept,
    the value (quoted: up to its closing quote) is replaced.

    The match starts at the key's ending, led by a look-ahead at its initials: the regex engine then
    skips to those letters (a match starting at any word, `\\b[\\w.-]*?token`, took 27 µs a JSON line).
    """
    separator = r"[\"']?\s*[:=]" if bare_colon else r"(?:\s*=|[\"']\s*:)"
    return re.compile(
        rf"(?=[{initials}])(?P<keep>(?:{keys}){separator}\s*(?P<quote>[\"'])?)"
        rf"(?(quote)(?!<)[^\"'\n]+|(?!<)[^{_VALUE_END}]+)",
        re.IGNORECASE,
    )


_SCHEMES = r"(?:bearer|basic|token|digest|negotiate|apikey)"
"""HTTP authentication schemes, kept in front of the credential they introduce."""

DEFAULT_RULES: tuple[RedactionRule, ...] = (
    # First, so that `user:pass@host` is not read as an e-mail address `pass@host`. Starting at `://`
    # (not at the scheme) lets the regex engine jump between occurrences instead of trying each word.
    RedactionRule(
        "url_password",
        re.compile(r"(?P<keep>://[^\s:/@<>]*:)(?!<)[^\s@/<>]+(?=@)"),
        SECRET,
        hints=("@",),
    ),
    # Before `bearer`, which would leave `Authorization: Bearer <token>`; the scheme is never the value.
    RedactionRule(
        "authorization",
        re.compile(
            r"(?=[paxPAX])(?P<keep>\b(?:(?:proxy-)?authorization|x-api-key|api-key|x-auth-token)[\"']?\s*[:=]\s*[\"']?"
            rf"(?:{_SCHEMES}\s+)?)(?!<|{_SCHEMES}\s)[^\s\"',;]+",
            re.IGNORECASE,
        ),
        TOKEN,
        hints=("auth", "api-key"),  # `auth` for both `authorization` and `auth-token`
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
            r"(?=[sgAx])(?:\bsk-(?:proj-|ant-|live-|test-)?[\w-]{16,}"
            r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_\w{30,}"
            r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
            r"|\bxox[abprs]-[\w-]{10,})"
        ),
        TOKEN,
        hints=("sk-", "gh", "akia", "asia", "xox"),
    ),
    # sudo logs `PWD=/home/deploy`: the working directory, not a password.
    RedactionRule(
        "password",
        _key_value(r"password|passwd|pwd(?![\"']?\s*[:=]\s*/)", "p", bare_colon=True),
        SECRET,
        hints=("pass", "pwd"),
    ),
    # `token: expired` is prose more often than a secret, so a bare colon is not enough here.
    RedactionRule(
        "key_value_token",
        _key_value(r"api[_-]?key|access[_-]?key|token|secret", "ats", bare_colon=False),
        TOKEN,
        # Not `key`: it is in every "cache hit for key …", and a pass of the regex costs more.
        hints=("apikey", "api_key", "api-key", "accesskey", "access_key", "access-key", "token", "secret"),
    ),
    # systemd's template units (`user@1000.service`) look like addresses; no top-level domain is
    # named like a unit type.
    RedactionRule(
        "email",
        re.compile(
            r"\b[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
            r"\.(?!(?:service|socket|target|timer|mount|automount|slice|scope|path|device|swap)\b)[A-Za-z]{2,}\b"
        ),
        EMAIL,
        hints=("@",),
    ),
    # Written as cards are: 13–19 digits in a row, or grouped 4-4-4-4(-1..3) or 4-6-4/5 (Amex, Diners)
    # by one kind of separator; not any digits with single spaces between (a kernel's OOM table,
    # `32703 1864377 1832193`, passed the Luhn check one time in ten).
    RedactionRule(
        "card",
        re.compile(
            r"(?<![\w-])(?:\d{13,19}"
            r"|\d{4}(?P<sep>[ -])\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?:(?P=sep)\d{1,3})?"
            r"|\d{4}(?P<amex>[ -])\d{6}(?P=amex)\d{4,5})(?![\w-])"
        ),
        CARD,
        validator=card_number,
        precheck=digit_run,
    ),
)
"""Secrets and personal data, in the order they are looked for (see each rule's comment for why)."""

IP_RULES: tuple[RedactionRule, ...] = (
    # Starting with a digit (the boundary checked behind it) lets the regex engine skip to digits, and
    # octets checked in Python beat alternations tried at every one (2 µs instead of 4 a log line).
    RedactionRule(
        "ipv4",
        re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\.?\w)"),
        IP,
        validator=ipv4_octets,
        hints=(".",),
        precheck=lambda text: _IPV4_SHAPE.search(text) is not None,
    ),
    RedactionRule(
        "ipv6",
        re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,37}(?![\w:])"),
        IP,
        validator=ipv6_address,
        hints=(":",),
        precheck=lambda text: _IPV6_SHAPE.search(text) is not None,
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
        self._replacers = {id(rule): self._replacer(rule) for rule in self.rules}
        self._screens = [(rule, rule.hints, rule.precheck) for rule in self.rules]

    def rules_for(self, text: str, among: Sequence[RedactionRule] | None = None) -> list[RedactionRule]:
        """The rules (of `among`, default all; in that order) whose pre-checks pass on `text`: the only
        ones that can find anything in it or in any part of it, so that the strings of one record can
        be screened once, joined."""
        chosen: list[RedactionRule] = []
        if not text:
            return chosen
        lowered = text.lower()
        screens = self._screens if among is None else [(rule, rule.hints, rule.precheck) for rule in among]
        for rule, hints, precheck in screens:
            # A loop, not any(): a generator per rule and line cost more than the tests themselves.
            if hints:
                for hint in hints:
                    if hint in lowered:
                        break
                else:
                    continue
            if precheck is None or precheck(text):
                chosen.append(rule)
        return chosen

    def redact(self, text: str, rules: Sequence[RedactionRule] | None = None) -> str:
        """`text` with every sensitive value the rules find replaced by its marker.

        Args:
            text: what to redact.
            rules: run only these of this redactor's rules, in its order (as `rules_for` chose them
                for a whole record, say); each still only where its pre-checks pass on `text`.
        """
        replacers = self._replacers
        for rule in self.rules_for(text, rules):
            text = rule.pattern.sub(replacers[id(rule)], text)
        return text

    def _replacer(self, rule: RedactionRule) -> Callable[[re.Match[str]], str]:
        """The re.sub callback of a rule: validates, counts, and keeps the `keep` group in front."""
        keeps = "keep" in rule.pattern.groupindex

        def replace(match: re.Match[str]) -> str:
            keep = (match.group("keep") or "") if keeps else ""
            value = match.group(0)[len(keep) :]
            if not value or (rule.validator is not None and not rule.validator(value)):
                return match.group(0)  # an empty match (a rule of one's own) would mark every position
            self.redact_counts[rule.name] += 1
            return keep + rule.replacement

        return replace
