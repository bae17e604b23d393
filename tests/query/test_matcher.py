"""Tests for loglens.query.matcher: the live filter must select exactly what the store's search selects.

Two hundred varied records are written to a real DuckDB store file; every query is then run both ways
— `RecordMatcher` over the fresh records and `DuckDBStore.search` over the stored ones — and the two
selections, told apart by the index each message starts with, must be identical.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loglens.query.language import (
    CompiledQuery,
    and_all,
    compile_query,
    grep_clause,
    level_clause,
    service_clause,
)
from loglens.query.matcher import RecordMatcher
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore

BASE_NS = 1_763_683_200_000_000_000
N = 200

SERVICES = ("api", "web", "db", "api-gw", "worker")
LEVELS = tuple(Level)
PHRASES = (
    "request timeout after 30s",
    "connection refused by upstream",
    "user login ok",
    "Timed out waiting for lock",
    "disk full on /var",
    "cache hit ratio 0.93",
    "GET /healthcheck 200",
    "TIMEOUT in handler",
    "retrying 100% of calls",
    "user_id lookup failed",
)
FIELDS: tuple[dict[str, Any] | None, ...] = (
    {"status": 503, "user": "bob"},
    {"status": 200, "user": "alice"},
    {"status": "503", "user": "Bob"},
    {"status": 404},
    {"status": 500.0, "latency_ms": 1200},
    {"status": "n/a", "user": None},
    {"http": {"method": "GET"}, "user": "bob"},
    {"http.method": "POST", "latency_ms": 3.5},
    None,
    {},
)
HOSTS = ("web-1", "web-10", "web_1", None)


def make_records() -> list[Record]:
    """N records with services, levels, messages, fields and hosts drawn by a seeded generator."""
    rng = random.Random(20261127)
    records = []
    for i in range(N):
        records.append(
            Record(
                ts=BASE_NS + i * 1_000_000,
                observed_ts=BASE_NS,
                service=rng.choice(SERVICES),
                source="app.log",
                message=f"#{i:03d} {rng.choice(PHRASES)}",
                raw=f"raw #{i:03d}",
                level=rng.choice(LEVELS),
                host=rng.choice(HOSTS),
                pid=rng.randrange(500, 1500),
                fields=rng.choice(FIELDS),
                parse_error="no format matched" if rng.random() < 0.1 else None,
            )
        )
    return records


def index_of(message: str) -> int:
    return int(message[1:4])


QUERIES = (
    "timeout",
    "-timeout",
    '"connection refused"',
    "time*out",
    "/Time(d|out)/",
    "/time(d|out)/i",
    '"100%"',
    "user_id",
    "level:error",
    "level:error,warning",
    "level:>=warning",
    "level:<info",
    "service:api",
    "service:api,db",
    "service:api*",
    "host:web-*",
    "-host:web-1",
    "status:503",
    "status:>=500",
    "status:>=500 -status:503",
    "latency_ms:>1000",
    "user:bob",
    "has:user",
    "-has:user",
    "http.method:GET",
    "http.method:POST",
    "parse_error:true",
    "parse_error:false",
    "pid:>1000",
    "service:db OR level:error",
    "(service:api OR service:web) -level:debug timeout",
    "user:bob level:>=warning | service:worker",
)

CLAUSES: dict[str, CompiledQuery] = {
    "flags: --level >=warning --service api,web* timeout": and_all(
        [compile_query("timeout"), level_clause(">=warning"), service_clause(["api", "web*"])]
    ),
    "flags: --grep 'Time(d|out)' --level error,critical": and_all(
        [grep_clause("Time(d|out)"), level_clause("error,critical")]
    ),
    "flags: --service db status:>=500": and_all([service_clause(["db"]), compile_query("status:>=500")]),
}

ALL_QUERIES: dict[str, CompiledQuery] = {q: compile_query(q) for q in QUERIES} | CLAUSES


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return make_records()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, records: list[Record]) -> Iterator[DuckDBStore]:
    path: Path = tmp_path_factory.mktemp("matcher") / "s.duckdb"
    store = DuckDBStore(path)
    store.write(records)
    yield store
    store.close()


def store_selection(store: DuckDBStore, query: CompiledQuery) -> list[int]:
    return [index_of(r.message) for r in store.search(query.where, query.params, None)]


class TestRecordMatcher:
    @pytest.mark.parametrize("name", list(ALL_QUERIES))
    def test_agrees_with_store(self, name: str, records: list[Record], store: DuckDBStore) -> None:
        """For each query the matcher picks exactly the records the store's search returns, in order."""
        query = ALL_QUERIES[name]
        expected = store_selection(store, query)
        assert 0 < len(expected) < N, f"{name!r} does not split the sample: {len(expected)} of {N}"
        matcher = RecordMatcher(query)
        try:
            picked = [index_of(r.message) for r in matcher(records)]
        finally:
            matcher.close()
        assert picked == expected

    def test_batches_give_the_same_selection(self, records: list[Record], store: DuckDBStore) -> None:
        """Matching in uneven batches selects the same records as the store does for all of them."""
        query = ALL_QUERIES["(service:api OR service:web) -level:debug timeout"]
        matcher = RecordMatcher(query)
        picked: list[int] = []
        for start in range(0, N, 37):
            picked.extend(index_of(r.message) for r in matcher(records[start : start + 37]))
        matcher.close()
        assert picked == store_selection(store, query)

    def test_returns_the_record_objects(self, records: list[Record]) -> None:
        """The matcher hands back the very Record objects it was given, not copies."""
        matcher = RecordMatcher(compile_query("level:error"))
        picked = matcher(records)
        matcher.close()
        assert picked
        assert all(any(p is r for r in records) for p in picked)

    def test_order_of_the_batch_is_kept(self, records: list[Record]) -> None:
        """Matches come back in the batch's order, even when that is not time order."""
        shuffled = list(records)
        random.Random(7).shuffle(shuffled)
        matcher = RecordMatcher(compile_query("service:api,db"))
        picked = matcher(shuffled)
        matcher.close()
        expected = [r for r in shuffled if r.service in ("api", "db")]
        assert [index_of(r.message) for r in picked] == [index_of(r.message) for r in expected]
        assert [index_of(r.message) for r in picked] != sorted(index_of(r.message) for r in picked)

    def test_empty_query_keeps_everything_without_duckdb(self, records: list[Record]) -> None:
        """An empty query keeps every record as is, without a database or the Arrow conversion."""
        matcher = RecordMatcher(compile_query(""))
        assert matcher._con is None
        # A pid that is not a number could not be converted to Arrow: it passes untouched here.
        odd = Record(ts=0, observed_ts=0, service="s", source="-", message="m", raw="m", pid="x")  # type: ignore[arg-type]
        batch = [*records[:5], odd]
        assert matcher(batch) == batch
        matcher.close()

    def test_empty_batch(self) -> None:
        """An empty batch gives an empty selection for any query."""
        matcher = RecordMatcher(compile_query("level:error"))
        assert matcher([]) == []
        matcher.close()
