"""JSON text of any value a log record can carry, including the ones orjson refuses to write.

orjson reads nesting four times deeper (1,024 levels) than it writes (254), and values from elsewhere
may hold integers past 64 bits or lone surrogates; a record holding one must still be stored and shown.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

__all__ = ["MAX_DEPTH", "dumps_any", "within_depth"]

MAX_DEPTH: Final = 200
"""Levels of nesting kept when orjson cannot write a value as it is; deeper parts become a note."""
_DEEPER: Final = f"…(nested deeper than {MAX_DEPTH} levels)"
_INT_RANGE: Final = (-(2**63), 2**64 - 1)
_CONTAINERS: Final = frozenset((dict, list))


def dumps_any(value: Any) -> bytes:
    """`orjson.dumps(value, default=str)`, or, when orjson cannot write `value`, the same with what it
    cannot write made text: integers past 64 bits as their digits, lone surrogates as `\\udXXX`
    escapes, and nesting past `MAX_DEPTH` levels as a note (the record's raw text still holds it all).

    Costs nothing extra for a value orjson writes: the fallback runs only after it has refused.
    """
    try:
        return orjson.dumps(value, default=str)
    except orjson.JSONEncodeError:
        return orjson.dumps(_writable(value, 0), default=str)


def within_depth(value: dict[str, Any]) -> dict[str, Any]:
    """`value` itself when it nests at most `MAX_DEPTH` levels, else a copy as `dumps_any` writes it
    (deeper parts a note), which is what the store keeps of it anyway.

    For ingest: orjson reads 1,024 levels, and every walk of a record's fields after it (redaction,
    field discovery, the bus codec) would otherwise need to be written without recursion. Measured
    without recursion itself; a flat record costs one look at the type of each value.
    """
    if _CONTAINERS.isdisjoint(map(type, value.values())):  # flat, as most records are: 0.2 µs
        return value
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 0)]
    while stack:
        container, depth = stack.pop()
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, dict | list):
                if depth + 1 >= MAX_DEPTH:
                    cut: dict[str, Any] = _writable(value, 0)
                    return cut
                stack.append((item, depth + 1))
    return value


def _writable(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            return _DEEPER
        if kind is dict:
            return {_text(str(key)): _writable(item, depth + 1) for key, item in value.items()}
        return [_writable(item, depth + 1) for item in value]
    if kind is str:
        return _text(value)
    if kind is int and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        return str(value)
    return value


def _text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
