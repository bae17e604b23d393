"""The search language, run against a real in-memory DuckDB `records` table of twenty varied rows.

Each query is checked by the ids it returns, so the SQL shapes are free to change as long as the
meaning does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loglens.errors import QueryError
from loglens.query.language import (
    And,
    Compare,
    CompiledQuery,
    Exists,
    FieldMatch,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Regex,
    Term,
    and_all,
    compile_node,
    compile_query,
    grep_clause,
    level_clause,
    parse_query,
    service_clause,
)
from loglens.record import Level

SCHEMA = """
CREATE TABLE records (
    id BIGINT, ts TIMESTAMP_NS, observed_ts TIMESTAMP_NS, service VARCHAR, host VARCHAR,
    source VARCHAR, pid INTEGER, level VARCHAR, severity UTINYINT, message VARCHAR, raw VARCHAR,
    fields JSON, trace_id VARCHAR, span_id VARCHAR, template_id VARCHAR, params VARCHAR[],
    category VARCHAR, parse_error VARCHAR
)
"""

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

# id, service, host, pid, level, message, fields, trace_id, template_id, category, parse_error
ROWS: list[tuple[Any, ...]] = [
    (1, "api", "web-1", 101, "info", "GET /users 200 in 3ms",
     {"status": 200, "http": {"method": "GET"}, "latency_ms": 3.4, "user": "alice"},
     None, "api-12", None, None),
    (2, "api", "web-2", 102, "error", "upstream connection refused",
     {"status": 502, "http": {"method": "POST"}, "latency_ms": 1500, "user": None},
     TRACE, "api-7", "network", None),
    (3, "api", "web-10", 103, "warning", "request timed out after 30s",
     {"status": "504", "latency_ms": "30000", "http": {"method": "GET"}}, None, "api-9", "timeout", None),
    (4, "db", "db-1", 2001, "error", "Connection Refused by peer",
     {"status": "n/a", "latency_ms": "slow"}, None, "db-1", "network", None),
    (5, "nginx", "web-1", 80, "info", "GET /healthcheck 200",
     {"status": 200, "path": "/healthcheck"}, None, "ng-1", None, None),
    (6, "nginx", "web-2", 80, "warning", "slow response 1200ms",
     {"status": 200, "latency_ms": 1200}, None, "ng-2", None, None),
    (7, "worker", "batch-1", 3001, "critical", "job failed: Timeout waiting for lock",
     {"job": "reindex", "attempt": 3}, None, "wk-1", "timeout", None),
    (8, "worker", "batch-1", 3001, "debug", "retrying job reindex",
     {"job": "reindex", "attempt": 2}, None, "wk-2", None, None),
    (9, "auth", "auth-1", 400, "notice", "user John Smith logged in",
     {"user": "John Smith"}, None, "au-1", None, None),
    (10, "auth", "auth-1", 400, "info", "user john logged in", {"user": "john"}, None, "au-1", None, None),
    (11, "api", "web-1", 101, "fatal", "out of memory", {"status": 500}, None, "api-13", None, None),
    (12, "billing", "bill-1", 500, "error", 'invoice "INV-7" rejected',
     {"http.method": "DELETE", "status": "502"}, None, "bl-1", None, None),
    (13, "billing", "bill-1", 500, "trace", "100% done with under_score",
     {"progress": 1.0}, None, "bl-2", None, None),
    (14, "api", "web_1", 104, "info", "host with underscore", {}, None, None, None, None),
    (15, "api", "webx1", 105, "info", "host with x", None, None, None, None, None),
    (16, "kernel", None, None, "warning", "eth0 link down", None, None, None, None, "unrecognised format"),
    (17, "api", "web-3", 106, "info", "path /api/users/42 not found",
     {"status": 404, "tags": ["a", "b"]}, None, "api-12", None, None),
    (18, "queue", "q-1", 700, "error", "consumer timeout",
     {"queue": "jobs", "depth": 10}, None, "q-1", "timeout", None),
    (19, "queue", "q-1", 700, "info", r"C:\temp\file written",
     {"path": r"C:\temp\file"}, None, "q-2", None, None),
    (20, "api", "web-2", 102, "error", "payment declined",
     {"status": 402, "amount": 12.5, "user": "bob", "ok": False}, TRACE, "api-20", None, None),
]  # fmt: skip

ALL = frozenset(row[0] for row in ROWS)
API = {1, 2, 3, 11, 14, 15, 17, 20}
AT_LEAST_WARNING = {2, 3, 4, 6, 7, 11, 12, 16, 18, 20}


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute(SCHEMA)
    for ident, service, host, pid, level, message, fields, trace, template, category, error in ROWS:
        con.execute(
            "INSERT INTO records VALUES (?, TIMESTAMP_NS '2026-11-21 00:00:00', "
            "TIMESTAMP_NS '2026-11-21 00:00:01', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?)",
            [
                ident, service, host, f"file:/var/log/{service}.log", pid, level,
                int(Level.from_label(level)), message, message,
                None if fields is None else json.dumps(fields), trace, template, category, error,
            ],
        )  # fmt: skip
    yield con
    con.close()


def run(con: duckdb.DuckDBPyConnection, compiled: CompiledQuery) -> set[int]:
    rows = con.execute(f"SELECT id FROM records WHERE {compiled.where}", compiled.params).fetchall()
    return {row[0] for row in rows}


def ids(con: duckdb.DuckDBPyConnection, query: str) -> set[int]:
    return run(con, compile_query(query))


class TestMessageSearch:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("refused", {2, 4}),
            ("REFUSED", {2, 4}),
            ("connection refused", {2, 4}),
            ('"refused by"', {4}),
            ('"refused connection"', set()),
            ("timeout", {7, 18}),
            ("conn*refused", {2, 4}),
            ("100%", {13}),
            ("%", {13}),
            ("_", {13}),
            ("under_score", {13}),
            ("under*score", {13, 14}),
            ('"under*score"', set()),
            (r'"\"INV-7\""', {12}),
            (r'"C:\temp"', {19}),
            (r"temp\file", {19}),
            ("", set(ALL)),
            ("   ", set(ALL)),
        ],
    )
    def test_words_and_phrases(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """Words and phrases are case-insensitive substrings; `*` is a wildcard only outside quotes."""
        assert ids(db, query) == expected

    def test_negated_word(self, db: duckdb.DuckDBPyConnection) -> None:
        """`-word` keeps every record whose message lacks the word."""
        assert ids(db, "-healthcheck") == ALL - {5}
        assert ids(db, "GET -healthcheck") == {1}

    def test_not_keyword(self, db: duckdb.DuckDBPyConnection) -> None:
        """`NOT` negates like `-`, and a double negation cancels out."""
        assert ids(db, "NOT healthcheck GET") == {1}
        assert ids(db, "NOT NOT healthcheck") == {5}
        assert ids(db, "--healthcheck") == {5}

    def test_negated_phrase(self, db: duckdb.DuckDBPyConnection) -> None:
        """A phrase can be negated."""
        assert ids(db, 'service:api -"connection refused"') == API - {2}

    def test_lowercase_keywords_are_words(self, db: duckdb.DuckDBPyConnection) -> None:
        """Only upper-case OR/AND/NOT are operators; `or` is searched for as a word."""
        assert ids(db, "refused or") == set()
        assert ids(db, '"OR"') == ids(db, "or") == {7, 11, 13, 14}


class TestRegex:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("/time(d|out)/", {3, 18}),
            ("/time(d|out)/i", {3, 7, 18}),
            (r"/\/api\/users/", {17}),
            ("/^GET /", {1, 5}),
            ("-/^GET /", ALL - {1, 5}),
            (r"/\d{3}ms$/", {6}),
            (r"host:/^web-\d+$/", {1, 2, 3, 5, 6, 11, 17, 20}),
            ("user:/^j/i", {9, 10}),
            ("(/refused/ | /memory/)", {2, 11}),
        ],
    )
    def test_regex(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """`/re/` searches the message (case-sensitive unless `/re/i`); `field:/re/` searches a field."""
        assert ids(db, query) == expected

    def test_field_value_that_is_not_a_whole_regex_is_text(self, db: duckdb.DuckDBPyConnection) -> None:
        """`path:/healthcheck` is a path, not an unterminated regex."""
        assert ids(db, "path:/healthcheck") == {5}
        assert ids(db, 'path:"/healthcheck"') == {5}

    def test_regex_pattern_is_bound(self) -> None:
        """The pattern is a parameter and `\\/` is unescaped to `/`."""
        compiled = compile_query(r"/a\/b/")
        assert compiled.where == "regexp_matches(message, ?)"
        assert compiled.params == ["a/b"]


class TestFields:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("service:api", API),
            ("Service:api", API),
            ("service:api,nginx", API | {5, 6}),
            ("-service:api", ALL - API),
            ("host:web-*", {1, 2, 3, 5, 6, 11, 17, 20}),
            ("host:web_*", {14}),
            ("host:*-1", {1, 4, 5, 7, 8, 9, 10, 11, 12, 13, 18, 19}),
            ("-host:web-1", ALL - {1, 5, 11}),
            ("host:*", ALL - {16}),
            ("-host:*", {16}),
            ("source:file:/var/log/db.log", {4}),
            ("template:api-12", {1, 17}),
            ("template_id:api-12", {1, 17}),
            (f"trace_id:{TRACE}", {2, 20}),
            ("trace_id:4bf9*", {2, 20}),
            ("category:timeout", {3, 7, 18}),
            ("has:category", {2, 3, 4, 7, 18}),
            ("msg:refused", {2, 4}),
            ('message:"Refused by"', {4}),
            ("message:conn*peer", {4}),
            ("has:parse_error", {16}),
            ("parse_error:true", {16}),
            ("parse_error:false", ALL - {16}),
            ("parse_error:*", {16}),
            ('parse_error:"unrecognised format"', {16}),
        ],
    )
    def test_columns(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """Top-level columns match exactly, with `*` wildcards, aliases and presence tests."""
        assert ids(db, query) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("user:alice", {1}),
            ('user:"John Smith"', {9}),
            ("user:john", {10}),
            ("user:J*", {9}),
            ("user:*", {1, 9, 10, 20}),
            ("has:user", {1, 9, 10, 20}),
            ("-has:user", ALL - {1, 9, 10, 20}),
            ("-user:alice", ALL - {1}),
            ("status:502", {2, 12}),
            ('status:"502"', {2, 12}),
            ("status:404,502", {2, 12, 17}),
            ("status:n/a", {4}),
            ("latency_ms:3.4", {1}),
            ("progress:1", {13}),
            ("amount:12.5", {20}),
            ("ok:false", {20}),
            ("http.method:GET", {1, 3}),
            ("http.method:DELETE", {12}),
            ("http.method:*", {1, 2, 3, 12}),
            ("has:http", {1, 2, 3}),
            ("tags:*", {17}),
            ("job:reindex attempt:>2", {7}),
            ("nosuchfield:x", set()),
            (r'path:"C:\temp\file"', {19}),
        ],
    )
    def test_json_fields(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """Other names are keys of `fields`, compared as JSON text, nested through dots."""
        assert ids(db, query) == expected

    def test_json_path_is_a_parameter(self) -> None:
        """The field name reaches SQL only as a bound JSON pointer."""
        compiled = compile_query("http.method:GET")
        assert "http" not in compiled.where
        assert compiled.params == ["/http/method", "/http.method", "GET"]


class TestNumbers:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("status:>=500", {2, 3, 11, 12}),
            ("status:<300", {1, 5, 6}),
            ("status:>400 status:<=404", {17, 20}),
            ("latency_ms:>1000", {2, 3, 6}),
            ("latency_ms:>1000.5", {2, 3, 6}),
            ("latency_ms:<1e1", {1}),
            ("-latency_ms:>1000", ALL - {2, 3, 6}),
            ("pid:3001", {7, 8}),
            ("pid:>=700", {4, 7, 8, 18, 19}),
            ("pid:<100", {5, 6}),
            ("pid:80,101", {1, 5, 6, 11}),
            ("depth:>-5", {18}),
        ],
    )
    def test_comparisons(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """Comparisons are numeric; values that are not numbers (`n/a`, `slow`) never match."""
        assert ids(db, query) == expected


class TestLevels:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("level:error", {2, 4, 12, 18, 20}),
            ("level:err", {2, 4, 12, 18, 20}),
            ("level:Warning", {3, 6, 16}),
            ("level:warn", {3, 6, 16}),
            ("level:>=warning", AT_LEAST_WARNING),
            ("level:>=warn", AT_LEAST_WARNING),
            ("level:>error", {7, 11}),
            ("level:<info", {8, 13}),
            ("level:<=info", {1, 5, 8, 10, 13, 14, 15, 17, 19}),
            ("level:error,warning", {2, 3, 4, 6, 12, 16, 18, 20}),
            ("level:>=17", {2, 4, 7, 11, 12, 18, 20}),
            ("-level:info", ALL - {1, 5, 10, 14, 15, 17, 19}),
        ],
    )
    def test_levels(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """`level:x` is exact, comparisons follow the severity order, aliases and lists work."""
        assert ids(db, query) == expected

    def test_level_compare_uses_severity(self) -> None:
        """`level:>=warning` compiles to a bound comparison on the severity number."""
        assert compile_query("level:>=warning") == CompiledQuery("(severity >= ?)", [13.0])


class TestBooleanStructure:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("service:db OR service:auth level:info", {4, 10}),
            ("(service:db OR service:auth) level:info", {10}),
            ("refused | timeout", {2, 4, 7, 18}),
            ("refused|timeout", {2, 4, 7, 18}),
            ("-(service:api OR service:nginx)", ALL - API - {5, 6}),
            ("NOT (service:api OR service:nginx)", ALL - API - {5, 6}),
            ("service:api AND level:error", {2, 20}),
            ("((service:queue) (level:error OR level:info))", {18, 19}),
            ("service:queue OR service:db OR service:kernel", {4, 16, 18, 19}),
            ("user OR host with", {1, 9, 10, 14, 15, 17}),
            ("user OR (host with)", {1, 9, 10, 14, 15, 17}),
            ("(user OR host) with", {14, 15}),
            ("out OR job* lock", {3, 7, 11, 18}),
            ("service:api level:>=warning -/memory/ status:>=500", {2, 3}),
        ],
    )
    def test_precedence(self, db: duckdb.DuckDBPyConnection, query: str, expected: set[int]) -> None:
        """AND binds tighter than OR; parentheses group; negation applies to groups."""
        assert ids(db, query) == expected

    def test_design_doc_example_parses(self, db: duckdb.DuckDBPyConnection) -> None:
        """The example query of DESIGN.md compiles and runs."""
        query = (
            'service:api level:>=warning "connection refused" -healthcheck status:>=500 '
            "latency_ms:>1000 /time(d|out)/ template:api-12 host:web-* trace_id:4bf9*"
        )
        assert ids(db, query) == set()
        assert ids(db, query.replace(" /time(d|out)/ template:api-12", "")) == {2}


class TestInjection:
    @pytest.mark.parametrize(
        "query",
        [
            'service:"x\' OR 1=1 --"',
            '"x\' OR 1=1 --"',
            "\"x'||'1\"",
            "user:\"bob' OR '1'='1\"",
            r'user:"x\" OR 1=1 --"',
            'status:"1);DROP TABLE records;--"',
            "a'b:1",
            "/' OR 1=1 --/",
            "host:%",
            "host:_*",
        ],
    )
    def test_hostile_text_matches_nothing(self, db: duckdb.DuckDBPyConnection, query: str) -> None:
        """Quotes, SQL comments and LIKE metacharacters are data, never SQL."""
        assert ids(db, query) == set()
        assert db.execute("SELECT count(*) FROM records").fetchone() == (20,)

    def test_user_text_never_reaches_sql(self) -> None:
        """The WHERE text holds placeholders only; the hostile value is a parameter."""
        compiled = compile_query('service:"x\' OR 1=1 --"')
        assert compiled == CompiledQuery("(service = ?)", ["x' OR 1=1 --"])


class TestParse:
    def test_ast(self) -> None:
        """The parser builds the public AST with canonical fields and levels."""
        assert parse_query("service:api level:>=warn template:t-1 -/x/i") == And(
            (
                FieldMatch("service", "api"),
                Compare("level", ">=", 13.0),
                FieldMatch("template_id", "t-1"),
                Not(Regex("x", ignore_case=True)),
            )
        )

    def test_or_binds_looser(self) -> None:
        """`a b OR c` is `(a AND b) OR c`."""
        assert parse_query('a "b c" OR c') == Or((And((Term("a"), Phrase("b c"))), Term("c")))

    def test_nested_same_operators_flatten(self) -> None:
        """`a (b c)` is one flat And."""
        assert parse_query("a (b c)") == And((Term("a"), Term("b"), Term("c")))

    def test_lists_and_presence(self) -> None:
        """Comma lists become Or, `*` and `has:` become Exists, parse_error booleans are presence."""
        assert parse_query("level:err,warn") == Or(
            (FieldMatch("level", "error"), FieldMatch("level", "warning"))
        )
        assert parse_query("host:web-*") == FieldMatch("host", "web-*", wildcard=True)
        assert parse_query('host:"web-*"') == FieldMatch("host", "web-*")
        assert parse_query("user:*") == parse_query("has:user") == Exists("user")
        assert parse_query("parse_error:false") == Not(Exists("parse_error"))

    def test_empty_query(self) -> None:
        """The empty query is the empty And and compiles to TRUE."""
        assert parse_query("") == And(())
        assert compile_query(" ") == CompiledQuery("TRUE", [])

    def test_hand_built_nodes_compile(self, db: duckdb.DuckDBPyConnection) -> None:
        """A tree built in code compiles like a parsed one, including the empty Or."""
        assert run(db, compile_node(Or((Term("memory"), Exists("tags"))))) == {11, 17}
        assert run(db, compile_node(Or(()))) == set()

    def test_hand_built_level_names_are_normalised(self, db: duckdb.DuckDBPyConnection) -> None:
        """A hand-built level match accepts aliases and any case, as the parser does."""
        assert run(db, compile_node(FieldMatch("level", "WARN"))) == {3, 6, 16}

    def test_hand_built_bad_field_name(self) -> None:
        """A field name that is not a plain name is refused even when the tree is built by hand."""
        with pytest.raises(QueryError, match="not a field name"):
            compile_node(FieldMatch("a') OR (1", "x"))


class TestErrors:
    @pytest.mark.parametrize(
        ("query", "position", "fragment"),
        [
            ("(service:api", 0, "never closed"),
            ("a ((b) c", 2, "never closed"),
            ("service:api)", 11, "no matching '('"),
            ('"connection refused', 0, "unterminated quoted phrase"),
            ('error "abc', 6, "unterminated quoted phrase"),
            ("/time(d|out", 0, "unterminated regex"),
            ("/api/users", 5, "quote it"),
            ("refused OR", 8, "OR needs a term after it"),
            ("OR refused", 0, "OR needs a term before it"),
            ("a OR OR b", 2, "OR needs a term after it"),
            ("(a OR) b", 3, "OR needs a term after it"),
            ("a AND", 2, "AND needs a term after it"),
            ("AND a", 0, "AND needs a term before it"),
            ("NOT", 0, "NOT needs a term after it"),
            ("a -)", 2, "'-' needs a term after it"),
            ("()", 1, "empty parentheses"),
            ("status:>abc", 8, "expected a number after '>'"),
            ("status:>", 8, "expected a number"),
            ("status:>>5", 8, "expected a number"),
            ("service:>5", 8, "'service' is text"),
            ("level:>=loud", 8, "unknown level 'loud'"),
            ("level:loud", 6, "unknown level"),
            ("level:>=", 8, "expected a level name"),
            ("service:", 8, "expected a value after 'service:'"),
            ("service: api", 8, "expected a value"),
            ("service:(a OR b)", 8, "a group cannot follow"),
            ("service:api,", 12, "empty value in a comma list"),
            ("pid:abc", 4, "pid is a whole number"),
            ("pid:/1/", 4, "pid is a number"),
            ('"abc"def', 5, "after the closing quote"),
            ('has:"x"', 4, "expected a field name after 'has:'"),
            ("/(a/", 1, "invalid regex"),
            ("x /a[/", 4, "invalid regex"),
            ("/(?<=a)b/", 1, "look-behind"),
            ("/a(?=b)/", 2, "look-ahead"),
            (r"/(a)\1/", 4, "backreference"),
            ("/a*+/", 3, "possessive"),
            ("/(?x)a/", 1, "inline flag"),
            (r"/caf\u00e9/", 4, r"the escape \u"),
            ("/a{1001}/", 2, "repeat count above 1000"),
            (r"/\Z/", 1, "use $"),
            ("ok /x/ host:/(?!a)/", 13, "negative look-ahead"),
        ],
    )
    def test_error_points_at_position(self, query: str, position: int, fragment: str) -> None:
        """Every syntax error is a QueryError naming the problem and its position."""
        with pytest.raises(QuerySyntaxError) as caught:
            parse_query(query)
        assert isinstance(caught.value, QueryError)
        assert fragment in str(caught.value)
        assert caught.value.position == position
        assert f"(at column {position + 1})" in str(caught.value)

    def test_message_shows_caret(self) -> None:
        """The message echoes the query with a caret under the offending character."""
        with pytest.raises(QueryError) as caught:
            compile_query("service:api (level:error")
        lines = str(caught.value).splitlines()
        assert lines[1] == "  service:api (level:error"
        assert lines[2] == "  " + " " * 12 + "^"

    def test_deep_nesting_is_refused(self) -> None:
        """Absurd nesting is a QueryError, not a RecursionError."""
        with pytest.raises(QueryError, match="nested deeper"):
            parse_query("(" * 500 + "a" + ")" * 500)

    def test_long_negation_chain_collapses(self, db: duckdb.DuckDBPyConnection) -> None:
        """Thousands of negations neither recurse nor nest."""
        assert ids(db, "NOT " * 3001 + "healthcheck") == ALL - {5}


class TestCliHelpers:
    def test_level_clause(self, db: duckdb.DuckDBPyConnection) -> None:
        """`--level` takes a name, a list or a bound, with spaces tolerated."""
        assert run(db, level_clause("error,warning")) == {2, 3, 4, 6, 12, 16, 18, 20}
        assert run(db, level_clause(">=warning")) == AT_LEAST_WARNING
        assert run(db, level_clause(" >= warn ")) == AT_LEAST_WARNING
        assert run(db, level_clause("fatal")) == {11}

    def test_level_clause_errors(self) -> None:
        """An unknown or empty level is a QueryError."""
        with pytest.raises(QueryError, match="unknown level"):
            level_clause("error,loud")
        with pytest.raises(QueryError):
            level_clause("")

    def test_service_clause(self, db: duckdb.DuckDBPyConnection) -> None:
        """Repeated `--service` flags mean any of them, with wildcards and comma lists."""
        assert run(db, service_clause(["db", "queue"])) == {4, 18, 19}
        assert run(db, service_clause(["a*"])) == API | {9, 10}
        assert run(db, service_clause(["db,kernel"])) == {4, 16}
        assert service_clause([]) == CompiledQuery("TRUE", [])

    def test_grep_clause(self, db: duckdb.DuckDBPyConnection) -> None:
        """`--grep` is a case-sensitive regex on the message, validated like `/re/`."""
        assert run(db, grep_clause("Timeout")) == {7}
        assert run(db, grep_clause("time(d|out)")) == {3, 18}
        with pytest.raises(QueryError, match="look-behind"):
            grep_clause("(?<=x)y")

    def test_and_all(self, db: duckdb.DuckDBPyConnection) -> None:
        """Fragments combine with AND, keeping parameters in placeholder order."""
        combined = and_all(
            [level_clause("error"), service_clause([]), service_clause(["api"]), compile_query("declined")]
        )
        assert run(db, combined) == {20}
        assert combined.params == ["error", "api", "declined"]
        assert and_all([]) == CompiledQuery("TRUE", [])
        assert run(db, and_all([compile_query("service:db")])) == {4}

    def test_helpers_match_the_query_language(self, db: duckdb.DuckDBPyConnection) -> None:
        """The flags are shorthands: the same records as the spelled-out query."""
        flags = and_all([level_clause(">=error"), service_clause(["api", "db"]), grep_clause("e[dn]")])
        assert run(db, flags) == ids(db, "level:>=error service:api,db /e[dn]/") == {2, 4, 20}


class TestShapes:
    def test_substring_shape(self) -> None:
        """Plain text needs no escaping: it is bound as is and lower-cased by DuckDB."""
        assert compile_query("Under_Score%") == CompiledQuery(
            "contains(lower(message), lower(?))", ["Under_Score%"]
        )

    def test_wildcard_escape_only_when_needed(self) -> None:
        """A LIKE pattern gets an ESCAPE clause only if the text held %, _ or backslash."""
        assert compile_query("host:web-*") == CompiledQuery("(host LIKE ?)", ["web-%"])
        assert compile_query("host:web_*") == CompiledQuery("(host LIKE ? ESCAPE '\\')", ["web\\_%"])

    def test_negation_is_null_safe(self) -> None:
        """Negation uses IS NOT TRUE so records lacking the field are kept."""
        assert compile_query("-host:a").where == "(((host = ?)) IS NOT TRUE)"


class TestFuzz:
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from([*"ab :-*\"/\\()|,><=_%'", "OR", "NOT", "level", "x.y", "1"])).map("".join)
    )
    def test_any_text_parses_or_raises_query_error(self, db: duckdb.DuckDBPyConnection, text: str) -> None:
        """Arbitrary input either compiles to SQL DuckDB accepts or raises QueryError, nothing else."""
        try:
            compiled = compile_query(text)
        except QueryError:
            return
        assert compiled.where.count("?") == len(compiled.params)
        assert "'" not in compiled.where.replace("ESCAPE '\\'", "")
        run(db, compiled)
