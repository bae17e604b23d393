"""Queries on records that are not stored yet: the live views (`loglens tail`, `loglens run`).

The query language compiles to SQL over the `records` layout, and nothing else should interpret it:
a batch of fresh records is put in that layout (the store's own Arrow conversion) and the compiled
condition runs on it in a private in-memory DuckDB, so a live filter and `loglens logs` can never
disagree about what a query means.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from loglens.query.language import CompiledQuery
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
