"""Token masking: which words of a message are variables, decided per token shape and memoised.

A token is masked when it carries data rather than wording: numbers, hex ids, IPs with ports, UUIDs,
paths and URLs with digits, e-mail addresses, durations. Punctuation that frames a value (`(`, `)`, `,`,
a trailing `:`) and a `key=` prefix stay literal, so `(pid=4242),` masks to `(pid=<*>),`.
"""

from __future__ import annotations

import re
from typing import Final

WILDCARD: Final = "<*>"
_MEMO_LIMIT: Final = 200_000

# Framing punctuation kept around a masked core.
_OPENERS = "([{<'\""
_CLOSERS = ")]}>'\",;:.!?"
_KEY_VALUE = re.compile(r"^([^\d=\s]*?[A-Za-z_][\w.\-]*[=:])(.+)$", re.DOTALL)
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]{8,}$|^0x[0-9a-fA-F]+$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_NAME_WITH_DIGIT = re.compile(r"^[A-Za-z]{2,}\d$")
_DIGIT = re.compile(r"\d").search
_VALUE_SIGN = re.compile(r"[/@]").search
_HEX_WORD = re.compile(r"[(\[{<'\"]*(?:0x)?[0-9a-fA-F]{8,}[)\]}>'\",;:.!?]*$").match


def _is_variable(core: str) -> bool:
    """True when a token's core (punctuation stripped) is data rather than wording."""
    if not core:
        return False
    if _DIGIT(core) is not None:
        # A word with one digit glued to its end names a thing (`ssh2`, `ipv4`, `md5`), not a value.
        return _NAME_WITH_DIGIT.match(core) is None
    return bool(_HEX.match(core) or _EMAIL.match(core) or _URL.match(core)) or _is_path(core)


def _is_path(core: str) -> bool:
    """Absolute paths are values (`/var/log/app.log`); a lone `/` or `/health` is not."""
    return core.startswith("/") and len(core) > 1 and "/" in core[1:]


def mask_token(token: str) -> str:
    """The token with its variable part replaced by `<*>` (unchanged when it is wording)."""
    # Fast answers for the two commonest kinds: plain numbers, and words with nothing that could make
    # them a value (no digit, no path, address or URL sign, not long enough to be a hex id).
    if token.isdigit():
        return WILDCARD
    if _DIGIT(token) is None and _VALUE_SIGN(token) is None and (len(token) < 8 or _HEX_WORD(token) is None):
        return token
    opened = token.lstrip(_OPENERS)
    core = opened.rstrip(_CLOSERS)
    head, tail = token[: len(token) - len(opened)], opened[len(core) :]
    if not core:
        return token
    if _URL.match(core):
        return f"{head}{WILDCARD}{tail}"
    key_value = _KEY_VALUE.match(core)
    if key_value is not None and _DIGIT(key_value.group(1)) is None:
        key, value = key_value.groups()
        return f"{head}{key}{WILDCARD}{tail}" if _is_variable(value) else token
    return f"{head}{WILDCARD}{tail}" if _is_variable(core) else token


class TokenMasker:
    """Memoised `mask_token`: tokens repeat endlessly in logs, so each shape is decided once."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def mask(self, tokens: list[str]) -> tuple[str, ...]:
        """The masked form of a tokenised message."""
        memo = self._memo
        out = []
        for token in tokens:
            masked = memo.get(token)
            if masked is None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                masked = memo[token] = mask_token(token)
            out.append(masked)
        return tuple(out)
