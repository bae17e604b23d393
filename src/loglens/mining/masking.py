"""Token masking: which words of a message are variables, decided per token shape and memoised.

A token is masked when it carries data rather than wording: numbers, hex ids, UUIDs, paths and URLs,
e-mail addresses, durations, words over 256 characters. Punctuation that frames a value (`(`, `)`, `,`,
a trailing `:`), a `key=` prefix, a function name (`chdir(<*>)`) and the word of a numbered thing
(`core.<*>`) stay literal, so `(pid=4242),` masks to `(pid=<*>),`; an address with a port is two values
(`<*>:<*>`). Names with a digit (`ssh2`, `jk2_init`) are wording. An HTTP request line is masked by route
(`mask_request_target`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from typing import Final

WILDCARD: Final = "<*>"
_MEMO_LIMIT: Final = 50_000
"""Tokens remembered (cleared when full). Smaller than it could be on purpose: a lookup in a memo
that fits the CPU caches costs less, and the mining of a generated corpus ran 12% faster at 50k than
at 200k."""

# Framing punctuation kept around a masked core.
_OPENERS = "([{<'\""
CLOSERS: Final = "()]}>'\",;:.!?"
"""Punctuation that closes a value and stays literal around it (`(` too: the tail of `jk2_init()`)."""
_KEY_VALUE = re.compile(r"^([^\d=\s]*?[A-Za-z_][\w.\-]*[=:])(.+)$", re.DOTALL)
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]{8,}$|^0x[0-9a-fA-F]+$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_NAME_WITH_DIGIT = re.compile(r"^[A-Za-z]{2,}\d$")
_DIGIT = re.compile(r"\d").search
_SPACE = re.compile(r"\s").search
MAX_WORD_CHARS: Final = 256
"""A longer word is data (a blob, minified JSON, a token): a value, and never remembered as a word."""
MAX_TOKENS: Final = 128
"""Words a message is mined by (see drain.tokenize); the rest of its line is one last word, masked."""
_VALUE_SIGN = re.compile(r"[/@]").search
_HEX_WORD = re.compile(r"[(\[{<'\"]*(?:0x)?[0-9a-fA-F]{8,}[()\]}>'\",;:.!?]*$").match
_IP_PORT = re.compile(r"/?\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}").fullmatch
_NUMBERED = re.compile(r"([A-Za-z][A-Za-z_\-]*\.)\d+").fullmatch
_CALL = re.compile(r"([A-Za-z_]\w*\()(.+)", re.DOTALL).fullmatch
_DIGIT_IN_NAME = re.compile(r"[A-Za-z]+\d+_[A-Za-z_]+").fullmatch


def _is_variable(core: str, has_digit: bool) -> bool:
    """True when a token's core (punctuation stripped) is data rather than wording."""
    if not core:
        return False
    if has_digit:
        # A word with one digit glued to its end names a thing (`ssh2`, `ipv4`, `md5`), not a value;
        # so does an identifier with digits inside a word (`jk2_init`, `utf8_decode`).
        return not (_is_name_with_digit(core) or _DIGIT_IN_NAME(core) is not None)
    return (
        ((len(core) >= 8 or core.startswith("0x")) and _HEX.match(core) is not None)
        or ("@" in core and _EMAIL.match(core) is not None)
        or ("://" in core and _URL.match(core) is not None)
        or _is_path(core)
    )


def _is_name_with_digit(core: str) -> bool:
    """`ssh2`, `md5`: two or more ASCII letters and one final digit."""
    word = core[:-1]
    return len(word) >= 2 and core[-1].isdecimal() and word.isascii() and word.isalpha()


def _is_path(core: str) -> bool:
    """Absolute paths are values (`/var/log/app.log`); a lone `/` or `/health` is not."""
    return core.startswith("/") and len(core) > 1 and "/" in core[1:]


def mask_token(token: str) -> str:
    """The token (a word without whitespace) with its variable part replaced by `<*>`, or unchanged
    when it is wording.

    Written for a first sight of a token, which in a stream of fresh values is most tokens the memo
    has not seen: plain `in` and `str` tests guard each pattern, because a pattern call costs ~0.2 µs
    here and the key=value one backtracks along long tokens (3.4 → 1.6 µs a new token, measured).
    """
    # Fast answers for the commonest kinds: plain numbers, and words with nothing that could make
    # them a value (no digit, no path, address or URL sign, not long enough to be a hex id).
    if token.isdigit() or len(token) > MAX_WORD_CHARS:
        return WILDCARD
    if token.isalpha() and (len(token) < 8 or _HEX.match(token) is None):
        return token
    has_digit = _DIGIT(token) is not None
    if not has_digit and _VALUE_SIGN(token) is None and (len(token) < 8 or _HEX_WORD(token) is None):
        return token
    opened = token.lstrip(_OPENERS)
    core = opened.rstrip(CLOSERS)
    head, tail = token[: len(token) - len(opened)], opened[len(core) :]
    if not core:
        return token
    if "://" in core and _URL.match(core):
        return f"{head}{WILDCARD}{tail}"
    if ":" in core and _IP_PORT(core) is not None:
        return f"{head}{WILDCARD}:{WILDCARD}{tail}"  # an address and a port: two values
    # `=`/`:` checked first: the pattern backtracks along a long token that has neither.
    key_value = _KEY_VALUE.match(core) if "=" in core or ":" in core else None
    if key_value is not None and _DIGIT(key_value.group(1)) is None:
        key, value = key_value.groups()
        return f"{head}{key}{WILDCARD}{tail}" if _is_variable(value, _DIGIT(value) is not None) else token
    call = _CALL(core) if "(" in core else None
    if call is not None:  # `chdir(/p/gb1/x)`: the function stays, its argument may be a value
        name, argument = call.groups()
        return (
            f"{head}{name}{WILDCARD}{tail}" if _is_variable(argument, _DIGIT(argument) is not None) else token
        )
    numbered = _NUMBERED(core) if has_digit and "." in core else None
    if numbered is not None:  # `core.4567`: a numbered thing, its word kept
        return f"{head}{numbered.group(1)}{WILDCARD}{tail}"
    return f"{head}{WILDCARD}{tail}" if _is_variable(core, has_digit) else token


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
_API_VERSION = re.compile(r"[vV]\d{1,2}").fullmatch
_RANDOM_MIN_LENGTH = 10
_RANDOM_CASE_SWITCHES = 4


def mask_request_target(target: str) -> str:
    """An HTTP request target masked segment by segment, so that a route stays a route:
    `/api/v1/cart/5faa3f5f-ca81/items?page=2` → `/api/v1/cart/<*>/items?page=<*>`.

    A segment is masked when `mask_token` calls it a value, or when it looks random (a generated id
    without digits, `pi_ziXKORFlymLgJyQR`: long, its letters switching case again and again); API
    versions (`v1`) stay; a file name keeps its stem and extension (`app.6664369d.js` → `app.<*>.js`);
    query values are always masked. Masking the whole target instead made every request of a method
    one template.
    """
    route, question, query = target.partition("?")
    masked = "/".join(_mask_segment(segment) for segment in route.split("/"))
    if question:
        pairs = (_mask_query_pair(pair) for pair in query.split("&"))
        masked = f"{masked}?{'&'.join(pairs)}"
    return masked


def _mask_segment(segment: str) -> str:
    if not segment or _API_VERSION(segment) is not None:
        return segment
    stem, dot, _ = segment.partition(".")
    if dot and stem.isalpha():
        return ".".join(part if _is_wording(part) else WILDCARD for part in segment.split("."))
    return segment if _is_wording(segment) else WILDCARD


def _is_wording(part: str) -> bool:
    return mask_token(part) == part and not _looks_random(part)


def _looks_random(word: str) -> bool:
    """Long, with the case of its letters switching often: `ziXKORFlymLgJyQR` (7 switches), not
    `PacketResponder` (2)."""
    if len(word) < _RANDOM_MIN_LENGTH:
        return False
    letters = [c.isupper() for c in word if c.isalpha()]
    return sum(a != b for a, b in pairwise(letters)) >= _RANDOM_CASE_SWITCHES


def _mask_query_pair(pair: str) -> str:
    key, equals, _ = pair.partition("=")
    if equals:
        return f"{key}={WILDCARD}"
    return pair if mask_token(pair) == pair else WILDCARD


class TokenMasker:
    """Memoised `mask_token`: tokens repeat endlessly in logs, so each shape is decided once.

    A message that is an HTTP request line (`GET /path HTTP/1.1`, an access log's message) has its
    target masked by `mask_request_target` and its protocol kept.
    """

    __slots__ = ("_memo", "_targets")

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}
        self._targets: dict[str, str] = {}

    def mask(self, tokens: list[str]) -> tuple[str, ...]:
        """The masked form of a tokenised message."""
        if len(tokens) == 3 and tokens[0] in HTTP_METHODS and tokens[2].startswith("HTTP/"):
            return tokens[0], self._target(tokens[1]), tokens[2]
        memo = self._memo
        out = [memo.get(token) or _remember(memo, token, mask_token) for token in tokens]
        if len(out) == MAX_TOKENS and _SPACE(tokens[-1]) is not None:
            out[-1] = WILDCARD  # the rest of an over-long message: never wording to match
        return tuple(out)

    def _target(self, target: str) -> str:
        return self._targets.get(target) or _remember(self._targets, target, mask_request_target)


def _remember(memo: dict[str, str], word: str, mask: Callable[[str], str]) -> str:
    """`mask(word)`, kept in `memo` (cleared when full) unless the word is too long to be worth it:
    each memo holds at most `_MEMO_LIMIT` keys of at most `MAX_WORD_CHARS` characters."""
    masked = mask(word)
    if len(word) <= MAX_WORD_CHARS:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[word] = masked
    return masked
