"""Parses a Prometheus/Loki label set as Loki's protobuf push carries it: `{job="api", level="error"}`.

Values are Go strings (double-quoted with escapes, or back-quoted raw); names may be quoted too, as
Prometheus 3 writes UTF-8 names such as `{"service.name"="api"}`.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["parse_labels"]

_NAME: Final = r'(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)")'
_VALUE: Final = r'(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)'
_PAIR: Final = re.compile(rf"\s*{_NAME}\s*=\s*{_VALUE}\s*", re.DOTALL)
_SEPARATOR: Final = re.compile(r"\s*(,|\})")
_ESCAPE: Final = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)
_SIMPLE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'",
}  # fmt: skip


def _unescape_one(match: re.Match[str]) -> str:
    code = match[1]
    head = code[0]
    if head in "xuU" and len(code) > 1:
        point = int(code[1:], 16)
        # No character (a surrogate half, past U+10FFFF): kept as written, as Go's rejects are below.
        return chr(point) if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else match[0]
    if head.isdigit() and len(code) == 3:
        return chr(int(code, 8))
    # An escape Go would reject is kept as written: a label is worth more than strictness here.
    return _SIMPLE_ESCAPES.get(code, match[0])


def _unescape(text: str) -> str:
    return _ESCAPE.sub(_unescape_one, text) if "\\" in text else text


def parse_labels(text: str) -> dict[str, str]:
    """`{a="1", b="x\\"y"}` -> {"a": "1", "b": 'x"y'}; a repeated name keeps its last value.

    Raises:
        ValueError: the text is not a label set; the message says what was expected and where.
    """
    body = text.strip()
    if not body.startswith("{"):
        raise ValueError("expected '{' at char 0")
    labels: dict[str, str] = {}
    pos = 1
    closing = _SEPARATOR.match(body, pos)
    if closing is not None and closing[1] == "}":
        pos = closing.end()
    else:
        while True:
            pair = _PAIR.match(body, pos)
            if pair is None:
                raise ValueError(f'expected name="value" at char {pos}')
            bare, quoted, value, raw = pair.groups()
            name = bare if bare is not None else _unescape(quoted)
            labels[name] = raw if value is None else _unescape(value)
            separator = _SEPARATOR.match(body, pair.end())
            if separator is None:
                raise ValueError(f"expected ',' or '}}' at char {pair.end()}")
            pos = separator.end()
            if separator[1] == "}":
                break
            # A trailing comma before the brace is accepted, as Prometheus does.
            closing = _SEPARATOR.match(body, pos)
            if closing is not None and closing[1] == "}":
                pos = closing.end()
                break
    if body[pos:].strip():
        raise ValueError(f"unexpected text after '}}' at char {pos}")
    return labels
