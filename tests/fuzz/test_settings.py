"""Fuzzing the settings readers: loglens.toml (parse_config) and alert rules (parse_rule, as posted).

Every table, key and value of the shipped example, mutated: a Config or a ConfigError (RuleError for a
rule), whose message names what was wrong; never another exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.fuzzing import RULE_SEEDS, SEED, digit_runs, fuzz, json_values, mutated_tree
from loglens.alerts.rules import RuleError, parse_rule
from loglens.config import parse_config
from loglens.errors import ConfigError

SETTING_TEXTS = (
    "", " ", "5m", "0s", "-1s", "1.5h", "250ms", "99999999999999999999d", "1e999h", "nan", "inf", "local",
    "UTC", "Europe/Berlin", "Mars/Olympus", "../../etc/passwd", "*", "[", "(", "a" * 300, "<=info",
    ">=error", "p99.9", "p0", "p100", "p101", "rate", "count", "sliding", "tumbling",
    "service:api level:>=error", "/[/", "0", "-1", "on-failure", "always", "never", "gzip", "zstd", "auto",
    "none", "ingest", "read", "admin", "now", "all", "boot", "a{4294967296}", "(?P<a>", "x" * 16,
    "http://127.0.0.1:1/", "file:///x", "é", "\x00",
)  # fmt: skip
toml_values = st.recursive(
    st.one_of(
        st.sampled_from(SETTING_TEXTS),
        st.text(max_size=12),
        st.integers(),
        st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63)]),
        st.floats(),
        st.booleans(),
        st.datetimes(),
        st.dates(),
        st.times(),
        digit_runs,
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(SETTING_TEXTS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


class TestConfig:
    @fuzz()
    @given(
        data=st.one_of(
            mutated_tree(SEED, toml_values, SETTING_TEXTS),
            st.dictionaries(st.sampled_from([*SEED, "x"]), toml_values),
        )
    )
    def test_any_toml_is_a_config_or_a_config_error(self, data: dict[str, Any]) -> None:
        """Any parsed TOML, however wrong, gives a Config or a ConfigError naming the file."""
        try:
            parse_config(data, Path("fuzz.toml"))
        except ConfigError as exc:
            assert "fuzz.toml" in str(exc)


class TestAlertRules:
    @fuzz()
    @given(
        entry=st.one_of(
            st.sampled_from(RULE_SEEDS).flatmap(lambda seed: mutated_tree(seed, json_values)),
            st.dictionaries(st.text(max_size=8), json_values),
        )
    )
    def test_any_rule_is_a_rule_or_a_rule_error(self, entry: dict[str, Any]) -> None:
        """Any JSON object posted as a rule gives an AlertRule (shown as JSON again) or a RuleError."""
        try:
            rule = parse_rule(entry)
        except RuleError:
            return
        rule.to_json()


class TestFoundByFuzzing:
    def test_a_rule_regex_repeat_past_re_limits_is_a_rule_error(self) -> None:
        """`a{4294967296}` overflows Python's `re`: a RuleError naming the rule, not an OverflowError."""
        with pytest.raises(RuleError, match="does not compile"):
            parse_rule({"name": "r", "type": "match", "regex": "a{4294967296}"})

    @pytest.mark.parametrize(
        "data",
        [
            {"sources": 0},
            {"levels": {"rules": 0}},
            {"levels": {"rules": [{"pattern": "a{4294967296}", "level": "error"}]}},
            {"ingest": {"timezone": "a" * 300}},  # ZoneInfo raised OSError: too long for a path
            {"sources": [{"path": "/x.log", "timezone": "Europe/" + "a" * 300}]},
        ],
    )
    def test_config_mistakes_are_config_errors(self, data: dict[str, Any]) -> None:
        """An array setting that is no list, or a level rule whose regex overflows `re`, is a ConfigError."""
        with pytest.raises(ConfigError, match=r"fuzz\.toml"):
            parse_config(data, Path("fuzz.toml"))
