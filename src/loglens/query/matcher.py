"""Queries on records that are not stored yet: the live views (`loglens tail`, `loglens run`, the
daemon's live channel).

The query language compiles to SQL over the `records` layout: a batch of fresh records is put in
that layout (the store's own Arrow conversion) and the compiled condition runs on it in a private
in-memory DuckDB, so a live filter and `loglens logs` cannot disagree about what a query means.
`live_matcher` first tries the Python back-end (`predicate.py`), which decides only the nodes whose
meaning leaves no room for disagreement (names, levels, words) and hands anything else to SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa

from loglens.query.language import And, CompiledQuery, compile_node, level_node, parse_query, service_node
from loglens.query.predicate import Predicate, record_predicate
from loglens.record import Record
from loglens.store.duckdb import records_to_arrow

_INDEX = "__row"


class RecordMatcher:
    """Picks the records of a batch that match a compiled query (all of them for an empty query)."""

    def __init__(self, query: CompiledQuery) -> None:
        self._query = query
        self._everything = query.where.strip().upper() == "TRUE"
        self._con = None if self._everything else duckdb.connect(":memory:")

    def __call__(self, records: Sequence[Record]) -> list[Record]:
        """The matching records, in their order."""
        if self._everything or not records:
            return list(records)
        assert self._con is not None
        table = records_to_arrow(records)
        batch = table.append_column(_INDEX, pa.array(range(len(records)), pa.int64()))  # noqa: F841
        rows = self._con.execute(
            f"SELECT {_INDEX} FROM batch WHERE {self._query.where} ORDER BY {_INDEX}", self._query.params
        ).fetchall()
        return [records[row[0]] for row in rows]

    def close(self) -> None:
        """Frees the in-memory database."""
        if self._con is not None:
            self._con.close()


class PredicateMatcher:
    """Picks the records of a batch for which a Python predicate holds."""

    def __init__(self, decide: Predicate) -> None:
        self._decide = decide

    def __call__(self, records: Sequence[Record]) -> list[Record]:
        """The matching records, in their order."""
        decide = self._decide
        return [record for record in records if decide(record)]

    def close(self) -> None:
        """Nothing to free (the same shape as RecordMatcher)."""


def live_matcher(
    query: str = "", level: str | None = None, services: Sequence[str] = ()
) -> Callable[[Sequence[Record]], list[Record]]:
    """The filter of a live subscriber: the query, the level spec and any of the services, decided in
    Python when every part can be, else by SQL. Raises QueryError for a query that does not parse."""
    parts = [parse_query(query), service_node(services)]
    if level:
        parts.append(level_node(level))
    node = And(tuple(parts))
    decide = record_predicate(node)
    if decide is not None:
        return PredicateMatcher(decide)
    return RecordMatcher(compile_node(node))
