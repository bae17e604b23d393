"""Tests for the helpers that let a protocol override what loglens's JSON mapper reads."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from loglens.formats.base import SourceContext
from loglens.formats.json import StructuredMapper
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record
from loglens.server.decode.structured import MISSING, has_role, override_role, pop_path, restore, text_of


def mapped(obj: dict[str, Any]) -> Record:
    """The record loglens's JSON mapper makes of `obj`."""
    ctx = SourceContext("t", "fallback", None, 1, TimestampParser(tz=UTC, reference_ns=1), LevelClassifier())
    return StructuredMapper().records([(obj, "raw")], ctx)[0]


class TestOverrideRole:
    def test_overridden_message_wins_and_old_keys_are_returned(self) -> None:
        """The given message is the one mapped; the event's own message keys come back as stash."""
        obj = {"msg": "own", "message": {"text": "nested"}, "k": 1}
        stash = override_role(obj, "message", "given")
        record = mapped(obj)
        assert record.message == "given"
        assert stash == {"msg": "own", "message": {"text": "nested"}}
        assert record.fields == {"k": 1}

    def test_objects_a_role_cannot_take_stay(self) -> None:
        """An ECS `log` object is no message, so overriding the message leaves it and its level."""
        obj = {"log": {"level": "error"}, "msg": "own"}
        stash = override_role(obj, "message", "given")
        assert stash == {"msg": "own"}
        assert mapped(obj).level is Level.ERROR

    def test_level_from_the_overridden_message(self) -> None:
        """With no level key, the level is classified from the overridden message, not the raw line."""
        obj = {"msg": "all fine", "note": "error budget"}
        override_role(obj, "message", "disk failure")
        assert mapped(obj).level is Level.ERROR

    def test_time_service_and_host(self) -> None:
        """Time (as ns), service and host overrides replace every candidate of their role."""
        obj = {"ts": "2020-01-01T00:00:00Z", "service": {"name": "a"}, "hostname": "h0"}
        stash: dict[str, Any] = {}
        stash |= override_role(obj, "time", 1_795_305_600_000_000_000)
        stash |= override_role(obj, "service", "b")
        stash |= override_role(obj, "host", "h1")
        record = mapped(obj)
        assert (record.ts, record.service, record.host) == (1_795_305_600_000_000_000, "b", "h1")
        assert stash == {"ts": "2020-01-01T00:00:00Z", "service": {"name": "a"}, "hostname": "h0"}


class TestHasRole:
    def test_detects_candidates_of_a_role(self) -> None:
        """A flat level key or a nested ECS one counts; an unrelated key or wrong shape does not."""
        assert has_role({"severity": "x"}, "level")
        assert has_role({"log": {"level": "info"}}, "level")
        assert not has_role({"log": "text"}, "level")
        assert not has_role({"other": 1}, "service")


class TestPopPath:
    def test_literal_key_then_dotted_path(self) -> None:
        """A literal dotted key wins; otherwise the path is walked and emptied parents removed."""
        obj: dict[str, Any] = {"log.text": "flat", "log": {"text": "nested"}}
        assert pop_path(obj, "log.text") == "flat"
        assert pop_path(obj, "log.text") == "nested"
        assert obj == {}

    def test_missing_paths(self) -> None:
        """A path through a non-object or to an absent key is MISSING, and nothing is removed."""
        obj: dict[str, Any] = {"a": "x", "b": {"c": None}}
        assert pop_path(obj, "a.b") is MISSING
        assert pop_path(obj, "b.d") is MISSING
        assert pop_path(obj, "b.c") is None
        assert obj == {"a": "x"}


class TestRestore:
    def test_merges_in_order(self) -> None:
        """Later mappings win; all-empty input is None."""
        assert restore({"a": 1}, {"a": 2, "b": 1}, None, {"b": 3}) == {"a": 2, "b": 3}
        assert restore(None, {}, None) is None


class TestTextOf:
    def test_strings_and_json(self) -> None:
        """Strings stay as they are; other values become compact JSON."""
        assert text_of("x") == "x"
        assert text_of({"a": [1, True]}) == '{"a":[1,true]}'
