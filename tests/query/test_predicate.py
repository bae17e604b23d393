"""Tests for loglens.query.predicate: the Python back-end decides exactly what the SQL one does."""

from __future__ import annotations

import pytest

from loglens.query.language import And, compile_node, level_node, parse_query, service_node
from loglens.query.matcher import PredicateMatcher, RecordMatcher, live_matcher
from loglens.query.predicate import record_predicate
from loglens.record import Level, Record

BASE = 1_764_000_000_000_000_000


def record(i: int, service: str, level: Level, message: str, **kw: object) -> Record:
    values: dict[str, object] = {
        "ts": BASE + i,
        "observed_ts": BASE,
        "service": service,
        "source": "t.log",
        "message": message,
        "raw": message,
        "level": level,
    }
    values.update(kw)
    return Record(**values)  # type: ignore[arg-type]


RECORDS = [
    record(0, "api", Level.INFO, "GET /health 200", host="web-1", pid=42),
    record(1, "api", Level.ERROR, "Connection refused to db:5432", host="web-2", template_id="api-3"),
    record(2, "billing", Level.WARNING, "Payment RETRY for Straße 9", trace_id="abc123"),
    record(3, "billing", Level.CRITICAL, "ÄRGER: disk full on /var", pid=7, parse_error="plain: no"),
    record(4, "worker", Level.DEBUG, "job 17 done", category="jobs"),
    record(5, "worker", Level.FATAL, "connection REFUSED again", host=None),
]

DECIDED_IN_PYTHON = [
    "",
    "refused",
    "connection refused",
    '"connection refused"',
    "service:api",
    "service:api,billing",
    "-service:api",
    "level:error",
    "level:>=warning",
    "level:<info",
    "level:warn,err",
    "host:web-1",
    "-host:web-1",
    "host:*",
    "pid:42",
    "template:api-3",
    "trace_id:abc123",
    "category:jobs",
    "parse_error:true",
    "parse_error:false",
    "straße",
    "ärger",
    "msg:disk",
    "service:billing OR level:fatal",
    "(service:api OR service:worker) -refused",
    "NOT (level:debug OR level:info)",
]
LEFT_TO_SQL = ["/refus(ed|al)/i", "conn*refused", "service:bill*", "status:>=500", "user:bob", "pid:>10"]


class TestAgreement:
    @pytest.mark.parametrize("query", DECIDED_IN_PYTHON)
    def test_python_selects_what_sql_selects(self, query: str) -> None:
        node = parse_query(query)
        decide = record_predicate(node)
        assert decide is not None, query
        expected = RecordMatcher(compile_node(node))(RECORDS)
        assert [r for r in RECORDS if decide(r)] == expected, query

    @pytest.mark.parametrize("query", LEFT_TO_SQL)
    def test_what_sql_defines_stays_with_sql(self, query: str) -> None:
        assert record_predicate(parse_query(query)) is None
        assert record_predicate(And((parse_query("service:api"), parse_query(query)))) is None

    def test_level_and_service_options(self) -> None:
        node = And((service_node(["api", "worker"]), level_node(">=error")))
        decide = record_predicate(node)
        assert decide is not None
        assert [r.ts - BASE for r in RECORDS if decide(r)] == [1, 5]


class TestLiveMatcher:
    def test_simple_filters_are_decided_in_python(self) -> None:
        matcher = live_matcher("refused", ">=error", ["api", "worker"])
        assert isinstance(matcher, PredicateMatcher)
        assert [r.ts - BASE for r in matcher(RECORDS)] == [1, 5]

    def test_others_go_through_sql_with_the_same_answer(self) -> None:
        matcher = live_matcher("/refused/i", None, ["api"])
        assert isinstance(matcher, RecordMatcher)
        assert [r.ts - BASE for r in matcher(RECORDS)] == [1]
