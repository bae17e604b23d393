"""The query language's second back-end: a Python predicate over fresh Records, for the live channel.

A live subscriber's filter runs on every batch the pipeline publishes. Through SQL (`RecordMatcher`)
that meant an Arrow table of the batch and a DuckDB query per batch per subscriber: at 5,000 lines/s
one subscriber filtering by service cost the daemon a fifth of its interpreter time. Most live
filters are a service, a level and a few words, which Python decides per record in well under a
microsecond. The nodes whose meaning is defined by SQL (regexes run by RE2, `*` globs, parsed fields
read from JSON) are not translated: `record_predicate` answers None and the caller keeps SQL, so the
two back-ends never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loglens.query.language import And, Compare, Exists, FieldMatch, Node, Not, Or, Phrase, Term
from loglens.record import LABEL_OF, Record

Predicate = Callable[[Record], bool]

# Record attributes the predicate reads for the query's column names (as the store's columns).
_TEXT_ATTRIBUTES = {
    "service": "service",
    "host": "host",
    "source": "source",
    "template_id": "template_id",
    "trace_id": "trace_id",
    "span_id": "span_id",
    "category": "category",
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def record_predicate(node: Node) -> Predicate | None:
    """A function deciding `node` for one Record as the store's SQL would, or None when `node` holds
    something only SQL decides (regex, glob, parsed field)."""
    match node:
        case Term(text) if "*" not in text:
            return _contains(text)
        case Phrase(text):
            return _contains(text)
        case FieldMatch("message", value, False):
            return _contains(value)
        case FieldMatch("level", label, False):
            return lambda record: LABEL_OF[record.level] == label
        case FieldMatch("pid", value, False) if value.isdigit():
            number = int(value)
            return lambda record: record.pid == number
        case FieldMatch(field, value, False) if field in _TEXT_ATTRIBUTES:
            name = _TEXT_ATTRIBUTES[field]
            return lambda record: getattr(record, name) == value
        case Compare("level", op, value):
            compare = _COMPARE[op]
            return lambda record: compare(record.level, value)
        case Exists(field) if field in _TEXT_ATTRIBUTES or field in ("pid", "parse_error"):
            name = _TEXT_ATTRIBUTES.get(field, field)
            return lambda record: getattr(record, name) is not None
        case Not(inner):
            # SQL's `IS NOT TRUE`: a record the inner node cannot decide (a missing value) matches.
            decide = record_predicate(inner)
            return None if decide is None else lambda record: not decide(record)
        case And(nodes):
            return _combine(nodes, all)
        case Or(nodes):
            return _combine(nodes, any)
    return None


def _contains(text: str) -> Predicate:
    """A case-insensitive substring of the message (SQL: `contains(lower(message), lower(?))`)."""
    folded = text.lower()
    return lambda record: folded in record.message.lower()


def _combine(nodes: tuple[Node, ...], mode: Callable[[Any], bool]) -> Predicate | None:
    parts = [record_predicate(child) for child in nodes]
    if any(part is None for part in parts):
        return None
    decided: list[Predicate] = [part for part in parts if part is not None]
    if not decided:
        return (lambda record: True) if mode is all else (lambda record: False)
    if len(decided) == 1:
        return decided[0]
    return lambda record: mode(part(record) for part in decided)
