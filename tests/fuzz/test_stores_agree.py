"""Fuzzing the two stores against each other: a query the language accepts selects the same records
on PostgreSQL (its SQL and regexes translated) as on DuckDB, or is refused there with a QueryError
naming what PostgreSQL lacks — never a different answer, never a 500.

Case-insensitive matching folds case by PostgreSQL's rules, which differ from RE2's for the letters
with a third case form (docs/store.md): those are in neither the pieces nor the messages (ſ ς ẞ µ ϑ,
the Kelvin, Ohm and Ångström signs, İ ı).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzzing import OBSERVED_NS, fuzz, query_texts
from loglens.errors import QueryError
from loglens.query.language import compile_query
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore
from loglens.store.postgres import PostgresStore
from pg_database import fresh_database

MESSAGES = (
    "GET /api/v1/orders 200 12ms",
    "ERROR Timeout after 30s talking to db-1",
    'Traceback (most recent call last):\n  File "app.py", line 3\nValueError: bad',
    "user=alice@example.com id=42",
    "café crème — naïve résumé",
    "Straße ΣΊΣΥΦΟΣ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "tab\there\r\nand\vvertical\fform",
    "a_b-c.d*e+f?g(h)[i]{j}|k^l$m\\n",
    "",
    "   ",
    "x" * 40,
    "UPPER lower MiXeD",
    "line one\nline two\n",
    "١٢٣ ３４ digits",
    "σοφία ΣΟΦΊΑ kelvin K Ω ω å Å",  # no final ς nor the signs: see the docstring
)
PIECES = (
    "a", "x", "e", "ERROR", "error", "line", "é", "ß", "Σ", "\n", " ", "0", "42",
    "σ", "Σ", "k", "s", "i", "I", "ω", "Ω", "å", "Å", "É",
    ".", "^", "$", "|", "*", "+", "?", "*?", "+?", "{2}", "{1,3}", "{0,}",
    "(", ")", "(?:", "(?i)", "(?s)", "(?m)", "(?is)", "(?-i)", "(?P<n>", "(?<n>",
    "[", "]", "[^", "[a-z]", "[^a-z]", "[^\n]", "[[:alpha:]]", "[[:^digit:]]", "[.]", "[]a]", "[^]a]",
    "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b", "\\B", "\\A", "\\z", "\\.", "\\*", "\\\\", "\\-",
    "\\x41", "\\x{e9}", "\\x{1D518}", "\\Qa.b\\E", "\\Q*", "\\t", "\\n", "\\r", "\\v", "\\f",
    "\\pL", "\\p{Greek}",
    "[\\d]", "[\\w-]", "[\\s\\S]", "[^\\s]", "[a\\]]",
)  # fmt: skip

SERVICES = ("api", "db", "web-edge", "é")
FIELDS: tuple[dict[str, object] | None, ...] = (
    {"status": 503, "user": "alice", "http": {"method": "GET"}, "latency_ms": 1.5},
    {"status": "200", "user": "Bob", "latency_ms": "12", "tags": ["a", "b"]},
    None,
    {"status": 404.0, "user": None, "latency_ms": "nan", "http": {"method": "post"}},
    {"status": "5xx", "user": "%_", "latency_ms": 1e300, "deep": {"a": {"b": {"c": 1}}}},
    {"@timestamp": "2026-11-22", "user": "é", "latency_ms": -3, "trace": "abc"},
)
patterns = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, PostgresStore]]:
    """The same records in a real DuckDB file and a fresh PostgreSQL database."""
    levels = list(Level)
    records = [
        Record(OBSERVED_NS + i * 10**9, OBSERVED_NS, SERVICES[i % len(SERVICES)], "fuzz", message, message,
               levels[i % len(levels)], host=f"web-{i % 3}", pid=100 + i, fields=FIELDS[i % len(FIELDS)])
        for i, message in enumerate(MESSAGES)
    ]  # fmt: skip
    with fresh_database() as database:
        duck = DuckDBStore(Path(tmp_path_factory.mktemp("agree")) / "a.duckdb")
        pg = PostgresStore(database.url)
        for store in (duck, pg):
            store.write(records)
        yield duck, pg
        duck.close()
        pg.close()


def assert_stores_agree(stores: tuple[DuckDBStore, PostgresStore], text: str) -> None:
    """`text`, a query the language accepts, selects the same records on both stores, or is
    refused by the PostgreSQL store alone, saying so."""
    try:
        query = compile_query(text)
    except QueryError:
        return  # refused by the language, for both stores alike
    duck, pg = stores
    expected = [record.message for record in duck.search(query.where, query.params, None)]
    try:
        got = [record.message for record in pg.search(query.where, query.params, None)]
    except QueryError as exc:
        assert "PostgreSQL" in str(exc), exc
        return
    assert got == expected, text


class TestBothStores:
    @fuzz()
    @given(pattern=patterns)
    def test_a_regex_selects_the_same_records_on_both_stores(
        self, stores: tuple[DuckDBStore, PostgresStore], pattern: str
    ) -> None:
        assert_stores_agree(stores, "/" + pattern.replace("/", "\\/") + "/")

    @fuzz()
    @given(text=query_texts)
    def test_a_query_selects_the_same_records_on_both_stores(
        self, stores: tuple[DuckDBStore, PostgresStore], text: str
    ) -> None:
        assert_stores_agree(stores, text)
