"""The CLI on a store without a daemon (the real `loglens` in a subprocess, on the shared generator's
corpus): `explain` leads with the signature and fix, `kb add` teaches a signature that `explain`
then cites, `ask` answers in words and as JSON, and `alerts test|silence|silences|list` work on the
store itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import LoglensCli


@pytest.fixture(scope="module")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's generated corpus (tests/conftest.py) ingested by the CLI."""
    root = tmp_path_factory.mktemp("cli-knowledge")
    LoglensCli.run("ingest", "--store", str(root / "s.duckdb"), str(corpus))
    return root / "s.duckdb"


@pytest.fixture
def copy(store: Path, tmp_path: Path) -> list[str]:
    """`--store` and `--config` options on a private copy of the store (tests that write)."""
    shutil.copy(store, tmp_path / "s.duckdb")
    (tmp_path / "loglens.toml").write_text(
        '[[alerts.rules]]\nname = "oom"\ntype = "match"\nregex = "invoked oom-killer"\n'
    )
    return ["--store", str(tmp_path / "s.duckdb"), "--config", str(tmp_path / "loglens.toml")]


def incident_id(options: list[str], ends: str) -> str:
    found = json.loads(LoglensCli.run("incidents", "--json", *options).stdout)
    return next(i["id"] for i in found if i["id"].endswith(ends))


class TestExplainAndKb:
    def test_explain_leads_with_signature_and_fix(self, copy: list[str]) -> None:
        """The text report starts with the offline reading; the JSON carries `explanation` and `insights`."""
        kernel = incident_id(copy, "-kernel")
        text = LoglensCli.run("explain", kernel, *copy).stdout
        assert text.index("Signature") < text.index("Suggested fix") < text.index("Candidates")
        assert "oom-kill" in text
        found = json.loads(LoglensCli.run("explain", kernel, "--json", *copy).stdout)
        assert found["explanation"]["signature"]["id"] == "oom-kill" and found["insights"] == []

    def test_kb_add_then_explain_cites_it(self, copy: list[str]) -> None:
        """A signature learned from the billing incident is listed, and that incident's explanation now
        cites it with the fix given; forgetting it restores the built-in reading."""
        billing = incident_id(copy, "-billing")
        added = LoglensCli.run(
            "kb", "add", billing, "--fix", "raise the pool size\nkill the blocking query", *copy
        )
        learned_id = added.stdout.split()[1].rstrip(":")
        listed = json.loads(LoglensCli.run("kb", "list", "--learned", "--json", *copy).stdout)
        assert [s["id"] for s in listed] == [learned_id] and listed[0]["learned_from"] == billing
        found = json.loads(LoglensCli.run("explain", billing, "--json", *copy).stdout)["explanation"]
        assert found["signature"]["id"] == learned_id and found["signature"]["source"] == "learned"
        assert "raise the pool size" in found["fix"]
        LoglensCli.run("kb", "forget", learned_id, *copy)
        found = json.loads(LoglensCli.run("explain", billing, "--json", *copy).stdout)["explanation"]
        assert found["signature"]["id"] == "deadlock"
        gone = LoglensCli.run("kb", "forget", learned_id, *copy, check=False)
        assert gone.returncode == 1 and "no learned signature" in gone.stderr

    def test_kb_add_unknown_incident(self, copy: list[str]) -> None:
        """An id no incident has is one line naming the latest ones."""
        answer = LoglensCli.run("kb", "add", "inc-nope", "--fix", "x", *copy, check=False)
        assert answer.returncode == 1 and "the latest are" in answer.stderr


class TestAsk:
    def test_question_in_words_and_json(self, copy: list[str], corpus: Path) -> None:
        """`ask` answers a question it was never tested with, naming the service and the query it ran.
        The question names the corpus's day: the default window (the last week) ends now, and the
        generated corpus has fixed dates, so on some days the week holds only the corpus's tail."""
        day = json.loads((corpus / "truth.json").read_text())["start"][:10]
        text = LoglensCli.run("ask", "when", "did", "the", "database", "deadlock", "since", day, *copy).stdout
        assert "billing" in text and "deadlock" in text.lower()
        found = json.loads(
            LoglensCli.run("ask", "--json", "how many ssh login failures were there", *copy).stdout
        )
        assert found["intent"] == "count" and "sshd" in json.dumps(found.get("counts", found))


class TestAlertsOnTheStore:
    def test_test_rule_and_silences(self, copy: list[str]) -> None:
        """`alerts test` replays a rule over the store (one alert, the OOM), an unknown rule names the
        known ones, and a silence made without a daemon is listed."""
        found = json.loads(LoglensCli.run("alerts", "test", "oom", "--json", *copy).stdout)
        assert found["records"] > 25_000 and len(found["alerts"]) == 1
        assert found["alerts"][0]["labels"]["service"] == "kernel"
        missing = LoglensCli.run("alerts", "test", "nope", *copy, check=False)
        assert missing.returncode == 1 and "the rules are: oom" in missing.stderr
        LoglensCli.run("alerts", "silence", "--match", "service=kernel", "--for", "1h", *copy)
        silences = json.loads(LoglensCli.run("alerts", "silences", "--json", *copy).stdout)
        assert [s["matchers"] for s in silences] == [{"service": "kernel"}]
        assert LoglensCli.run("alerts", "list", *copy).stdout.strip() == "no active alerts"
        bad = LoglensCli.run("alerts", "silence", "--match", "kernel", *copy, check=False)
        assert bad.returncode == 1 and "LABEL=VALUE" in bad.stderr
