"""Tests for loglens.mining.drain: grouping, generalising in place, parameters, no growth on re-feed."""

from __future__ import annotations

from loglens.mining.drain import TemplateMiner, extract_params

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


def test_extract_params_partial_wildcards() -> None:
    """A wildcard inside a token yields only the variable part."""
    assert extract_params(["(pid=<*>),", "x", "<*>"], ["(pid=42),", "x", "y"]) == ["42", "y"]


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
