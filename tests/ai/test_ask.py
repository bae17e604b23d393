"""Tests for loglens.ai.ask: questions answered on real corpora ingested by loglens's own pipeline.

The shared corpus (tests/conftest.py `corpus`: 30k lines, 2026-11-21 00:00–06:00 UTC) has an SSH brute
force, billing deadlocks exhausting a pool, a kernel OOM kill and a queue log storm; the demo corpus
(`loglens.demo`) has PostgreSQL lock pile-ups and an OOM kill in checkout. Figures in answers are
checked against SQL written here, independently of the query language.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import LoglensCli
from loglens.ai.ask import answer_question, render_answer
from loglens.config import Config
from loglens.demo.stream import history_spec
from loglens.demo.writer import write_corpus
from loglens.pipeline import Ingestor
from loglens.query.nlq import default_synonyms, load_synonyms
from loglens.store.duckdb import DuckDBStore

CONFIG = Config(timezone=UTC)
ERROR = 17
WARNING = 13
MEMORY = r"(?i)(memory|heap|cannot allocate|gc overhead|killed process|\brss|\boom|\b(ram|enomem)\b)"
"""What "memory" means in synonyms.toml, written out as one regex for the SQL checks."""


def ns(stamp: str) -> int:
    """`03:45` (on the shared corpus's day) or a full ISO time, as ns UTC."""
    full = stamp if "T" in stamp else f"2026-11-21T{stamp}"
    return int(datetime.fromisoformat(full).replace(tzinfo=UTC).timestamp()) * 10**9


@pytest.fixture(scope="module")
def shop(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """The shared corpus ingested, then opened read-only (so the real CLI can read it too)."""
    path = tmp_path_factory.mktemp("ask") / "loglens.duckdb"
    store = DuckDBStore(path)
    try:
        Ingestor(store, CONFIG).ingest_paths([str(corpus)])
    finally:
        store.close()
    reader = DuckDBStore(path, read_only=True)
    yield reader
    reader.close()


class Answers:
    """Each (question, now) answered once per module: several tests read the same answer."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store
        self._done: dict[tuple[str, str], dict[str, Any]] = {}

    def __call__(self, text: str, now: str = "06:00") -> dict[str, Any]:
        key = (text, now)
        if key not in self._done:
            self._done[key] = answer_question(self.store, CONFIG, text, now_ns=ns(now))
        return self._done[key]


@pytest.fixture(scope="module")
def ask(shop: DuckDBStore) -> Answers:
    return Answers(shop)


def sql_count(store: DuckDBStore, where: str) -> int:
    _, rows = store.sql(f"SELECT count(*) FROM records WHERE {where}")
    return int(rows[0][0])


def between(since: str, until: str) -> str:
    return f"epoch_ns(ts) >= {ns(since)} AND epoch_ns(ts) < {ns(until)}"


class TestRecords:
    def test_memory_errors_are_memory_related_error_lines_only(self, ask: Answers, shop: DuckDBStore) -> None:
        """ "errors related to memory" returns error lines about memory, as many as SQL finds."""
        found = ask("show me errors related to memory in the last hour", now="04:30")
        assert found["intent"] == "records"
        assert found["records"]
        for record in found["records"]:
            assert record["level"] in ("error", "critical", "fatal")
            assert re.search(MEMORY, record["message"]), record["message"]
        expected = sql_count(
            shop,
            f"severity >= {ERROR} AND {between('03:30', '04:30')} AND regexp_matches(message, '{MEMORY}')",
        )
        assert found["matched"] == expected > 0

    def test_answer_states_the_figures(self, ask: Answers) -> None:
        """The answer says how many lines, about what, from which services, and the first one."""
        found = ask("show me errors related to memory in the last hour", now="04:30")
        answer = found["answer"]
        assert answer.startswith(f"{found['matched']} error lines about memory in the last hour, from kernel")
        assert "first 03:45:45 kernel 'python3 invoked oom-killer" in answer
        assert found["since"] == "2026-11-21T03:30:00.000Z" and found["until"] == "2026-11-21T04:30:00.000Z"

    def test_patterns_add_up_to_the_matches(self, ask: Answers) -> None:
        """The patterns listed are templates of the matching lines, most frequent first."""
        found = ask("show me errors related to memory in the last hour", now="04:30")
        counts = [p["count"] for p in found["patterns"]]
        assert counts == sorted(counts, reverse=True)
        assert sum(counts) <= found["matched"]
        assert all(p["service"] == "kernel" for p in found["patterns"])


class TestCause:
    def test_oom_killer_is_traced_to_the_kernel(self, ask: Answers) -> None:
        """ "what caused the OOM killer?" names the kernel and its oom-killer line as the root cause."""
        found = ask("what caused the OOM killer?")
        cause = found["explanation"]["root_cause"]
        assert cause["service"] == "kernel"
        assert "oom-killer" in cause["template"]
        assert found["explanation"]["id"].endswith("-kernel")
        assert "root cause is kernel" in found["answer"]
        assert "oom-killer" in found["answer"]

    def test_deadlocks_are_traced_to_billing(self, ask: Answers) -> None:
        """A question about the deadlocks finds billing, and its incident's root cause is billing."""
        found = ask("what caused the deadlocks?")
        assert found["explanation"]["root_cause"]["service"] == "billing"
        assert {r["service"] for r in found["records"]} == {"billing"}
        assert all("deadlock" in r["message"].lower() for r in found["records"])
        assert "billing" in found["answer"]

    def test_only_incidents_touching_the_topic_are_listed(self, ask: Answers) -> None:
        """The OOM question lists the kernel incident, not the SSH, deadlock or storm ones."""
        found = ask("what caused the OOM killer?")
        assert [i["id"] for i in found["incidents"]] == [found["explanation"]["id"]]
        assert found["incidents"][0]["root_cause"]["template"].startswith("python3 invoked oom-killer")


class TestBefore:
    def test_no_builds_means_no_invented_answer(self, ask: Answers) -> None:
        """With no build failures stored, the answer says so rather than listing anything."""
        found = ask("any patterns before build failures?")
        assert found["answer"].startswith("No error lines about build")
        assert "nothing to look before" in found["answer"]
        assert "before" not in found and found["records"] == [] and found["matched"] == 0

    def test_new_patterns_before_the_deadlocks(self, ask: Answers, shop: DuckDBStore) -> None:
        """What came before the first deadlock: templates present in the 5 minutes before it and
        absent in the 5 minutes before those, as SQL counts them."""
        found = ask("what happened before the deadlocks?")
        before = found["before"]
        anchor = before["anchor"]
        assert anchor["service"] == "billing" and "deadlock" in anchor["message"].lower()
        t = ns(anchor["ts"].replace("Z", ""))
        assert before["new_templates"]
        for template in before["new_templates"]:
            same = f"template_id = '{template['template_id']}' AND service = '{template['service']}'"
            assert sql_count(shop, f"{same} AND epoch_ns(ts) >= {t - 300 * 10**9} AND epoch_ns(ts) < {t}") > 0
            earlier = sql_count(
                shop, f"{same} AND epoch_ns(ts) >= {t - 600 * 10**9} AND epoch_ns(ts) < {t - 300 * 10**9}"
            )
            assert earlier == 0
        assert before["new_templates"][0]["service"] == "billing"  # the failing service's own changes first


class TestCount:
    def test_count_matches_a_direct_store_count(self, ask: Answers, shop: DuckDBStore) -> None:
        """ "how many 5xx did nginx return since 2am" equals the SQL count of nginx 5xx lines."""
        found = ask("how many 5xx did nginx return since 2am")
        status = "TRY_CAST(json_extract_string(fields, '$.status') AS DOUBLE)"
        expected = sql_count(
            shop, f"service = 'nginx' AND {status} BETWEEN 500 AND 599 AND {between('02:00', '06:00')}"
        )
        assert found["counts"]["total"] == expected > 0
        assert found["counts"]["services"] == {"nginx": expected}
        assert found["answer"].startswith(
            f"{expected:,} lines with status:>=500 status:<600 from nginx since 2am"
        )

    def test_top_service_ranking_matches_sql(self, ask: Answers, shop: DuckDBStore) -> None:
        """ "which service logged the most errors" ranks services as a SQL GROUP BY does."""
        found = ask("which service logged the most errors?")
        _, rows = shop.sql(
            f"SELECT service, count(*) AS n FROM records WHERE severity >= {ERROR} "
            "GROUP BY 1 ORDER BY n DESC, 1"
        )
        assert [(r["service"], r["count"]) for r in found["ranking"]] == [(s, int(n)) for s, n in rows]
        assert found["answer"].startswith(f"{rows[0][0]} logged the most error lines")


class TestWhen:
    def test_first_and_last_oom_lines(self, ask: Answers, shop: DuckDBStore) -> None:
        """ "when did the OOM killer fire" gives the first and last OOM lines, the kernel's at 03:45:45."""
        found = ask("when did the OOM killer fire?")
        assert found["first"]["ts"].startswith("2026-11-21T03:45:45")
        assert found["first"]["service"] == "kernel"
        _, rows = shop.sql(
            "SELECT max(epoch_ns(ts)) FROM records WHERE regexp_matches(message, "
            "'(?i)(out of memory|killed process|\\boom|\\benomem\\b)')"
        )
        assert ns(found["last"]["ts"].replace("Z", "")) // 10**6 == int(rows[0][0]) // 10**6


class TestSummary:
    def test_brute_force_shows_while_it_happens(self, ask: Answers) -> None:
        """Asked during the SSH brute force, "anything weird with auth" names the sshd anomalies."""
        found = ask("anything weird with auth in the past 30 minutes", now="01:25")
        assert any("sshd" in i["services"] for i in found["incidents"])
        assert any(a["service"] == "sshd" for a in found["anomalies"])
        assert not found["answer"].startswith("Nothing unusual")

    def test_quiet_time_is_nothing_unusual(self, ask: Answers) -> None:
        """Asked at the quiet end of the corpus, the same question finds nothing unusual."""
        found = ask("anything weird with auth in the past 30 minutes")
        assert found["answer"].startswith("Nothing unusual about auth in the past 30 minutes")
        assert found["incidents"] == [] and found["anomalies"] == []

    def test_log_storm_is_found_by_its_volume(self, ask: Answers) -> None:
        """ "any log storms?" is answered from volume anomalies: the queue's storm, not a word search."""
        found = ask("any log storms?", now="05:10")
        assert found["query"] == ""
        kinds = {(a["service"], a["kind"]) for a in found["anomalies"]}
        assert ("queue", "volume_spike") in kinds
        assert all(a["kind"] in ("volume_spike", "template_burst") for a in found["anomalies"])


class TestNothingFound:
    def test_suggests_the_widening_that_matches(self, ask: Answers, shop: DuckDBStore) -> None:
        """Nothing in the asked hour: the answer says so and offers the same query over all time,
        with the count SQL gives for it."""
        found = ask("show me errors related to memory in the last hour")
        assert found["matched"] == 0
        assert found["answer"].startswith("No error lines about memory in the last hour")
        suggestion = found["suggestion"]
        assert suggestion["why"] == "over all stored time"
        assert suggestion["count"] == sql_count(
            shop, f"severity >= {ERROR} AND regexp_matches(message, '{MEMORY}')"
        )
        assert "--since" not in suggestion["command"]

    def test_empty_store_says_to_load_logs(self, tmp_path: Path) -> None:
        """An empty store's answer says to load logs, not that the topic is absent."""
        store = DuckDBStore(tmp_path / "empty.duckdb")
        try:
            found = answer_question(store, CONFIG, "show me memory errors", now_ns=ns("06:00"))
        finally:
            store.close()
        assert found["matched"] == 0
        assert (
            found["answer"] == "The store holds no records yet: load some with `loglens ingest PATH` first."
        )

    def test_old_store_answers_with_its_last_hour(self, ask: Answers) -> None:
        """A question naming no time, asked long after the data ends, is answered on the newest hour."""
        found = ask("show me the errors", now="2026-12-01T12:00:00")
        assert found["question"]["widened"]
        assert found["records"] and found["until"] is not None
        assert found["since"] >= "2026-11-21T05:00"
        assert "of the stored logs" in found["answer"]


class TestCommand:
    def test_the_command_finds_the_same_lines(
        self, ask: Answers, shop: DuckDBStore, cli: type[LoglensCli]
    ) -> None:
        """The `loglens logs` line of the answer, run by the real CLI, prints exactly the matches."""
        found = ask("how many 5xx did nginx return since 2am")
        args = shlex.split(found["command"])
        assert args[:2] == ["loglens", "logs"]
        out = cli.run("logs", "--store", str(shop.path), "--lines", "all", *args[2:]).stdout
        assert len(out.splitlines()) == found["matched"]


class TestTeamSynonyms:
    def test_a_team_map_is_used_for_the_question(self, shop: DuckDBStore, tmp_path: Path) -> None:
        """A team's own topic, loaded over the shipped map, is what the question searches for."""
        path = tmp_path / "ours.toml"
        path.write_text(
            '[[topic]]\nname = "captures"\nterms = ["captured for invoice"]\nasked = ["capture"]\n'
        )
        words = load_synonyms(path, extends=default_synonyms())
        found = answer_question(
            shop, CONFIG, "how many captures did billing log?", now_ns=ns("06:00"), synonyms=words
        )
        assert found["query"] == 'service:billing "captured for invoice"'
        expected = sql_count(shop, "service = 'billing' AND contains(lower(message), 'captured for invoice')")
        assert found["counts"]["total"] == expected > 0


class Narrator:
    """A stand-in for an LLM narrator: it words the facts it is given, or fails, or declines."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.facts: dict[str, Any] = {}

    def answer(self, question: str, facts: dict[str, Any]) -> str | None:
        self.facts = facts
        if self.mode == "fail":
            raise RuntimeError("model unreachable")
        if self.mode == "decline":
            return None
        return f"In short: {facts['matched']} lines for {question!r}."


class TestNarrator:
    QUESTION = "how many errors did billing log?"

    def test_narrative_is_added_and_the_offline_answer_stays(self, ask: Answers, shop: DuckDBStore) -> None:
        """A narrator's wording is added as `narrative`; the offline answer is unchanged."""
        narrator = Narrator("word")
        found = answer_question(shop, CONFIG, self.QUESTION, now_ns=ns("06:00"), narrator=narrator)
        offline = ask(self.QUESTION)
        assert found["narrative"] == f"In short: {offline['matched']} lines for {self.QUESTION!r}."
        assert found["answer"] == offline["answer"]
        assert narrator.facts["query"] == "service:billing level:>=error"

    def test_failing_or_silent_narrator_costs_nothing(self, shop: DuckDBStore) -> None:
        """A narrator that fails or returns None leaves the offline answer alone."""
        failed = answer_question(shop, CONFIG, self.QUESTION, now_ns=ns("06:00"), narrator=Narrator("fail"))
        assert "narrative" not in failed and "model unreachable" in failed["narrative_error"]
        silent = answer_question(
            shop, CONFIG, self.QUESTION, now_ns=ns("06:00"), narrator=Narrator("decline")
        )
        assert "narrative" not in silent and silent["answer"] == failed["answer"]


class TestRender:
    def test_terminal_text_shows_reading_command_answer_and_lines(self, ask: Answers) -> None:
        """The text for a terminal shows how the question was read, what ran, the answer and the lines."""
        found = ask("what caused the deadlocks?")
        text = render_answer(found)
        assert text.startswith(
            f"Understood: {found['understood']}\nRan: {found['command']}\n\n{found['answer']}"
        )
        for record in found["records"]:
            assert record["message"][:60] in text
        assert found["explanation"]["id"] in text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """The demo shop's corpus (6 h, ~20k lines), ingested."""
    root = tmp_path_factory.mktemp("ask-demo")
    write_corpus(root / "corpus", history_spec(hours=6, lines=20_000, seed=42), 20_000)
    store = DuckDBStore(root / "loglens.duckdb")
    Ingestor(store, CONFIG).ingest_paths([str(root / "corpus")])
    yield store
    store.close()


DEMO_END = ns("2026-01-12T06:00:00")


class TestDemoCorpus:
    def test_postgres_alias_names_the_postgresql_service(self, demo: DuckDBStore) -> None:
        """ "did postgres complain today?" reads postgres as the postgresql service and counts its
        warning-or-worse lines as SQL does."""
        found = answer_question(demo, CONFIG, "did postgres complain today?", now_ns=DEMO_END)
        assert found["question"]["services"] == ["postgresql"]
        today = ns("2026-01-12T00:00:00")
        expected = sql_count(
            demo, f"service = 'postgresql' AND severity >= {WARNING} AND epoch_ns(ts) >= {today}"
        )
        assert found["matched"] == expected > 0

    def test_oom_kill_of_checkout_workers_is_traced_to_the_kernel(self, demo: DuckDBStore) -> None:
        """Why checkout's workers were killed: the kernel's OOM killer, by the incident's root cause."""
        found = answer_question(demo, CONFIG, "why were checkout workers killed?", now_ns=DEMO_END)
        assert found["intent"] == "cause"
        assert found["explanation"]["root_cause"]["service"] == "kernel"
        assert "Out of memory" in (found["explanation"]["root_cause"]["template"] or "")
