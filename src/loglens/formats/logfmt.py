"""logfmt logs (`ts=… level=info msg="a \\"quoted\\" text" latency_ms=17 cached`), one event per line.

Keys are mapped to the Record like JSON's (same `StructuredMapper`); integer and decimal values become
numbers in `fields`, so that numeric queries such as `latency_ms:>1000` work.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from loglens.formats.base import SourceContext, unparsed_record, whole_number
from loglens.formats.json import StructuredMapper, merge_in_order
from loglens.record import Record

# One findall per line (possessive quantifiers: nothing here needs backtracking). Groups: key, "=",
# quoted body, number, bare value. A number only counts when the value ends there, so `7d2f…` ids
# stay strings; no exponents (a hex id such as `12e4` is no number) and no leading zeros (`007` is an
# identifier).
_PAIR: Final = re.compile(
    r"""([^\s=]++)(?:(=)(?:"([^"\\]*+(?:\\.[^"\\]*+)*+)"|(-?(?:0|[1-9]\d*+)(?:\.\d++)?+)(?!\S)|(\S*+)))?"""
)
# A line starts like logfmt when its first token is `identifier=`.
_START: Final = re.compile(r"\s*[A-Za-z_@][\w.\-/@]*=")
_ESCAPE: Final = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/"}


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 5:
        point = int(code[1:], 16)
        # A lone surrogate half is no character (and no text the store can write): kept as written.
        return match.group(0) if 0xD800 <= point <= 0xDFFF else chr(point)
    # An unknown escape is kept as written: better a stray backslash than a lost character.
    return _ESCAPES.get(code, match.group(0))


def unescape(body: str) -> str:
    """The text of a quoted logfmt value (Go strconv-style escapes: \\" \\\\ \\n \\t \\r \\uXXXX)."""
    return _ESCAPE.sub(_unescape_one, body)


def split_pairs(line: str) -> tuple[dict[str, Any], int]:
    """The pairs of a logfmt line as a dict (a bare key is True) and how many had `=`."""
    pairs: dict[str, Any] = {}
    with_value = 0
    for key, eq, quoted, number, bare in _PAIR.findall(line):
        if not eq:
            pairs[key] = True
            continue
        with_value += 1
        if quoted:
            pairs[key] = unescape(quoted) if "\\" in quoted else quoted
        elif number:
            pairs[key] = float(number) if "." in number else whole_number(number)
        else:
            pairs[key] = bare
    return pairs, with_value


class LogfmtFormat:
    """logfmt: space-separated `key=value` pairs, values quoted when they hold spaces, `=` or quotes."""

    name: ClassVar[str] = "logfmt"
    multiline: ClassVar[bool] = False

    def __init__(self) -> None:
        self._mapper = StructuredMapper()

    def sniff(self, line: str) -> bool:
        """True when the line starts with `key=` and at least half of its tokens are `key=value`."""
        if _START.match(line) is None:
            return False
        pairs = _PAIR.findall(line)
        with_value = sum(1 for pair in pairs if pair[1])
        return with_value * 2 >= len(pairs)

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line without any `key=value` pair gets `parse_error` set."""
        split = split_pairs
        decoded: list[tuple[dict[str, Any], str]] = []
        append = decoded.append
        bad: list[tuple[int, Record]] = []
        for index, raw in enumerate(events):
            pairs, with_value = split(raw)
            if not with_value:
                bad.append((index, unparsed_record(raw, "logfmt: no key=value pair", ctx)))
                continue
            append((pairs, raw))
        return merge_in_order(self._mapper.records(decoded, ctx), bad)
