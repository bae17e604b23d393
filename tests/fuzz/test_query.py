"""Fuzzing the query side: search language, filter options, time bounds and plain-English questions.

A bad query is a QueryError (a 400 with a sentence); a good one compiles to SQL the real store runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzzing import OBSERVED_NS, fuzz, level_texts, log_text, query_texts, time_texts
from loglens.errors import LoglensError, QueryError
from loglens.query.filters import record_filter
from loglens.query.language import compile_query
from loglens.query.nlq import parse_question
from loglens.query.timerange import parse_duration, parse_time_bound
from loglens.record import Level, Record
from loglens.store.duckdb import DuckDBStore

SERVICES = [("api", Level.INFO), ("db", Level.ERROR), ("web", Level.WARNING)]
QUESTION_WORDS = (
    "show", "me", "errors", "in", "the", "last", "hour", "from", "api", "not", "db", "between", "2am",
    "and", "3pm", "yesterday", "since", "2026-11-21", "5xx", "4xx", "status", "503", "why", "did", "what",
    "happened", "before", "how", "many", "timeouts", "memory", '"', "'", "today", "at", "around", "10:30",
    "25:99", "13pm", "minutes", "9" * 30, "days", "ago",
)  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """A real store with a few records of different services, levels and fields."""
    store = DuckDBStore(Path(tmp_path_factory.mktemp("query")) / "q.duckdb")
    records = [
        Record(OBSERVED_NS - i * 10**9, OBSERVED_NS, service, "fuzz.log", f"request {i} took {i * 3}ms",
               f"raw {i}", level, host="web-1", pid=100 + i,
               fields={"status": 200 + i, "user": "alice", "http": {"method": "GET"}, "latency_ms": i * 1.5})
        for i, (service, level) in enumerate(SERVICES)
    ]  # fmt: skip
    store.write(records)
    yield store
    store.close()


class TestSearchLanguage:
    @fuzz()
    @given(text=query_texts)
    def test_a_query_runs_on_the_store_or_is_a_query_error(self, store: DuckDBStore, text: str) -> None:
        """Any query text compiles to SQL the store runs, or raises QueryError (nothing else)."""
        try:
            compiled = compile_query(text)
        except QueryError:
            return
        assert compiled.where.count("?") == len(compiled.params)
        list(store.search(compiled.where, compiled.params, 5))


class TestFilters:
    @fuzz()
    @given(
        query=query_texts,
        grep=st.none() | query_texts,
        level=st.none() | level_texts,
        services=st.lists(
            st.sampled_from(["api", "db", "*", "a*b", "[", ""]) | st.text(max_size=5), max_size=3
        ),
        since=st.none() | time_texts,
        until=st.none() | time_texts,
    )
    def test_filter_options_run_on_the_store_or_are_refused(
        self,
        store: DuckDBStore,
        query: str,
        grep: str | None,
        level: str | None,
        services: list[str],
        since: str | None,
        until: str | None,
    ) -> None:
        """The API's and CLI's filter options together run on the store, or raise a LoglensError."""
        try:
            where = record_filter(UTC, query, grep, level, services, since, until)
        except LoglensError:
            return
        list(store.search(where.where, where.params, 5))
        store.counts(where.where, where.params)

    @fuzz()
    @given(text=time_texts)
    def test_time_bounds_and_durations_are_storable_or_refused(self, text: str) -> None:
        """A `--since` value is a time the store can compare with, or a QueryError; so is a duration."""
        for parse in (lambda t: parse_time_bound(t, OBSERVED_NS, UTC), parse_duration):
            try:
                ns = parse(text)
            except QueryError:
                continue
            assert -(2**63) <= ns < 2**63


class TestQuestions:
    @fuzz()
    @given(
        text=st.one_of(
            st.lists(
                st.sampled_from(QUESTION_WORDS) | st.text(max_size=5),
                max_size=14,
            ).map(" ".join),
            log_text(max_pieces=6, newlines=False),
        ),
        fields=st.sampled_from([(), ("status",), ("status", "latency_ms")]),
    )  # fmt: skip
    def test_a_question_reads_as_a_query_the_store_runs(
        self, store: DuckDBStore, text: str, fields: tuple[str, ...]
    ) -> None:
        """Any question is understood as something (never an error), and its filter compiles and runs."""
        question = parse_question(text, ["api", "db", "web"], OBSERVED_NS, fields, tz=UTC)
        question.explain()
        question.to_json()
        compiled = compile_query(question.query_string())
        list(store.search(compiled.where, compiled.params, 5))


class TestFoundByFuzzing:
    def test_a_regex_repeat_past_re_limits_is_a_query_error(self) -> None:
        """`a{4294967296}` overflows Python's `re`: a QueryError (400), in a query and in --grep."""
        with pytest.raises(QueryError, match="invalid regex"):
            compile_query("/a{4294967296}/")
        with pytest.raises(QueryError, match="invalid regex"):
            record_filter(UTC, grep="a{4294967296}")

    @pytest.mark.parametrize("pattern", ["\\\x80", "a\\éb", "[\\1]", "[^a\\b]"])
    def test_escapes_re2_refuses_are_query_errors(self, store: DuckDBStore, pattern: str) -> None:
        """Escapes Python's `re` takes and RE2 does not (a backslash before a non-ASCII character,
        octal or backspace in a class) are a QueryError, not DuckDB's InvalidInputException; the
        same character without the backslash runs."""
        with pytest.raises(QueryError, match="RE2"):
            record_filter(UTC, grep=pattern)
        with pytest.raises(QueryError, match="RE2"):
            compile_query(f"/{pattern}/")
        bare = pattern.replace(chr(92), "")
        plain = compile_query(f"/{bare}/")
        found = [r.message for r in store.search(plain.where, plain.params, None, oldest=True)]
        everything = [r.message for r in store.search("TRUE", [], None, oldest=True)]
        assert found == [m for m in everything if re.search(bare, m)]

    @pytest.mark.parametrize("pattern", ["(?:)took", "took(?:)", "(?i:)took", "(?:(?:))took"])
    def test_an_empty_group_beside_a_word_still_finds_it_anywhere(
        self, store: DuckDBStore, pattern: str
    ) -> None:
        """DuckDB's regex optimizer read `(?:)took` as "starts with took" and `took(?:)` as "ends with
        took", on a column only: every record holds "took" mid-message, and all are found."""
        query = compile_query(f"/{pattern}/")
        assert len(list(store.search(query.where, query.params, None))) == len(SERVICES)

    @pytest.mark.parametrize("text", ["9" * 400 + "ms", "99999999999999999999d", "106752d"])
    def test_a_duration_past_292_years_is_a_query_error(self, text: str) -> None:
        """A duration or `--since` past what int64 ns reach is a QueryError, not an OverflowError."""
        with pytest.raises(QueryError, match="292 years"):
            parse_duration(text)
        with pytest.raises(QueryError, match="292 years"):
            parse_time_bound(text, OBSERVED_NS, UTC)

    def test_milliseconds_back_are_milliseconds(self) -> None:
        """`--since 250ms` is 250 ms back (it was read as 250 minutes)."""
        assert parse_time_bound("250ms", OBSERVED_NS, UTC) == OBSERVED_NS - 250_000_000
        assert parse_time_bound("15m", OBSERVED_NS, UTC) == OBSERVED_NS - 15 * 60 * 10**9
