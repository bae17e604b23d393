"""Tests for loglens.query.nlq: plain-English questions → intent, range, level, services, topics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loglens.errors import ConfigError
from loglens.query.language import compile_query, parse_query
from loglens.query.nlq import (
    DEFAULT_WINDOWS_NS,
    Question,
    default_synonyms,
    load_synonyms,
    on_newest_data,
    parse_question,
    stem,
    wanted_fields,
)

NOW = int(datetime(2026, 11, 21, 6, 0, tzinfo=UTC).timestamp()) * 10**9
"""Saturday 2026-11-21 06:00 UTC, the end of the shared test corpus."""

SHOP = ("CRON", "api", "billing", "kernel", "nginx", "queue", "sshd", "systemd", "systemd-logind", "worker")
"""The services of the shared corpus (tests/conftest.py `corpus`): no database service."""
WITH_DB = (*SHOP, "postgresql", "mysqld", "kube-apiserver")


def at(stamp: str) -> int:
    """`11-20 23:00` (or a full `2026-11-20 23:00`) as ns, UTC."""
    full = stamp if stamp.startswith("20") else f"2026-{stamp}"
    return int(datetime.fromisoformat(full).replace(tzinfo=UTC).timestamp()) * 10**9


def back(hours: float) -> int:
    return NOW - int(hours * 3600 * 10**9)


@dataclass(frozen=True)
class Case:
    """A question and what it must be read as; `since`/`until` are `at()` stamps, None for open."""

    text: str
    intent: str
    since: str | None
    until: str | None = None
    level: str | None = None
    services: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    known: tuple[str, ...] = SHOP
    fields: tuple[str, ...] = ()


CASES = [
    # the issue's own examples
    Case("show me errors related to memory in the last hour", "records", "11-21 05:00", level="error",
         topics=("memory",)),
    Case("what caused the OOM killer?", "cause", "11-20 06:00", topics=("oom",)),
    Case("any patterns before build failures?", "before", "11-20 06:00", level="error", topics=("build",)),
    # phrasings nobody tested
    Case("did postgres complain about deadlocks today?", "records", "11-21 00:00", level="warning",
         topics=("deadlock",)),
    Case("did postgres complain about deadlocks today?", "records", "11-21 00:00", level="warning",
         services=("postgresql",), topics=("deadlock",), known=WITH_DB),
    Case("how many 5xx did nginx return since 2am", "count", "11-21 02:00", services=("nginx",),
         status=("status:>=500", "status:<600"), fields=("status",)),
    Case("when did the disk fill up", "when", "11-14 06:00", topics=("disk",)),
    Case("which service logged the most errors yesterday", "top", "11-20 00:00", "11-21 00:00",
         level="error"),
    Case("anything weird with auth in the past 30 minutes", "summary", "11-21 05:30", topics=("auth",)),
    Case("why did the worker restart?", "cause", "11-20 06:00", services=("worker",), topics=("restart",)),
    Case("show the last 15m of worker warnings", "records", "11-21 05:45", level="warning",
         services=("worker",)),
    Case("errors in the api between 11pm and 1am", "records", "11-20 23:00", "11-21 01:00", level="error",
         services=("api",)),
    Case("between 2 and 3am what did billing log", "records", "11-21 02:00", "11-21 03:00",
         services=("billing",)),
    Case("critical errors after 14:30", "records", "11-20 14:30", level="critical"),
    Case("dns problems around 3am", "records", "11-21 02:30", "11-21 03:30", level="error", topics=("dns",)),
    Case("were there tls handshake failures in the last 2 days", "records", "11-19 06:00", level="error",
         topics=("tls",)),
    Case("how many 502s since yesterday", "count", "11-20 00:00", status=("status:502",), fields=("status",)),
    Case("any log storms today?", "summary", "11-21 00:00", topics=("volume",)),
    Case("what's going on?", "summary", "11-21 05:00"),
    Case("how is the queue doing", "summary", "11-21 05:00", services=("queue",)),
    Case("is anything wrong with billing this morning?", "summary", "11-21 00:00", services=("billing",)),
    Case("list sshd logins yesterday", "records", "11-20 00:00", "11-21 00:00", services=("sshd",),
         topics=("auth",)),
    Case("count kernel warnings in the past 6 hours", "count", "11-21 00:00", level="warning",
         services=("kernel",)),
    Case("when was the first segfault", "when", "11-14 06:00", topics=("crash",)),
    Case("which app had the most timeouts this week", "top", "11-16 00:00", topics=("latency",)),
    Case("show me permission denied errors from the last 2h", "records", "11-21 04:00", level="error",
         topics=("permission",)),
    Case("what led to the 429s?", "cause", "11-20 06:00", status=("status:429",), fields=("status",)),
    Case("rate limiting in the last day", "records", "11-20 06:00", topics=("rate limit",)),
    Case("slow queries in billing", "records", "11-21 05:00", services=("billing",),
         topics=("latency", "database")),
    Case("cron job failures last night", "records", "11-20 18:00", level="error", services=("CRON",)),
    Case("k8s crashloops since 10 minutes ago", "records", "11-21 05:50", services=("kube-apiserver",),
         topics=("restart",), known=WITH_DB),
    Case('show me "connection refused" from api', "records", "11-21 05:00", services=("api",),
         topics=("connection refused",)),
    Case("how often did the oom killer fire today", "count", "11-21 00:00", topics=("oom",)),
    Case("anything unusual in the last 3 hours?", "summary", "11-21 03:00"),
    Case("network errors in the past hour", "records", "11-21 05:00", level="error", topics=("network",)),
    Case("certificate expired warnings", "records", "11-21 05:00", level="warning", topics=("tls",)),
    Case("what is behind the database errors on 2026-11-20", "cause", "11-20 00:00", "11-21 00:00",
         level="error", topics=("database",)),
    Case("top services by warnings since 2026-11-21 03:00", "top", "11-21 03:00", level="warning"),
    Case("what happened before the disk filled up yesterday", "before", "11-20 00:00", "11-21 00:00",
         topics=("disk",)),
    Case("why is stripe failing", "cause", "11-20 06:00", level="error", topics=("stripe",)),
    Case("any logind messages", "records", "11-21 05:00", services=("systemd-logind",)),
    Case("show worker errors from 9am", "records", "11-20 09:00", level="error", services=("worker",)),
    Case("heap problems before 4am", "records", None, "11-21 04:00", level="error", topics=("memory",)),
    Case("what happened at 3:45", "summary", "11-21 03:15", "11-21 04:15"),
    Case("errors over the past half hour", "records", "11-21 05:30", level="error"),
    Case("failed password attempts from the last couple of hours", "records", "11-21 04:00", level="error",
         topics=("auth",)),
    Case("show errors from the db", "records", "11-21 05:00", level="error",
         services=("postgresql", "mysqld"), known=WITH_DB),
    Case("how many 4xx errors did the api return", "count", "11-20 06:00", services=("api",),
         status=("status:>=400", "status:<500"), fields=("status",)),
    Case("Which services were the noisiest in the last 24h?", "top", "11-20 06:00"),
    Case("anything odd with the workers since 1 am", "summary", "11-21 01:00", services=("worker",)),
]  # fmt: skip


def _id(case: Case) -> str:
    return re.sub(r"\W+", "-", case.text.lower()).strip("-")[:60] + ("-db" if case.known is WITH_DB else "")


@pytest.fixture(scope="module")
def read() -> dict[Case, Question]:
    """Every case read once (UTC), for the tests that check one aspect each."""
    return {c: parse_question(c.text, c.known, NOW, c.fields, tz=UTC) for c in CASES}


class TestReading:
    @pytest.mark.parametrize("case", CASES, ids=_id)
    def test_intent_range_level_services_topics(self, case: Case, read: dict[Case, Question]) -> None:
        """The question is read as the intent, range, least level, services, topics and status asked."""
        q = read[case]
        assert q.intent == case.intent
        assert q.since == (None if case.since is None else at(case.since))
        assert q.until == (None if case.until is None else at(case.until))
        assert q.min_level == case.level
        assert q.services == case.services
        assert tuple(t.name for t in q.topics) == case.topics
        assert q.status == case.status

    @pytest.mark.parametrize("case", CASES, ids=_id)
    def test_query_string_is_valid_search_language(self, case: Case, read: dict[Case, Question]) -> None:
        """Every structured query reads back as a query of the search language and compiles to SQL."""
        text = read[case].query_string()
        parse_query(text)
        assert compile_query(text).where


class TestTopics:
    def test_synonyms_expand_into_one_or_group(self) -> None:
        """A topic word becomes the OR group of its synonyms, with the narrower topics it includes
        (memory includes the OOM killer); longer terms that add nothing are dropped."""
        q = parse_question("show me memory errors", SHOP, NOW, tz=UTC)
        (memory,) = q.topics
        assert {"memory", "heap", "killed process"} <= set(memory.terms)
        assert "out of memory" not in memory.terms  # `memory` finds it already
        assert memory.prefixes == ("rss", "oom")
        assert q.query_string() == (
            'level:>=error (memory OR heap OR "cannot allocate" OR "gc overhead" OR "killed process" '
            "OR /\\b(rss|oom)/i OR /\\b(ram|enomem)\\b/i)"
        )

    def test_a_narrow_topic_stays_narrow(self) -> None:
        """ "the OOM killer" searches OOM lines only, not every line that reports a memory figure."""
        q = parse_question("what caused the OOM killer?", SHOP, NOW, tz=UTC)
        assert q.query_string() == '("out of memory" OR "killed process" OR /\\b(oom)/i OR /\\b(enomem)\\b/i)'

    def test_short_words_search_whole_words(self) -> None:
        """`apt` and `nix` are whole words in the query, so "captured" and "pam_unix" do not match."""
        q = parse_question("apt build broke", SHOP, NOW, tz=UTC)
        assert "/\\b(npm|pip|apt|nix|make)\\b/i" in q.query_string()
        node = parse_query(q.query_string())
        assert "Regex(pattern='\\\\b(npm|pip|apt|nix|make)\\\\b'" in repr(node)

    def test_stemming_matches_inflections(self) -> None:
        """Plurals and tenses reach the same topic (deadlocks, crashed, restarts, timeouts)."""
        for text, topic in [
            ("deadlocks", "deadlock"),
            ("crashed", "crash"),
            ("restarts", "restart"),
            ("timeouts", "latency"),
            ("leaks", "memory"),
            ("throttled requests", "rate limit"),
        ]:
            assert [t.name for t in parse_question(text, SHOP, NOW, tz=UTC).topics] == [topic], text

    def test_stem(self) -> None:
        """The stemmer folds what the vocabulary needs and leaves short and non-word tokens alone."""
        assert [stem(w) for w in ("errors", "failures", "killed", "denied", "crashes", "processes")] == [
            "error",
            "fail",
            "kill",
            "deny",
            "crash",
            "process",
        ]
        assert [stem(w) for w in ("dns", "5xx", "status", "redis")] == ["dns", "5xx", "status", "redis"]

    def test_phrases_win_over_their_words(self) -> None:
        """A multi-word entry is matched before its words: "connection pool" is the pool topic."""
        q = parse_question("connection pool problems in billing", SHOP, NOW, tz=UTC)
        assert [t.name for t in q.topics] == ["pool"]

    def test_narrower_topic_wins_over_the_broader_one_including_it(self) -> None:
        """ "database deadlocks" searches deadlocks, not every line mentioning a query."""
        q = parse_question("database deadlocks", SHOP, NOW, tz=UTC)
        assert [t.name for t in q.topics] == ["deadlock"]
        broad = parse_question("database trouble", SHOP, NOW, tz=UTC)
        assert "deadlock" in broad.topics[0].terms  # the broad topic includes the narrower ones

    def test_unknown_words_are_searched_as_they_are(self) -> None:
        """A word the vocabulary does not know is searched for, in its singular."""
        q = parse_question("show stripe webhooks", SHOP, NOW, tz=UTC)
        assert [(t.name, t.terms) for t in q.topics] == [("stripe", ("stripe",)), ("webhooks", ("webhook",))]

    def test_quoted_phrase_is_literal(self) -> None:
        """A quoted phrase is searched exactly, never expanded."""
        q = parse_question('errors saying "disk quota" today', SHOP, NOW, tz=UTC)
        assert [t.terms for t in q.topics] == [("disk quota",)]
        assert q.query_string() == 'level:>=error "disk quota"'

    def test_volume_topic_is_answered_by_anomalies(self) -> None:
        """A log storm is not a word: the topic adds no search term but names detector kinds."""
        q = parse_question("was there a log storm", SHOP, NOW, tz=UTC)
        assert q.query_string() == ""
        assert q.anomaly_kinds == {"volume_spike", "template_burst"}


class TestServices:
    @pytest.mark.parametrize(
        ("text", "known", "services"),
        [
            ("postgres errors", ("api", "postgresql"), ("postgresql",)),
            ("pg errors", ("api", "postgres-main"), ("postgres-main",)),
            ("database errors", ("api", "orders-db", "mysqld", "dbus-daemon"), ("orders-db", "mysqld")),
            ("k8s warnings", ("kubelet", "kube-proxy", "api"), ("kubelet", "kube-proxy")),
            ("errors from the workers", ("worker", "api"), ("worker",)),
            ("ssh logins", ("sshd", "api"), ("sshd",)),
            ("cron errors", ("CRON", "api"), ("CRON",)),
            ("API errors", ("api",), ("api",)),
            ("logind sessions", ("systemd-logind", "systemd"), ("systemd-logind",)),
        ],
    )
    def test_names_aliases_plurals_and_case(
        self, text: str, known: tuple[str, ...], services: tuple[str, ...]
    ) -> None:
        """Services are named loosely (aliases, plurals, case, a unique part) but only existing ones."""
        assert parse_question(text, known, NOW, tz=UTC).services == services

    def test_alias_without_such_service_is_a_topic(self) -> None:
        """ "postgres" with no PostgreSQL service searches the database topic instead."""
        q = parse_question("postgres errors", SHOP, NOW, tz=UTC)
        assert q.services == ()
        assert [t.name for t in q.topics] == ["database"]

    def test_odd_service_names_are_quoted(self) -> None:
        """A service name the bare syntax cannot hold is quoted, and the query still parses."""
        q = parse_question("errors from my app", ("my app", "api"), NOW, tz=UTC)
        assert q.services == ("my app",)
        assert q.query_string() == 'service:"my app" level:>=error'
        parse_query(q.query_string())


class TestExclusions:
    def test_services_after_except_are_left_out(self) -> None:
        """ "not from the kernel or sshd" excludes both services, and only them."""
        q = parse_question("errors not from the kernel or sshd", SHOP, NOW, tz=UTC)
        assert (q.services, q.excluded_services) == ((), ("kernel", "sshd"))
        assert q.query_string() == "-service:kernel,sshd level:>=error"

    def test_topics_after_without_are_left_out(self) -> None:
        """ "without healthchecks" and "except deadlocks" become negated groups of the query."""
        assert parse_question("warnings without healthchecks", SHOP, NOW, tz=UTC).query_string() == (
            "level:>=warning -healthcheck"
        )
        q = parse_question("database errors except deadlocks", SHOP, NOW, tz=UTC)
        assert [t.name for t in q.topics] == ["database"]
        assert [t.name for t in q.excluded_topics] == ["deadlock"]
        assert q.query_string().endswith(
            '-(deadlock OR "lock wait" OR "lock timeout" OR sharelock OR "waiting for lock")'
        )
        assert "not about deadlock" in q.explain()

    def test_exclusion_ends_at_the_next_filter(self) -> None:
        """An exclusion covers what follows it, not the rest of the question."""
        q = parse_question("errors except nginx, warnings from api", SHOP, NOW, tz=UTC)
        assert (q.services, q.excluded_services) == (("api",), ("nginx",))


class TestTime:
    def test_no_time_gives_the_default_window_of_the_intent(self) -> None:
        """Without a time phrase, each intent looks back its default window (and says it did)."""
        for text, intent in [
            ("show errors", "records"),
            ("what caused the errors", "cause"),
            ("when did it crash", "when"),
        ]:
            q = parse_question(text, SHOP, NOW, tz=UTC)
            assert q.intent == intent
            assert q.since == NOW - DEFAULT_WINDOWS_NS[intent]
            assert q.window_default

    def test_clock_later_than_now_means_yesterday(self) -> None:
        """ "since 2am" asked at 01:00 is yesterday's 2am, not a time in the future."""
        one_am = at("11-21 01:00")
        q = parse_question("errors since 2am", SHOP, one_am, tz=UTC)
        assert q.since == at("11-20 02:00")

    def test_an_end_later_than_now_stays_today(self) -> None:
        """ "until noon" asked in the morning ends at today's noon, while "since 9am" is yesterday's."""
        assert parse_question("errors until noon", SHOP, NOW, tz=UTC).until == at("11-21 12:00")
        assert parse_question("errors since 9am", SHOP, NOW, tz=UTC).since == at("11-20 09:00")

    def test_today_is_local_midnight(self) -> None:
        """ "today" starts at midnight in the zone given, not in UTC."""
        berlin = ZoneInfo("Europe/Berlin")
        q = parse_question("errors today", SHOP, NOW, tz=berlin)
        assert q.since == at("11-20 23:00")  # 00:00 in Berlin (UTC+1)
        assert q.since_arg == "today"

    def test_relative_range_keeps_a_cli_duration(self) -> None:
        """ "the last 90 minutes" is `--since 90m` for the equivalent command."""
        q = parse_question("warnings in the last 90 minutes", SHOP, NOW, tz=UTC)
        assert (q.since, q.since_arg, q.until_arg) == (back(1.5), "90m", None)

    def test_yesterday_is_a_closed_day(self) -> None:
        """ "yesterday" is [yesterday 00:00, today 00:00), as `--since yesterday --until today`."""
        q = parse_question("errors yesterday", SHOP, NOW, tz=UTC)
        assert (q.since_arg, q.until_arg) == ("yesterday", "today")

    def test_numbers_that_are_not_times_stay_words(self) -> None:
        """ "after 5 retries" names no time; the default window holds."""
        q = parse_question("jobs failing after 5 retries", SHOP, NOW, tz=UTC)
        assert q.window_default
        assert q.since == back(1)

    def test_on_newest_data_moves_a_default_window_back(self) -> None:
        """An old store answers "show errors" with its own last hour, and says so."""
        q = parse_question("show errors", SHOP, NOW, tz=UTC)
        newest = at("11-10 12:30")
        moved = on_newest_data(q, newest)
        assert moved.widened
        assert moved.until is not None and moved.since == moved.until - 3600 * 10**9
        assert moved.since < newest < moved.until
        assert "stored logs" in moved.time_label

    def test_on_newest_data_leaves_named_ranges_alone(self) -> None:
        """A range the question named is answered as asked, even when nothing is in it."""
        q = parse_question("errors in the last hour", SHOP, NOW, tz=UTC)
        assert on_newest_data(q, at("11-10 12:30")) == q
        fresh = parse_question("show errors", SHOP, NOW, tz=UTC)
        assert on_newest_data(fresh, NOW - 10**9) == fresh


class TestStatus:
    def test_without_status_field_a_class_reads_as_errors(self) -> None:
        """5xx with no status field stored filters errors instead, and the note says why."""
        q = parse_question("5xx from nginx", SHOP, NOW, tz=UTC)
        assert (q.status, q.min_level) == ((), "error")
        assert any("status field" in note for note in q.notes)

    def test_the_field_present_is_chosen(self) -> None:
        """The status field the store has is the one filtered on."""
        q = parse_question("how many 503s", SHOP, NOW, ("http.status",), tz=UTC)
        assert q.status == ("http.status:503",)

    def test_wanted_fields_only_when_a_status_is_mentioned(self) -> None:
        """The caller probes the store for status fields only when the question needs one."""
        assert wanted_fields("how many 5xx") and wanted_fields("HTTP errors")
        assert wanted_fields("show memory errors") == ()


class TestDescription:
    def test_explain_names_every_part(self) -> None:
        """The explain line says the intent, services, level, topic terms and range."""
        q = parse_question("show me billing errors about deadlocks in the last hour", SHOP, NOW, tz=UTC)
        line = q.explain()
        for part in (
            "show the lines",
            "from billing",
            "at error or worse",
            "about deadlock",
            "in the last hour",
        ):
            assert part in line
        assert "2026-11-21T05:00Z → now" in line

    def test_json_holds_the_structured_form(self) -> None:
        """The JSON form has the intent, range, filters, term groups and the query."""
        q = parse_question("how many 5xx did nginx return since 2am", SHOP, NOW, ("status",), tz=UTC)
        found = q.to_json()
        assert found["intent"] == "count"
        assert found["since"] == "2026-11-21T02:00:00.000Z"
        assert found["services"] == ["nginx"]
        assert found["query"] == "service:nginx status:>=500 status:<600"


class TestSynonymMap:
    def test_shipped_map_covers_the_ops_vocabulary(self) -> None:
        """Every topic the feature promises is in the shipped map."""
        names = {t.name for t in default_synonyms().topics}
        assert {
            "memory", "disk", "network", "dns", "tls", "auth", "permission", "crash", "database", "build",
            "restart", "rate limit", "latency", "volume",
        } <= names  # fmt: skip

    def test_a_team_map_extends_the_shipped_one(self, tmp_path: Path) -> None:
        """A team's own file adds topics and replaces same-named ones; the shipped words still work."""
        path = tmp_path / "synonyms.toml"
        path.write_text(
            '[[topic]]\nname = "payments"\nterms = ["stripe", "charge failed"]\nasked = ["payment"]\n'
            '[[topic]]\nname = "disk"\nterms = ["zfs"]\nasked = ["disk"]\n'
        )
        words = load_synonyms(path, extends=default_synonyms())
        q = parse_question("payment errors", SHOP, NOW, tz=UTC, synonyms=words)
        assert q.query_string() == 'level:>=error (stripe OR "charge failed")'
        assert parse_question("show disk lines", SHOP, NOW, tz=UTC, synonyms=words).query_string() == "zfs"
        assert [t.name for t in parse_question("heap", SHOP, NOW, tz=UTC, synonyms=words).topics] == [
            "memory"
        ]
        alone = load_synonyms(path)
        assert [t.name for t in alone.topics] == ["payments", "disk"]

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ('[[topic]]\nname = "x"\nterms = ["a"]\nsearch = ["b"]\n', "unknown keys"),
            ('[[topic]]\nname = "x"\nasked = ["a"]\n', "needs terms"),
            ('[[topic]]\nname = "x"\nterms = ["a"]\nincludes = ["nope"]\n', "unknown topics"),
            ('[levels]\nsevere = ["bad"]\n', "unknown level"),
            ("[[topic]\n", "not valid TOML"),
        ],
    )
    def test_bad_maps_are_refused_with_the_reason(self, tmp_path: Path, text: str, problem: str) -> None:
        """A broken map names the file and what is wrong."""
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=problem) as caught:
            load_synonyms(path)
        assert str(path) in str(caught.value)
