"""Tests for loglens.store.postgres on a real PostgreSQL server (127.0.0.1:5432, a fresh database per
module), differential against DuckDB: the same generated corpus is ingested into both stores through
the real pipeline, and every reading method must answer the same. The SQL translator's tests need no
server."""

from __future__ import annotations

import itertools
import math
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import psycopg
import pytest

from loglens.config import Config
from loglens.demo.stream import history_spec
from loglens.demo.writer import write_corpus
from loglens.errors import QueryError, ReadOnlyError, StaleOffsetError, StoreError
from loglens.mining.drain import TemplateChange
from loglens.pipeline import Ingestor
from loglens.query.language import (
    CompiledQuery,
    and_all,
    compile_query,
    level_clause,
    number_expr,
    service_clause,
    value_expr,
)
from loglens.record import Level, Record
from loglens.sources.file import Checkpoint
from loglens.store.base import SERIES_AGGREGATES, WINDOW_ORIGIN_NS, Annotation, Document, SeriesQuery
from loglens.store.duckdb import DuckDBStore, records_to_arrow
from loglens.store.postgres import PostgresStore, copy_text
from loglens.store.postgres_schema import CURRENT_VERSION
from loglens.store.postgres_sql import re2_to_postgres, to_postgres, translate
from pg_database import fresh_database

BASE_NS = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z
HOUR_NS = 3_600 * 10**9


def make_record(i: int, **kw: Any) -> Record:
    values: dict[str, Any] = {
        "ts": BASE_NS + i * 1_000_000_123,
        "observed_ts": BASE_NS,
        "service": "api",
        "source": "api.log",
        "message": f"message {i}",
        "raw": f"raw {i}",
        "level": Level.INFO,
    }
    values.update(kw)
    return Record(**values)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh database for this module's tests, dropped at the end."""
    with fresh_database() as database:
        yield database.url


@pytest.fixture
def fresh_url() -> Iterator[str]:
    """A fresh database for one test."""
    with fresh_database() as database:
        yield database.url


# ------------------------------------------------------------------------------------- translation


class TestTranslate:
    def test_placeholders_outside_literals(self) -> None:
        """`?` becomes `%s` except inside quotes and comments; every `%` is doubled for psycopg."""
        out = translate("SELECT '?', \"a?\", x % 2 FROM t WHERE a = ? AND b LIKE 'x%' -- ?\n AND c = ?")
        assert out.sql == "SELECT '?', \"a?\", x %% 2 FROM t WHERE a = %s AND b LIKE 'x%%' -- ?\n AND c = %s"

    def test_without_placeholders(self) -> None:
        """For a statement run without parameters, `?` and `%` are left alone."""
        assert translate("SELECT 5 % 2, '?'", False).sql == "SELECT 5 % 2, '?'"

    def test_try_cast_double(self) -> None:
        """TRY_CAST(x AS DOUBLE) → try_double(x), nested calls rewritten too; DOUBLE alone is spelled out."""
        out = translate("TRY_CAST(json_extract_string(fields, ?) AS DOUBLE) > CAST(? AS DOUBLE)")
        assert out.sql == "try_double(json_extract_string(fields, %s)) > CAST(%s AS double precision)"
        assert translate("try_cast(id AS BIGINT)").sql == "try_bigint(id)"

    def test_try_cast_unknown_type(self) -> None:
        """A TRY_CAST to a type without a PostgreSQL counterpart is refused by name."""
        with pytest.raises(StoreError, match="TRY_CAST to DATE"):
            translate("TRY_CAST(x AS DATE)")

    def test_regexp_matches_parameter_marked(self) -> None:
        """regexp_matches becomes re_matches, and the pattern's parameter position is noted."""
        out = translate(
            "a = ? AND regexp_matches(COALESCE(json_extract_string(fields, ?), "
            "json_extract_string(fields, ?)), ?) AND b = ?"
        )
        assert (
            "re_matches(COALESCE(json_extract_string(fields, %s), json_extract_string(fields, %s)), %s)"
            in (out.sql)
        )
        assert out.regex_params == (3,)

    def test_regexp_matches_literal_translated(self) -> None:
        """A pattern written as a literal is translated in place (quotes kept doubled)."""
        out = translate(r"regexp_matches(message, '^\d x''s')", False)
        assert out.sql == "re_matches(message, '^[0-9] x''s')"

    def test_a_nul_in_a_query_is_a_query_error(self) -> None:
        """PostgreSQL text holds no NUL (stored records have the text \\x00): a query naming one is
        refused as a QueryError (a 400), not sent to fail as a StoreError (found by fuzzing)."""
        with pytest.raises(QueryError, match="NUL"):
            to_postgres("message = ?", ["a\x00b"])

    def test_contains_lower_becomes_ilike(self) -> None:
        """The query language's word match becomes the ILIKE the trigram index serves."""
        sql, params = to_postgres(compile_query('"50%_off"').where, compile_query('"50%_off"').params)
        assert sql == "ilike_contains(message, %s)"
        assert params == ["50%_off"]

    def test_compiled_regex_parameters_translated(self) -> None:
        """to_postgres translates exactly the regex parameters of a compiled query."""
        query = compile_query(r"status:>=500 /\berror\b/i host:/^web-\d+$/")
        sql, params = to_postgres(query.where, query.params)
        assert sql.count("%s") == len(params)
        assert f"(?i){BOUNDARY}error{BOUNDARY}" in params
        assert "^web-[0-9]+$" in params
        assert 500.0 in params


BOUNDARY = "(?:(?<![0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<=[0-9A-Za-z_])(?![0-9A-Za-z_]))"


class TestRe2ToPostgres:
    @pytest.mark.parametrize(
        ("re2", "postgres"),
        [
            ("abc", "abc"),
            (r"\bw\b", BOUNDARY + "w" + BOUNDARY),
            (r"\Bx", "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))x"),
            (r"\d+\W[\s\w]", r"[0-9]+[^0-9A-Za-z_][\t\n\f\r 0-9A-Za-z_]"),
            ("(?i)abc", "(?i)abc"),
            ("(?i)(?s)a.b", "(?i)a.b"),
            ("a.b[.^]", r"a[^\n]b[.^]"),  # RE2's `.` stops at a newline; its `[^a]` does not
            ("(?m)^x$", "(?w)^x$"),
            ("(?m)^x.$", r"(?w)^x[^\n]$"),
            ("(?ms)^x.$", "(?w)^x.$"),
            ("(?is-i)x", "x"),
            (r"(?P<name>a)(?<other>b)", "(a)(b)"),
            (r"\x41\x{263a}", r"\U00000041\U0000263A"),
            (r"\Qa.b*\E+", r"a\.b\*+"),
            (r"end\z", r"end\Z"),
            (r"[\b]x[[:alpha:]\]]", r"[\b]x[A-Za-z\]]"),
            ("[]b]", "[]b]"),
            ("(?:a|b)c", "(?:a|b)c"),
        ],
    )
    def test_translations(self, re2: str, postgres: str) -> None:
        """Each RE2 construct gets its PostgreSQL spelling."""
        assert re2_to_postgres(re2) == postgres

    @pytest.mark.parametrize(
        "pattern", ["a(?i)b", "a(?i:b)", r"\pL", r"\p{Greek}", "(?U)a+", r"[\S]", r"[a\D]"]
    )
    def test_untranslatable_refused(self, pattern: str) -> None:
        """What PostgreSQL cannot run is a QueryError naming the problem, not a wrong answer."""
        with pytest.raises(QueryError, match="PostgreSQL"):
            re2_to_postgres(pattern)


class TestCopyText:
    def test_csv_of_prepared_rows(self) -> None:
        """NULL stays NULL, '' stays '', params become array literals, NUL becomes the text \\x00."""
        records = [
            make_record(0, host="", params=['a"b', "c\\d", "e,f"], fields={"k": "v\x00"}, message="m\x00"),
            make_record(1, params=[], host=None),
            make_record(2, params=None),
        ]
        table = records_to_arrow(records)
        lines = copy_text(table.slice(0, 3)).decode().splitlines()
        assert len(lines) == 3
        first = lines[0].split(",")
        assert first[3] == '""'  # host '' (quoted: not NULL)
        assert '"{""a\\""b"",""c\\\\d"",""e,f""}"' in lines[0]
        assert "m\\x00" in lines[0] and "\\\\x00" in lines[0]  # message, and the JSON's escaped backslash
        assert ',"{}",' in lines[1]
        assert lines[1].split(",")[3] == ""  # host NULL
        sliced = copy_text(table.slice(1, 2)).decode().splitlines()
        assert sliced == lines[1:]  # a slice of a batch, as the writer appends them


# ------------------------------------------------------------------------------- semantics vs DuckDB


@pytest.fixture(scope="module")
def both(pg_url: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]]:
    """An in-memory DuckDB and a connection to the migrated PostgreSQL database."""
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as pg:
        yield duckdb.connect(), pg


class TestFunctionsAgainstDuckDB:
    """The schema's functions under DuckDB's names give DuckDB's answers."""

    def test_try_double(self, both: tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]) -> None:
        """TRY_CAST(text AS DOUBLE) and try_double agree, odd inputs included."""
        duck, pg = both
        texts = [
            "250", " 250 ", "+1.5", "-0.25", "1e3", "1E+5", ".5", "5.", "1_000", "1__0", "_1", "inf",
            "-Infinity", "NaN", "nan", "1e400", "-1e400", "1e-400", "0x10", "1,5", "", "  ", "1 2",
            "\t7\n", "1.5e-3", "abc", "12345678901234567890", "0001", "1e", "--1", "1.7976931348623157e308",
            "123456789012345.123456789012345",
        ]  # fmt: skip
        for text in texts:
            expected = duck.execute("SELECT TRY_CAST(? AS DOUBLE)", [text]).fetchone()
            got = pg.execute("SELECT try_double(%s)", [text]).fetchone()
            assert expected is not None and got is not None
            want, have = expected[0], got[0]
            if want is not None and math.isnan(want):
                assert have is not None and math.isnan(have), text
            else:
                assert have == want, text

    def test_json_extract_string(
        self, both: tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]
    ) -> None:
        """JSON pointers and $ paths read the same text from a document as DuckDB's, for scalars."""
        duck, pg = both
        doc = (
            '{"a":1.5,"b":"x","c":null,"d":true,"n":{"m":"deep"},"arr":["p",{"q":1}],"e/f":5,"k.l":6,'
            '"t~":7,"i":-12,"h":""}'
        )
        paths = [
            "/a",
            "/b",
            "/c",
            "/d",
            "/n/m",
            "/arr/0",
            "/e~1f",
            "/k.l",
            "/t~0",
            "/i",
            "/h",
            "/x",
            "$.n.m",
            "$.a",
        ]
        for path in paths:
            expected = duck.execute("SELECT json_extract_string(?::JSON, ?)", [doc, path]).fetchone()
            got = pg.execute("SELECT json_extract_string(%s::jsonb, %s)", [doc, path]).fetchone()
            assert expected == got, path

    def test_regex(self, both: tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]) -> None:
        """Compiled regexes match the same texts in both engines (newlines, word bounds, case, classes)."""
        duck, pg = both
        texts = ["timeout", "timed out", "Time Out", "a\nb", "x\ny", "word boundary", "sword", "web-12",
                 "a.b", "ünïcode ÀB", "tab\there", "42 items", "end", "ïcode", "code_x", "١٢ x"]  # fmt: skip
        patterns = [
            ("time(d|out)", False), ("TIME", True), ("a.b", False), ("^y$", False), (r"\bword\b", False),
            (r"^web-\d+$", False), (r"\d{2} items", False), (r"a\.b", False), ("[^x]", False),
            ("àb", True), (r"\x61\.b", False), (r"\w+\s\w+", False), ("(?s)a.b", False),
            ("(?m)^y$", False), (r"t[a-z]b\t", False), (r"(?P<w>wo)rd", False),
            (r"\bcode\b", False), (r"\Bcode", False), (r"[\d\s]\w", False),
        ]  # fmt: skip
        for pattern, ignore_case in patterns:
            query = compile_query(f"/{pattern.replace('/', chr(92) + '/')}/{'i' if ignore_case else ''}")
            for text in texts:
                expected = duck.execute(
                    f"SELECT {query.where.replace('message', '?::VARCHAR')}", [text, *query.params]
                )
                sql, params = to_postgres(query.where.replace("message", "?::text"), [text, *query.params])
                got = pg.execute(f"SELECT {sql}", params).fetchone()
                assert expected.fetchone() == got, (pattern, text)

    def test_word_and_phrase(self, both: tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]) -> None:
        """Words and phrases (case-folded substrings, % and _ literal) match alike."""
        duck, pg = both
        texts = ["Connection Refused", "50%_off today", "50% off", "ÉCOLE", "under_score", "x"]
        for query_text in ['"connection refused"', '"50%_off"', "école", "under_score", "off*day", "50%*"]:
            query = compile_query(query_text)
            for text in texts:
                expected = duck.execute(
                    f"SELECT {query.where.replace('message', '?::VARCHAR')}", [text, *query.params]
                )
                sql, params = to_postgres(query.where.replace("message", "?::text"), [text, *query.params])
                assert expected.fetchone() == pg.execute(f"SELECT {sql}", params).fetchone(), (
                    query_text,
                    text,
                )


# ------------------------------------------------------------------------------ differential corpus


CORPUS_START = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)  # 30 hours over three UTC days


@pytest.fixture(scope="module")
def stores(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DuckDBStore, PostgresStore]]:
    """The same generated corpus ingested into a DuckDB file and into PostgreSQL by the real pipeline."""
    root = tmp_path_factory.mktemp("pg-corpus")
    start_ns = int(CORPUS_START.timestamp()) * 10**9
    write_corpus(root / "corpus", history_spec(start_ns=start_ns, hours=30, lines=15_000, seed=11), 15_000)
    config = Config(timezone=UTC)
    duck = DuckDBStore(root / "loglens.duckdb")
    pg = PostgresStore(pg_url)
    for store in (duck, pg):
        Ingestor(store, config, mining_process=False).ingest_paths([str(root / "corpus")])
    yield duck, pg
    duck.close()
    pg.close()


def _queries(duck: DuckDBStore) -> list[tuple[str, CompiledQuery]]:
    """The compiled queries the differential tests ask both stores."""
    row = duck.sql("SELECT epoch_ns(min(ts)), epoch_ns(max(ts)) FROM records")[1][0]
    low, high = int(row[0]), int(row[1])
    middle = low + (high - low) // 2
    window = CompiledQuery(
        "ts >= make_timestamp_ns(?) AND ts < make_timestamp_ns(?)", [middle - 3 * HOUR_NS, middle]
    )
    texts = [
        "", "level:error", "level:>=warning", "-level:info", '"request completed"', "timeout", "time*out",
        "/time(d|out)/", "/FAILED/i", r"/\bcache\b/", "service:api", "service:api status:>=400",
        "latency_ms:>200", "status:404", "has:user_id", "method:GET route:/api*", "user_id:*7*",
        "service:api,checkout level:warning", "request_time:<=0.01", "mailer OR sshd", "pid:>100",
    ]  # fmt: skip
    queries = [(text, compile_query(text)) for text in texts]
    queries.append(("window", window))
    queries.append(("window+level", and_all([window, level_clause(">=warning")])))
    queries.append(("services", and_all([service_clause(["api", "edge"]), window])))
    return queries


class TestDifferential:
    def test_same_records_stored(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """Both stores hold the same records with the same ids."""
        duck, pg = stores
        assert duck.count() == pg.count() > 10_000
        assert list(duck.search("TRUE", [], None)) == list(pg.search("TRUE", [], None))

    def test_search(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """Every query returns the same records, newest or oldest first, limited or not."""
        duck, pg = stores
        for name, query in _queries(duck):
            for limit, oldest in ((50, False), (50, True), (None, False)):
                expected = list(duck.search(query.where, query.params, limit, oldest))
                got = list(pg.search(query.where, query.params, limit, oldest))
                assert got == expected, (name, limit, oldest)
        found = [name for name, q in _queries(duck) if list(duck.search(q.where, q.params, 1))]
        assert len(found) == len(_queries(duck))  # every query finds records: nothing compares empty

    def test_pattern_stats(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        for name, query in _queries(duck):
            expected = sorted(duck.pattern_stats(query.where, query.params, 0.25), key=_stats_key)
            got = sorted(pg.pattern_stats(query.where, query.params, 0.25), key=_stats_key)
            assert got == expected, name

    def test_counts(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        for name, query in _queries(duck):
            expected, got = duck.counts(query.where, query.params), pg.counts(query.where, query.params)
            assert got.total == expected.total, name
            assert sorted(got.templates, key=repr) == sorted(expected.templates, key=repr), name
            assert sorted(got.levels, key=repr) == sorted(expected.levels, key=repr), name

    def test_templates_not_stored(self, fresh_url: str, tmp_path: Any) -> None:
        """Records whose template id the templates table lacks: counts name them by their oldest
        message's first line, pattern_stats sample the oldest raw line — ties in ts go to the first
        stored — the same in both stores."""
        duck, pg = DuckDBStore(tmp_path / "s.duckdb"), PostgresStore(fresh_url)
        records = [
            make_record(i, ts=BASE_NS + (i // 3) * 10**9, template_id=f"x-{i % 4}", message=f"m{i}\nsecond",
                        raw=f"r{i}\nmore", level=Level.ERROR if i == 7 else Level.INFO,
                        service="api" if i % 5 else "db")
            for i in range(40)
        ]  # fmt: skip
        for store in (duck, pg):
            store.write(records)
        for query in (compile_query(""), compile_query("-m1*"), compile_query("service:api")):
            expected, got = duck.counts(query.where, query.params), pg.counts(query.where, query.params)
            assert sorted(got.templates, key=repr) == sorted(expected.templates, key=repr)
            assert {t.template for t in got.templates} <= {f"m{i}" for i in range(40)}
            stats = sorted(pg.pattern_stats(query.where, query.params, 0.5), key=_stats_key)
            assert stats == sorted(duck.pattern_stats(query.where, query.params, 0.5), key=_stats_key)
        duck.close()
        pg.close()

    def test_minute_stats(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        for name, query in _queries(duck)[:8]:
            expected = duck.minute_stats(query.where, query.params, None)
            got = pg.minute_stats(query.where, query.params, None)
            assert sorted(got[0]) == sorted(expected[0]), name
            _assert_rows_close(sorted(got[1]), sorted(expected[1]), name)

    def test_hits_before_the_window_origin(self, fresh_url: str, tmp_path: Any) -> None:
        """Records stamped before 2000-01-03 (a device whose clock says 1970) fall in the bucket that
        holds them, in both stores: a bucket's start is a floor, not a rounding toward the origin."""
        duck, pg = DuckDBStore(tmp_path / "s.duckdb"), PostgresStore(fresh_url)
        stamps = [WINDOW_ORIGIN_NS - 90 * 60 * 10**9, WINDOW_ORIGIN_NS - 1, 5 * 10**9, WINDOW_ORIGIN_NS]
        records = [make_record(i, ts=ts) for i, ts in enumerate(stamps)]
        for store in (duck, pg):
            store.write(records)
        hour = HOUR_NS
        expected = duck.hits("TRUE", [], hour, "service")
        assert [start for start, _, _ in expected] == [
            0, WINDOW_ORIGIN_NS - 2 * hour, WINDOW_ORIGIN_NS - hour, WINDOW_ORIGIN_NS
        ]  # fmt: skip
        assert pg.hits("TRUE", [], hour, "service") == expected
        duck.close()
        pg.close()

    def test_minute_stats_of_watched_fields(self, fresh_url: str, tmp_path: Any) -> None:
        """Per-minute p95 of watched fields, from minutes dense enough to report one (JSON numbers and
        numeric strings, NaN and inf skipped), the same in both stores."""
        duck, pg = DuckDBStore(tmp_path / "s.duckdb"), PostgresStore(fresh_url)
        values: list[object] = [1.5, "2.25", 3, "nan", "inf", 7, "x", None, 12.125, "1e2"]
        records = [
            make_record(i, service=service, fields={"latency_ms": values[i % len(values)] if i % 7 else i,
                                                    "took": i % 13, "size": i})
            for i in range(0, 400)
            for service in ("api", "edge")
        ]  # fmt: skip
        for store in (duck, pg):
            store.write(records)
        for watched in (None, ["latency_ms", "took", "size", "no.such"]):
            expected = duck.minute_stats("TRUE", [], watched)
            assert expected[1]
            got = pg.minute_stats("TRUE", [], watched)
            assert sorted(got[0]) == sorted(expected[0])
            _assert_rows_close(sorted(got[1]), sorted(expected[1]), watched)
        duck.close()
        pg.close()

    def test_hits(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        for name, query in _queries(duck)[:10]:
            for by in ("level", "service", "template", "category"):
                for bucket in (60 * 10**9, 7 * 60 * 10**9):
                    expected = duck.hits(query.where, query.params, bucket, by)
                    assert pg.hits(query.where, query.params, bucket, by) == expected, (name, by)

    def test_metric_series(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """Tumbling and sliding windows, each aggregate, with and without groups."""
        duck, pg = stores
        where = compile_query("service:api,edge")
        for aggregate in SERIES_AGGREGATES:
            for field, group in (("latency_ms", None), ("status", "service"), ("request_time", "method")):
                for window, step in ((300 * 10**9, None), (600 * 10**9, 120 * 10**9)):
                    value_params: list[object] = []
                    value = "1"
                    if aggregate == "unique":
                        value = value_expr(field, value_params)
                    elif aggregate != "count":
                        value = number_expr(field, value_params)
                    group_params: list[object] = []
                    group_sql = (
                        "NULL" if group is None else f"CAST({value_expr(group, group_params)} AS VARCHAR)"
                    )
                    query = SeriesQuery(
                        where.where, tuple(where.params), aggregate, window, step, value, tuple(value_params),
                        group_sql, tuple(group_params), 0.9 if aggregate == "quantile" else None,
                    )  # fmt: skip
                    expected = duck.metric_series(query)
                    assert expected, (aggregate, field, step)
                    _assert_rows_close(pg.metric_series(query), expected, (aggregate, field, group, step))

    def test_last_errors(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        for name, query in _queries(duck):
            assert pg.last_errors(query.where, query.params) == duck.last_errors(query.where, query.params), (
                name
            )
        assert duck.last_errors("TRUE", [])

    def test_templates(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """Templates, their texts, the ones older than a time, and their counts and levels."""
        duck, pg = stores
        assert pg.templates() == duck.templates()
        ids = [*[t.id for t in duck.templates()][::3], "no-such-template"]
        assert pg.template_texts(ids) == duck.template_texts(ids)
        for hours in (2, 15, 29):
            at = int(CORPUS_START.timestamp()) * 10**9 + hours * HOUR_NS
            assert pg.templates_before(at) == duck.templates_before(at)
        figures = (
            "SELECT id, count, level, severity, epoch_ns(first_seen), epoch_ns(last_seen) FROM templates "
            "ORDER BY id"
        )
        assert pg.sql(figures)[1] == duck.sql(figures)[1]

    def test_checkpoints(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        duck, pg = stores
        paths = [row[0] for row in duck.sql("SELECT path FROM checkpoints ORDER BY path")[1]]
        assert len(paths) >= 5
        for path in [*paths, "/nowhere.log"]:
            assert pg.checkpoint(path) == duck.checkpoint(path)

    def test_partitions_per_day(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """One partition per UTC day holding records, listed in pg_inherits, each with its rows."""
        duck, pg = stores
        days = [row[0] for row in duck.sql("SELECT DISTINCT CAST(ts AS DATE) FROM records ORDER BY 1")[1]]
        assert len(days) == 3
        names = [f"records_{day:%Y%m%d}" for day in days]
        assert pg.partitions() == names
        _, rows = pg.sql(
            "SELECT c.relname, (SELECT count(*) FROM records AS r WHERE r.tableoid = c.oid) "
            "FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'records'::regclass ORDER BY 1"
        )
        per_day = duck.sql(
            "SELECT count(*) FROM records GROUP BY CAST(ts AS DATE) ORDER BY CAST(ts AS DATE)"
        )[1]
        assert [int(r[1]) for r in rows] == [int(r[0]) for r in per_day]

    def test_indexes(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """Every partition has the BRIN on ts, the (ts, id), (service, ts) and template_id btrees and the
        trigram GIN on message."""
        _, pg = stores
        _, rows = pg.sql("SELECT tablename, indexdef FROM pg_indexes WHERE tablename LIKE 'records_%'")
        for partition in pg.partitions():
            defs = [d for t, d in rows if t == partition]
            assert any("USING brin (ts)" in d for d in defs), partition
            assert any("USING btree (ts, id)" in d for d in defs), partition
            assert any("USING btree (service, ts)" in d for d in defs), partition
            assert any("USING btree (template_id)" in d for d in defs), partition
            assert any("USING gin (message gin_trgm_ops)" in d for d in defs), partition

    def test_trigram_index_serves_words(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """A word search can be answered from the trigram index (the rewrite keeps it usable)."""
        _, pg = stores
        query = compile_query('"connection refused"')
        sql, params = to_postgres(query.where, query.params)
        literal = sql.replace("%s", "'" + str(params[0]) + "'")
        plan = "\n".join(str(r[0]) for r in pg.sql(f"EXPLAIN SELECT id FROM records WHERE {literal}")[1])
        assert "message_idx" in plan or "trgm" in plan, plan

    def test_annotations_and_documents(self, stores: tuple[DuckDBStore, PostgresStore]) -> None:
        """The same operations give the same annotations and documents in both stores."""
        duck, pg = stores
        for store in (duck, pg):
            store.add_annotation(Annotation(since=BASE_NS, text="deploy", created=BASE_NS + 1, author="ann"))
            store.add_annotation(
                Annotation(since=BASE_NS + 10, until=BASE_NS + 50, text="window", kind="bookmark",
                           service="api", record_id=7, created=BASE_NS + 2)
            )  # fmt: skip
            store.add_annotation(Annotation(since=BASE_NS + 100, text="later", created=BASE_NS + 3))
            assert store.delete_annotation(3) and not store.delete_annotation(99)
            store.put_document(
                Document("alert", "", {"rule": "r1", "z": 1, "a": [1, 2]}, "open", BASE_NS, BASE_NS)
            )
            store.put_document(Document("alert", "", {"rule": "r2"}, "resolved", BASE_NS, BASE_NS + 5))
            store.put_document(Document("alert", "10", {"rule": "r3"}, "open", BASE_NS, BASE_NS + 5))
            store.put_document(Document("silence", "s-1", {"until": 1}, "active", BASE_NS, BASE_NS))
            store.put_document(
                Document("alert", "1", {"rule": "r1", "again": True}, "acknowledged", BASE_NS, BASE_NS + 9)
            )
            assert store.delete_document("silence", "s-1") and not store.delete_document("silence", "s-1")
        for since, until in (
            (None, None),
            (BASE_NS + 20, None),
            (None, BASE_NS + 5),
            (BASE_NS + 60, BASE_NS + 200),
        ):
            assert pg.annotations(since, until) == duck.annotations(since, until)
        for state, since_ns, limit in ((None, None, None), ("open", None, None), (None, BASE_NS + 5, 2)):
            assert pg.documents("alert", state, since_ns, limit) == duck.documents(
                "alert", state, since_ns, limit
            )
        assert pg.document("alert", "1") == duck.document("alert", "1")
        assert pg.document("silence", "s-1") is None
        with pytest.raises(StoreError, match="unknown document kind"):
            pg.put_document(Document("nope", "", {}))


def _stats_key(stats: Any) -> tuple[str, str]:
    return (stats.template_id, stats.service)


def _assert_rows_close(got: list[Any], expected: list[Any], label: object) -> None:
    """Rows equal, floats to 1e-9 relative (sums and averages add up in another order)."""
    assert len(got) == len(expected), label
    for a, b in zip(got, expected, strict=True):
        assert len(a) == len(b), label
        for x, y in zip(a, b, strict=True):
            if isinstance(y, float) or isinstance(x, float):
                assert x == pytest.approx(y, rel=1e-9, abs=1e-12), (label, a, b)
            else:
                assert x == y, (label, a, b)


# ---------------------------------------------------------------------------------- writing, locks


class TestWriting:
    def test_nothing_visible_before_commit(self, fresh_url: str) -> None:
        """Appended records are neither visible nor stored until commit; rollback drops them."""
        store = PostgresStore(fresh_url)
        reader = PostgresStore(fresh_url, read_only=True)
        store.append([make_record(i) for i in range(5)])
        assert store.uncommitted == 5 and reader.count() == 0
        store.rollback()
        store.commit()
        assert reader.count() == 0
        store.write([make_record(i) for i in range(3)], Checkpoint("/a.log", 5, 100, "ff", 10, skip=2))
        assert reader.count() == 3
        assert [r.id for r in reader.search("TRUE", [], None)] == [1, 2, 3]  # dropped appends took no ids
        assert reader.checkpoint("/a.log") == Checkpoint("/a.log", 5, 100, "ff", 10, skip=2)
        store.close()
        reader.close()

    def test_a_day_partition_dropped_under_the_store_is_made_again(self, fresh_url: str) -> None:
        """Expiring a day is dropping its partition; a late record of that day, written by a store
        that had made the partition, makes it again instead of failing every commit."""
        store = PostgresStore(fresh_url)
        store.write([make_record(0)])
        (partition,) = store.partitions()
        with psycopg.connect(fresh_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {partition}")  # type: ignore[arg-type]
        assert store.partitions() == [] and store.count() == 0
        store.write([make_record(1)])
        assert store.partitions() == [partition]
        assert [r.message for r in store.search("TRUE", [], None)] == ["message 1"]
        store.close()

    def test_nul_characters_stored_as_text(self, fresh_url: str) -> None:
        """Text PostgreSQL cannot hold (NUL) is stored as the text \\x00, as loglens reads files."""
        store = PostgresStore(fresh_url)
        store.write([make_record(0, message="a\x00b", fields={"k\x00": ["v\x00", 1]}, params=["\x00"])])
        (row,) = store.search("TRUE", [], None)
        assert row.message == "a\\x00b"
        assert row.fields == {"k\\x00": ["v\\x00", 1]}
        assert row.params == ["\\x00"]
        store.close()

    def test_template_counts_follow_commits(self, fresh_url: str) -> None:
        """Template rows are written with the commit, counts added up from the committed records only."""
        store = PostgresStore(fresh_url)
        store.save_templates([TemplateChange("api-1", "api", "message <*>", False)])
        store.append(
            [
                make_record(i, template_id="api-1", level=Level.WARNING if i == 2 else Level.INFO)
                for i in range(4)
            ]
        )
        store.commit()
        store.save_templates([TemplateChange("api-1", "api", "<*> <*>", False)])
        store.append([make_record(9, template_id="api-1")])
        store.rollback()
        _, rows = store.sql("SELECT id, template, count, level, first_seen, last_seen FROM templates")
        assert rows == [("api-1", "message <*>", 4, "warning", make_record(0).ts, make_record(3).ts)]
        store.close()

    def test_migrations_recorded_and_reopened(self, fresh_url: str) -> None:
        """A new database is migrated to the current version; reopening changes nothing."""
        PostgresStore(fresh_url).close()
        store = PostgresStore(fresh_url)
        assert store.schema_version == CURRENT_VERSION
        store.close()
        reader = PostgresStore(fresh_url, read_only=True)
        assert reader.schema_version == CURRENT_VERSION
        reader.close()

    def test_read_only_open_of_an_empty_database(self, fresh_url: str) -> None:
        """A database loglens never wrote is refused with a sentence saying so."""
        with pytest.raises(StoreError, match="not a loglens store"):
            PostgresStore(fresh_url, read_only=True)

    def test_unreachable_server(self) -> None:
        """A server that does not answer is a StoreError naming it, without the password."""
        with pytest.raises(StoreError, match=r"postgresql://127\.0\.0\.1:1/x") as caught:
            PostgresStore("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2")
        assert "secret" not in str(caught.value)


def _writer(url: str, name: str, commits: int, rows: int, start: Any) -> None:
    store = PostgresStore(url)
    start.wait(60)  # both connected: they write at the same time
    for c in range(commits):
        base = c * rows
        store.append(
            [make_record(base + i, service=name, message=f"{name} {c} {base + i}") for i in range(rows)]
        )
        store.commit()
    store.close()


class TestConcurrentWriters:
    def test_two_processes(self, fresh_url: str) -> None:
        """Two processes writing at once: every record stored once, ids unique, each commit's ids one
        contiguous block (taken inside the commit lock), and each writer's ids in its own order."""
        PostgresStore(fresh_url).close()
        context = multiprocessing.get_context("spawn")
        commits, rows = 12, 700
        start = context.Barrier(2)
        workers = [
            context.Process(target=_writer, args=(fresh_url, f"w{k}", commits, rows, start)) for k in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
            assert worker.exitcode == 0
        store = PostgresStore(fresh_url, read_only=True)
        _, rows_found = store.sql("SELECT count(*), count(DISTINCT id) FROM records")
        assert rows_found == [(2 * commits * rows, 2 * commits * rows)]
        _, blocks = store.sql(
            "SELECT service, split_part(message, ' ', 2)::int AS c, min(id), max(id), count(*) "
            "FROM records GROUP BY 1, 2 ORDER BY 3"
        )
        assert len(blocks) == 2 * commits
        assert all(high - low + 1 == n for _, _, low, high, n in blocks)
        writers_in_id_order = [service for service, *_ in blocks]
        switches = sum(a != b for a, b in itertools.pairwise(writers_in_id_order))
        for name in ("w0", "w1"):
            _, order = store.sql(
                f"SELECT split_part(message, ' ', 3)::int FROM records WHERE service = '{name}' ORDER BY id"
            )
            assert [r[0] for r in order] == list(range(commits * rows))
        assert switches >= 2  # their commits did interleave: the blocks above are the lock's work
        store.close()


class TestBusOffsets:
    def test_second_advance_wins(self, fresh_url: str) -> None:
        """Two nodes take the same stream: the one committing first wins, the other's commit raises
        StaleOffsetError and stores none of its records."""
        first, second = PostgresStore(fresh_url), PostgresStore(fresh_url)
        assert first.applied_offset("logs.0") == 0
        first.append([make_record(i, service="first") for i in range(10)])
        first.advance_offset("logs.0", 10)
        assert second.applied_offset("logs.0") == 0
        second.append([make_record(i, service="second") for i in range(10)])
        second.advance_offset("logs.0", 10)
        second.commit()
        with pytest.raises(StaleOffsetError):
            first.commit()
        assert first.uncommitted == 0
        assert first.sql("SELECT service, count(*) FROM records GROUP BY 1") == (
            ["service", "count"],
            [("second", 10)],
        )
        assert first.applied_offset("logs.0") == 10
        first.append([make_record(20, service="first")])
        first.advance_offset("logs.0", 15)
        first.commit()
        assert second.applied_offset("logs.0") == 15
        first.close()
        second.close()

    def test_stale_advance_refused_at_once(self, fresh_url: str) -> None:
        """Advancing to an offset already stored, or one never read, raises at once and drops the
        transaction; advancing twice in one transaction keeps the last."""
        store = PostgresStore(fresh_url)
        with pytest.raises(StaleOffsetError):
            store.advance_offset("s", 5)  # never read
        store.applied_offset("s")
        store.advance_offset("s", 5)
        store.advance_offset("s", 8)
        store.commit()
        assert store.applied_offset("s") == 8
        store.append([make_record(0)])
        with pytest.raises(StaleOffsetError):
            store.advance_offset("s", 8)
        assert store.uncommitted == 0
        other = PostgresStore(fresh_url)
        other.applied_offset("s")
        other.advance_offset("s", 9)
        other.commit()
        with pytest.raises(StaleOffsetError):
            store.advance_offset("s", 12)  # moved since this store read it
        store.close()
        other.close()


class TestReadOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "DELETE FROM records",
            "INSERT INTO meta VALUES ('a', 'b')",
            "DROP TABLE records",
            "SET statement_timeout = 0",
            "SELECT 1; SELECT 2",
            "SELECT 1; DELETE FROM records",
            "COPY records TO STDOUT",
            "SELECT nextval('record_ids')",
            "WITH gone AS (DELETE FROM records RETURNING id) SELECT count(*) FROM gone",
            "SELECT id FROM records FOR UPDATE",
            "EXPLAIN ANALYZE DELETE FROM records",
            "SELECT * INTO copied FROM records",
            "SELECT pg_advisory_lock(1); UPDATE records SET level = 'x'",
            "SELECT 1 AS a$b$; COMMIT; DELETE FROM records; SELECT $b$$b$",
        ],
    )
    def test_sql_refuses_writes(self, pg_url: str, statement: str) -> None:
        """`sql` refuses anything that writes, on a writable store and a read-only one, and the records
        are all still there."""
        writer = PostgresStore(pg_url)
        before = writer.count()
        for store in (writer, PostgresStore(pg_url, read_only=True)):
            with pytest.raises(ReadOnlyError):
                store.sql(statement)
        assert writer.count() == before
        writer.close()

    def test_session_left_clean(self, pg_url: str) -> None:
        """Settings and advisory locks a statement takes do not outlive it."""
        PostgresStore(pg_url).close()
        store = PostgresStore(pg_url, read_only=True)
        store.sql("SELECT set_config('statement_timeout', '1', false), pg_advisory_lock(42)")
        _, rows = store.sql(
            "SELECT current_setting('statement_timeout'), count(*) FROM pg_locks "
            "WHERE locktype = 'advisory' AND objid = 42"
        )
        assert rows[0][0] != "1ms" and rows[0][1] == 0
        assert store.sql("SELECT 1 AS one;  -- trailing") == (["one"], [(1,)])
        store.close()

    def test_writing_methods_refused(self, pg_url: str) -> None:
        """A read-only store refuses every writing method."""
        PostgresStore(pg_url).close()
        store = PostgresStore(pg_url, read_only=True)
        for call in (
            lambda: store.append([make_record(0)]),
            lambda: store.commit([Checkpoint("/a", 1, 1, "f", 1)]),
            lambda: store.advance_offset("s", 1),
            lambda: store.add_annotation(Annotation(since=1, text="x")),
            lambda: store.put_document(Document("alert", "", {})),
            lambda: store.delete_document("alert", "1"),
        ):
            with pytest.raises(ReadOnlyError):
                call()
        store.close()

    def test_sql_errors(self, fresh_url: str) -> None:
        """Bad SQL is a StoreError; a regex PostgreSQL refuses, in a query, a QueryError."""
        writer = PostgresStore(fresh_url)
        writer.write([make_record(0)])
        writer.close()
        store = PostgresStore(fresh_url, read_only=True)
        with pytest.raises(StoreError, match="SQL error"):
            store.sql("SELECT nope FROM records")
        with pytest.raises(QueryError):
            list(store.search("regexp_matches(message, ?)", ["a{1,2000}"], 5))
        store.close()
