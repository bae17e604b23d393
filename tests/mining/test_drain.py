"""Tests for loglens.mining.drain: grouping, generalising in place, parameters, no growth on re-feed."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_dir
from loglens.mining.drain import (
    MAX_TOKENS,
    Template,
    TemplateChange,
    TemplateMiner,
    merge_words,
    tokenize,
)

LINES = [
    "Connection closed by 10.0.0.1 port 22",
    "Connection closed by 10.0.0.2 port 2222",
    "Accepted password for alice from 10.0.0.3 port 51234 ssh2",
    "Accepted password for bob from 10.0.0.4 port 51235 ssh2",
    "Invalid user admin from 10.0.0.5 port 40000",
]


class TestTemplateMiner:
    def test_groups_and_generalises(self) -> None:
        """Messages differing in a word join one template; the differing word becomes a wildcard."""
        miner = TemplateMiner()
        matches = [miner.add(line, "sshd") for line in LINES]
        assert matches[0].template is matches[1].template
        assert matches[0].template.text == "Connection closed by <*> port <*>"
        assert matches[2].template is matches[3].template
        assert matches[2].template.text == "Accepted password for <*> from <*> port <*> ssh2"
        # Shares "from … port …" with the others but not their wording: a template of its own.
        assert len({m.template.id for m in matches}) == 3
        assert matches[3].params == ["bob", "10.0.0.4", "51235"]

    def test_id_is_kept_when_a_template_generalises(self) -> None:
        """A template that generalises keeps its id, so earlier records still resolve to it."""
        miner = TemplateMiner()
        first = miner.add(LINES[2], "sshd").template.id
        second = miner.add(LINES[3], "sshd").template
        assert second.id == first and "<*>" in second.text

    def test_services_do_not_mix(self) -> None:
        """The same message in two services gives two templates."""
        miner = TemplateMiner()
        assert miner.add(LINES[0], "a").template is not miner.add(LINES[0], "b").template

    def test_refeeding_creates_no_templates(self) -> None:
        """Feeding the same lines again and again adds no template (Drain3 with masks grows here)."""
        miner = TemplateMiner()
        for line in LINES:
            miner.add(line, "sshd")
        count = len(miner.templates)
        for _ in range(50):
            for line in LINES:
                miner.add(line, "sshd")
        assert len(miner.templates) == count

    def test_mostly_masked_messages_share_a_template(self) -> None:
        """Messages that are mostly variables still group (masked tokens are not disagreement)."""
        miner = TemplateMiner()
        ids = {miner.add(f"{i} {i * 7} 10.0.0.{i % 250}:80 done").template.id for i in range(500)}
        assert len(ids) == 1

    def test_mined_by_the_first_line(self) -> None:
        """A stack trace after the first line does not make a template of its own."""
        miner = TemplateMiner()
        a = miner.add("job 1 failed\nTraceback (most recent call last):\n  File x.py")
        b = miner.add("job 2 failed\nTraceback (most recent call last):\n  File y.py, line 9\nKeyError: 3")
        assert a.template is b.template and a.template.text == "job <*> failed" and b.params == ["2"]

    def test_over_long_message_is_capped(self) -> None:
        """A message of thousands of words makes a template of MAX_TOKENS words, the rest one value."""
        words = " ".join(f"word{chr(97 + i % 26)}x" for i in range(5000))
        assert len(tokenize(words)) == MAX_TOKENS
        match = TemplateMiner().add(words)
        assert len(match.template.tokens) == MAX_TOKENS and match.template.tokens[-1] == "<*>"
        assert match.params[-1].startswith(f"word{chr(97 + (MAX_TOKENS - 1) % 26)}x")


@dataclass
class _Rec:
    service: str
    message: str
    template_id: str | None = None
    params: list[str] | None = None
    tenant: str = ""


class TestLabel:
    def test_sets_template_and_params(self) -> None:
        """label() gives each record the id and values add() would give."""
        records = [_Rec("sshd", line) for line in LINES]
        TemplateMiner().label(records)
        other = TemplateMiner()
        want = [(m.template.id, m.params) for m in (other.add(line, "sshd") for line in LINES)]
        assert [(r.template_id, r.params) for r in records] == want

    def test_repeated_message_after_generalising_gets_fresh_params(self) -> None:
        """A message seen before its template generalised is read again against the new template."""
        miner = TemplateMiner()
        records = [_Rec("s", "user alice logged in from web"), _Rec("s", "user bob logged in from web"),
                   _Rec("s", "user alice logged in from web")]  # fmt: skip
        miner.label(records)
        assert records[0].params == [] and records[2].params == ["alice"]
        assert records[0].template_id == records[2].template_id

    def test_changes_name_new_and_generalised_templates_once(self) -> None:
        """take_changes() hands over each template made or generalised since the last call, once."""
        miner = TemplateMiner()
        miner.add("user alice logged in", "s")
        assert miner.take_changes() == [TemplateChange("s-1", "s", "user alice logged in", False)]
        miner.add("user alice logged in", "s")
        assert miner.take_changes() == []
        miner.add("user bob logged in", "s")
        assert miner.take_changes() == [TemplateChange("s-1", "s", "user <*> logged in", False)]

    def test_from_changes_continues_ids(self) -> None:
        """A miner rebuilt from persisted rows maps known messages to known ids and numbers on."""
        miner = TemplateMiner()
        before = [miner.add(line, "sshd").template.id for line in LINES]
        rows = miner.take_changes()
        restored = TemplateMiner.from_changes(rows)
        assert [restored.add(line, "sshd").template.id for line in LINES] == before
        assert restored.add("something else entirely", "sshd").template.id == "sshd-4"
        assert restored.take_changes() == [TemplateChange("sshd-4", "sshd", "something else entirely", False)]


def _loghub_contents(name: str) -> list[str]:
    path = shared_dir() / "data" / "loghub-2k" / name / f"{name}_2k.log_structured.csv"
    if not path.exists():
        pytest.skip(f"{path} not found: Loghub-2k from the shared folder is needed (set LOGLENS_SHARED)")
    with path.open(encoding="utf-8", newline="") as f:
        return [row["Content"] for row in csv.DictReader(f)]


@pytest.mark.parametrize("dataset", ["HDFS", "BGL", "OpenSSH", "Linux"])
def test_refeeding_loghub_500_times_creates_no_templates(dataset: str) -> None:
    """The same 2,000 real lines fed 500 times: every template exists after the first pass."""
    lines = _loghub_contents(dataset)
    miner = TemplateMiner()
    for line in lines:
        miner.add(line)
    first_pass = len(miner.templates)
    miner.take_changes()
    label = miner.label
    records = [_Rec("", line) for line in lines]
    for _ in range(499):
        label(records)
    assert len(miner.templates) == first_pass
    assert miner.take_changes() == []  # not even generalised further


def test_params_of_a_token_with_several_wildcards() -> None:
    """A route with two variable segments yields both values, in order."""
    miner = TemplateMiner()
    match = miner.add("GET /api/v1/cart/5faa3f5f/items/12 HTTP/1.1", "nginx")
    assert match.template.text == "GET /api/v1/cart/<*>/items/<*> HTTP/1.1"
    assert match.params == ["5faa3f5f", "12"]
    assert miner.add("GET /api/v1/cart/77/items/3 HTTP/1.1", "nginx").params == ["77", "3"]


def test_params_of_partial_wildcards() -> None:
    """A wildcard inside a token yields only the variable part."""
    assert Template("t", "", ["(pid=<*>),", "x", "<*>"]).params_of(["(pid=42),", "x", "y"]) == ["42", "y"]


class TestState:
    def test_round_trip_keeps_ids(self) -> None:
        """A miner restored from its JSON state gives the same messages the same ids, and new ids after."""
        import json

        miner = TemplateMiner()
        before = [miner.add(line, "sshd").template.id for line in LINES]
        state = json.loads(json.dumps(miner.state()))
        restored = TemplateMiner.from_state(state)
        assert [restored.add(line, "sshd").template.id for line in LINES] == before
        assert restored.add("a brand new message shape", "sshd").template.id == "sshd-4"

    def test_wrong_version_refused(self) -> None:
        """A state from another version is refused, not misread."""
        import pytest

        with pytest.raises(ValueError, match="version"):
            TemplateMiner.from_state({"version": 99})


class TestBounds:
    def test_template_cap_holds_and_ids_stay_valid(self) -> None:
        """Past the cap no template is created: new shapes join a similar one or a catch-all."""
        miner = TemplateMiner(max_templates=5)
        ids = [miner.add(f"event{i} happened in zone{i} now").template.id for i in range(200)]
        ids += [miner.add(f"other{i} thing").template.id for i in range(50)]
        # The cap, plus one catch-all for each message length met at the cap (5 and 2 words here).
        assert len(miner.templates) == 7
        assert set(ids) <= set(miner.templates)

    def test_shape_memo_is_bounded(self) -> None:
        """The shape memo is a cache: past its bound it is cleared and shapes still find their templates."""
        miner = TemplateMiner(max_shapes=10)
        first = miner.add("alpha beta gamma", "s").template.id
        for i in range(100):
            miner.add(f"w{chr(97 + i % 26)}x word{chr(97 + (i * 7) % 26)}y z", "s")
        assert len(miner._by_shape) <= 10
        assert miner.add("alpha beta gamma", "s").template.id == first


@pytest.mark.parametrize(
    ("want", "got", "merged"),
    [
        ("(<*>)", "(unknown)", "(<*>)"),
        ("<*>:", "main:", "<*>:"),
        ("tty=ssh", "tty=pts", "tty=<*>"),
        ("alpha", "beta", "<*>"),
        ("(<*>),", "(abc),", "(<*>),"),
        ("ssh2", "ssh1", "<*>"),
    ],
)
def test_merge_words_keeps_the_shared_frame(want: str, got: str, merged: str) -> None:
    """Generalising keeps a key, brackets or closing punctuation both words share."""
    assert merge_words(want, got) == merged


def test_framed_values_neither_split_nor_glue_templates() -> None:
    """A word filling a framed wildcard agrees with it; a framed value without wording is not
    counted as wording (so `<*>:<*>` cannot tip two different events into one)."""
    miner = TemplateMiner()
    a = miner.add("session opened for user alice by (uid=0)")
    b = miner.add("session opened for user bob by (unknown)")
    assert a.template is b.template and a.template.text == "session opened for user <*> by (<*>)"
    c = miner.add("Client attempting to establish new session at /10.0.0.1:2181")
    d = miner.add("Client attempting to renew session 0x14f at /10.0.0.2:2181")
    assert c.template is not d.template
    assert c.template.text == "Client attempting to establish new session at <*>:<*>"
    assert c.params == ["/10.0.0.1", "2181"]


_WORDS = st.sampled_from(
    ["user", "alice", "bob", "42", "0x1f", "(uid=0)", "(unknown)", "/var/log/x", "10.0.0.1:22", "done",
     "tty=ssh", "tty=pts", "jk2_init()", "core.12", "failed:", "GET", "/api/v1/x/9", "HTTP/1.1"]
)  # fmt: skip


@given(st.lists(st.lists(_WORDS, min_size=1, max_size=7), min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_every_message_fits_its_final_template(messages: list[list[str]]) -> None:
    """Whatever the messages, each one's final template has its length, repeats its wording word for
    word, and reads back one value per wildcard."""
    miner = TemplateMiner()
    texts = [" ".join(words) for words in messages]
    templates = [miner.add(text, "s").template for text in texts]
    for words, template in zip(messages, templates, strict=True):
        assert len(template.tokens) == len(words)
        for want, got in zip(template.tokens, words, strict=True):
            if "<*>" not in want:
                assert want == got
        wildcards = sum(token.count("<*>") for token in template.tokens)
        assert len(template.params_of(words)) == wildcards


class TestTenants:
    def test_tenants_never_share_a_template(self) -> None:
        """The same message of the same service from two tenants and from no tenant makes three
        templates, with ids of their own (a tenant's start with its name); none generalises another."""
        miner = TemplateMiner()
        acme = miner.add("user alice logged in", "api", "acme")
        globex = miner.add("user bob logged in", "api", "globex")
        plain = miner.add("user carol logged in", "api")
        assert (acme.template.id, globex.template.id, plain.template.id) == (
            "acme/api-1",
            "globex/api-1",
            "api-1",
        )
        assert acme.template.text == "user alice logged in"  # bob's and carol's words did not join it
        again = miner.add("user dave logged in", "api", "acme")
        assert again.template.id == "acme/api-1" and again.template.text == "user <*> logged in"
        assert [(c.id, c.tenant) for c in miner.take_changes()] == [
            ("acme/api-1", "acme"), ("globex/api-1", "globex"), ("api-1", ""),
        ]  # fmt: skip

    def test_a_service_named_like_a_tenants_gets_other_ids(self) -> None:
        """No tenant's service `acme/api` and tenant acme's `api` share an id prefix but never a
        template, and never an id."""
        miner = TemplateMiner()
        tenant = miner.add("cache warmed", "api", "acme").template
        named = miner.add("cache warmed", "acme/api").template
        assert tenant is not named and {tenant.id, named.id} == {"acme/api-1", "acme/api-2"}

    def test_tenants_survive_a_restart(self) -> None:
        """Restored from stored templates, a tenant's message finds its tenant's template again and
        new ids continue after the stored ones."""
        first = TemplateMiner()
        first.add("job 1 done", "w", "acme")
        first.add("job 2 done", "w", "acme")
        first.add("job 3 done", "w")
        restored = TemplateMiner.from_changes(first.take_changes())
        assert restored.add("job 9 done", "w", "acme").template.id == "acme/w-1"
        assert restored.add("job 9 done", "w").template.id == "w-1"
        assert restored.add("something new", "w", "acme").template.id == "acme/w-2"
        state = TemplateMiner.from_state(first.state())
        assert state.add("job 4 done", "w", "acme").template.tenant == "acme"

    def test_columns_carry_the_tenant(self) -> None:
        """`mine_columns` (the mining process' way) mines per tenant as `label` does."""
        ids, _ = TemplateMiner().mine_columns(["s", "s"], ["go 1", "go 2"], ["acme", ""])
        assert ids == ["acme/s-1", "s-1"]
