"""Tests for loglens.volume_filter: rules that drop, sample and cap templates, never the warnings."""

from __future__ import annotations

import re
import tomllib
from collections import Counter

import pytest

from loglens.errors import ConfigError
from loglens.mining.drain import TemplateMiner
from loglens.record import Level, Record
from loglens.volume_filter import (
    DEFAULT_MAX_KEYS,
    DEFAULT_RULES,
    FilterRule,
    VolumeFilter,
    VolumeFilterSettings,
    parse_filter,
    parse_level_bound,
)

S = 10**9
MINUTE = 60 * S
T0 = 1_700_000_040 * S
"""A timestamp on a minute boundary, so windows line up with the test's minutes."""


def rec(
    ts: int,
    message: str,
    template_id: str | None,
    *,
    service: str = "api",
    level: Level = Level.INFO,
    parse_error: str | None = None,
) -> Record:
    """A record as it leaves template mining."""
    return Record(
        ts=ts,
        observed_ts=ts,
        service=service,
        source=f"/var/log/{service}.log",
        message=message,
        raw=message,
        level=level,
        template_id=template_id,
        parse_error=parse_error,
    )


def below(level: str) -> frozenset[Level]:
    return parse_level_bound(f"<={level}")


def health_checks(n: int, start: int = T0, step: int = 10_000_000) -> list[Record]:
    """A load balancer polling /health: the classic flood of one info template."""
    return [rec(start + i * step, f"GET /health 200 {i % 7}ms", "api-1") for i in range(n)]


class TestParseLevelBound:
    def test_bounds_follow_severity_order(self) -> None:
        """`<=info` is trace, debug, info; notice sits above info and is not in it."""
        assert parse_level_bound("<=info") == {Level.TRACE, Level.DEBUG, Level.INFO}
        assert parse_level_bound("< info") == {Level.TRACE, Level.DEBUG}
        assert parse_level_bound(">=error") == {Level.ERROR, Level.CRITICAL, Level.FATAL}
        assert parse_level_bound(">critical") == {Level.FATAL}

    def test_bare_name_is_exactly_that_level_and_aliases_work(self) -> None:
        """A bare name selects one level; names are read as log lines spell them."""
        assert parse_level_bound("debug") == {Level.DEBUG}
        assert parse_level_bound("WARN") == {Level.WARNING}
        assert parse_level_bound("<=dbg") == {Level.TRACE, Level.DEBUG}

    @pytest.mark.parametrize("text", ["", "<=", "<=loud", "=<info", "info,debug", "<trace"])
    def test_unreadable_or_empty_bounds_are_refused(self, text: str) -> None:
        """Anything but an operator and one level name, or a bound selecting nothing, is an error."""
        with pytest.raises(ValueError):
            parse_level_bound(text)


class TestWarningsAreKept:
    def test_every_warning_and_error_survives_a_flood_under_the_defaults(self) -> None:
        """50k errors and 50k warnings of one template in one minute all pass the default rules."""
        flt = VolumeFilter(DEFAULT_RULES)
        stream: list[Record] = []
        for i in range(50_000):
            ts = T0 + i * 1_000_000
            stream.append(rec(ts, f"upstream timeout after {i}ms", "api-7", level=Level.WARNING))
            stream.append(rec(ts, f"payment {i} failed", "api-8", level=Level.ERROR))
            stream.append(rec(ts, "GET /health 200", "api-1"))
        kept = flt.apply(stream)
        by_level = Counter(r.level for r in kept)
        assert by_level[Level.WARNING] == 50_000
        assert by_level[Level.ERROR] == 50_000
        assert by_level[Level.INFO] == 100

    def test_rules_without_levels_never_touch_warnings(self) -> None:
        """A drop-everything rule for a service still keeps its warnings, criticals and fatals."""
        flt = VolumeFilter([FilterRule("mute-batch", "drop", services=("batch",))])
        levels = [
            Level.DEBUG,
            Level.INFO,
            Level.NOTICE,
            Level.WARNING,
            Level.ERROR,
            Level.CRITICAL,
            Level.FATAL,
        ]
        stream = [
            rec(T0 + i, f"job step {i}", "batch-1", service="batch", level=lv) for i, lv in enumerate(levels)
        ]
        assert [r.level for r in flt.apply(stream)] == [
            Level.WARNING,
            Level.ERROR,
            Level.CRITICAL,
            Level.FATAL,
        ]
        assert flt.dropped == {"mute-batch": 3}

    def test_a_rule_that_names_warnings_does_apply_to_them(self) -> None:
        """Naming warning-or-worse levels is the explicit opt-in: such a rule can cap warnings."""
        rule = FilterRule("cap-deprecations", "cap", levels=parse_level_bound("warning"), limit=2)
        assert rule.reaches_warnings
        flt = VolumeFilter([rule])
        stream = [rec(T0 + i, "DeprecationWarning: use v2", "api-3", level=Level.WARNING) for i in range(10)]
        stream.append(rec(T0 + 10, "disk full", "api-4", level=Level.ERROR))
        kept = flt.apply(stream)
        assert [r.level for r in kept] == [Level.WARNING, Level.WARNING, Level.ERROR]

    def test_a_warning_falls_through_rules_that_do_not_name_it(self) -> None:
        """The first rule that may act on a warning decides, not the first rule whose other tests pass."""
        flt = VolumeFilter(
            [
                FilterRule("mute-batch", "drop", services=("batch",)),
                FilterRule("batch-warnings", "sample", levels=parse_level_bound("warning"), rate=2),
            ]
        )
        stream = [rec(T0 + i, "retrying", "batch-2", service="batch", level=Level.WARNING) for i in range(6)]
        assert len(flt.apply(stream)) == 3
        assert flt.dropped == {"mute-batch": 0, "batch-warnings": 3}

    def test_parse_errors_are_always_kept(self) -> None:
        """A record its parser could not read is kept even by a rule that drops everything it names."""
        flt = VolumeFilter([FilterRule("drop-all", "drop", levels=parse_level_bound(">=trace"))])
        stream = [
            rec(T0, "\x00\x17garbage", None, parse_error="not json"),
            rec(T0 + 1, "GET /", "api-1"),
            rec(T0 + 2, "{half", "api-2", parse_error="not json"),
        ]
        assert [r.message for r in flt.apply(stream)] == ["\x00\x17garbage", "{half"]
        assert flt.dropped == {"drop-all": 1}


class TestCap:
    def test_keeps_exactly_limit_per_template_per_minute_and_resets(self) -> None:
        """3 minutes of 6000 health checks each: the first 100 of each minute pass, in order."""
        flt = VolumeFilter([FilterRule("cap-info", "cap", levels=below("info"), limit=100)])
        stream = health_checks(18_000)  # 100 per second for 180 s
        kept = flt.apply(stream)
        per_minute = Counter((r.ts - T0) // MINUTE for r in kept)
        assert per_minute == {0: 100, 1: 100, 2: 100}
        assert kept[:100] == stream[:100]
        assert kept[100] is stream[6000]
        assert flt.dropped == {"cap-info": 18_000 - 300}

    def test_templates_have_their_own_allowance(self) -> None:
        """A flooding template cannot use up the cap of a quiet one."""
        flt = VolumeFilter([FilterRule("cap", "cap", limit=5)])
        stream = health_checks(1000)
        stream.insert(500, rec(T0 + 5 * S, "user 42 logged in", "api-2"))
        stream.insert(501, rec(T0 + 5 * S, "user 43 logged in", "api-2"))
        assert Counter(r.template_id for r in flt.apply(stream)) == {"api-1": 5, "api-2": 2}

    def test_window_length_is_configurable(self) -> None:
        """`per` = 10 s: 5 allowed in each 10-second window of record time."""
        flt = VolumeFilter([FilterRule("cap", "cap", limit=5, per=10)])
        kept = flt.apply(health_checks(6000))  # 60 s
        assert Counter((r.ts - T0) // (10 * S) for r in kept) == dict.fromkeys(range(6), 5)

    def test_windows_follow_record_time_across_batches(self) -> None:
        """Batches split anywhere give the same result as one batch: counts carry over."""
        stream = health_checks(12_000)
        whole = VolumeFilter([FilterRule("cap", "cap", limit=50)]).apply(stream)
        split_filter = VolumeFilter([FilterRule("cap", "cap", limit=50)])
        pieces = [split_filter.apply(stream[i : i + 777]) for i in range(0, len(stream), 777)]
        assert [r for piece in pieces for r in piece] == whole

    def test_late_records_count_against_the_current_window(self) -> None:
        """A record from an earlier minute does not reopen that minute's allowance."""
        flt = VolumeFilter([FilterRule("cap", "cap", limit=2)])
        stream = [rec(T0 + MINUTE + i, "tick", "api-1") for i in range(2)]
        stream.append(rec(T0 + 5, "tick", "api-1"))  # late, from the minute before
        assert len(flt.apply(stream)) == 2


class TestSample:
    def test_keeps_exactly_one_in_rate_per_template(self) -> None:
        """1000 debug lines of each of two templates at rate 10: the 1st, 11th, 21st... of each."""
        flt = VolumeFilter([FilterRule("sample-debug", "sample", levels=below("debug"), rate=10)])
        stream = [
            rec(T0 + i, f"cache {kind} key={i}", f"api-{kind}", level=Level.DEBUG)
            for i in range(1000)
            for kind in ("hit", "miss")
        ]
        kept = flt.apply(stream)
        assert Counter(r.template_id for r in kept) == {"api-hit": 100, "api-miss": 100}
        assert [r.message for r in kept if r.template_id == "api-hit"][:3] == [
            "cache hit key=0",
            "cache hit key=10",
            "cache hit key=20",
        ]
        assert flt.dropped == {"sample-debug": 1800}

    def test_sampling_is_reproducible(self) -> None:
        """Two fresh filters over the same stream keep the very same records."""
        stream = [rec(T0 + i, f"poll {i}", f"w-{i % 3}", level=Level.TRACE) for i in range(3000)]
        rules = [FilterRule("s", "sample", levels=below("debug"), rate=7)]
        first = VolumeFilter(rules).apply(stream)
        assert VolumeFilter(rules).apply(stream) == first
        assert len(first) == 3 * 143  # ceil(1000 / 7) per template

    def test_rate_one_keeps_everything(self) -> None:
        """rate = 1 is "keep 1 in 1"."""
        flt = VolumeFilter([FilterRule("s", "sample", rate=1)])
        assert len(flt.apply(health_checks(100))) == 100


class TestMatching:
    def test_service_globs(self) -> None:
        """`services` are fnmatch globs, case-sensitive; other services are untouched."""
        flt = VolumeFilter([FilterRule("mute-canaries", "drop", services=("canary-*", "smoke?"))])
        stream = [
            rec(T0, "ping", "x-1", service=name)
            for name in ("canary-eu", "smoke1", "smoke12", "Canary-x", "api")
        ]
        assert [r.service for r in flt.apply(stream)] == ["smoke12", "Canary-x", "api"]

    def test_template_ids_and_globs_over_mined_ids(self) -> None:
        """Templates named by exact id or by a glob over the miner's `<service>-<n>` ids."""
        stream = [
            rec(T0 + i, msg, None, service=svc)
            for i, (svc, msg) in enumerate(
                [
                    ("api", "GET /health 200"),
                    ("api", "user 7 logged in"),
                    ("db", "checkpoint complete in 12ms"),
                    ("db", "vacuum finished on table users"),
                    ("api", "GET /health 200"),
                ]
            )
        ]
        TemplateMiner().label(stream)
        health = stream[0].template_id
        assert health is not None and health.startswith("api-")
        only_health = VolumeFilter([FilterRule("no-health", "drop", templates=(health,))])
        assert [r.message for r in only_health.apply(stream)] == [
            "user 7 logged in",
            "checkpoint complete in 12ms",
            "vacuum finished on table users",
        ]
        all_db = VolumeFilter([FilterRule("quiet-db", "drop", templates=("db-*",))])
        assert [r.service for r in all_db.apply(stream)] == ["api", "api", "api"]

    def test_template_condition_never_matches_unmined_records(self) -> None:
        """A record without a template id is not in any `templates` list, not even `*`."""
        flt = VolumeFilter([FilterRule("d", "drop", templates=("*",))])
        assert len(flt.apply([rec(T0, "x", None), rec(T0, "y", "api-1")])) == 1

    def test_message_regex(self) -> None:
        """`message` is searched in the message; `(?i)` makes it ignore case."""
        flt = VolumeFilter([FilterRule("kube-probes", "drop", message=re.compile(r"(?i)kube-probe/\d"))])
        stream = [rec(T0, 'GET /ready "Kube-Probe/1.29"', "api-1"), rec(T0, "GET /ready curl/8", "api-1")]
        assert [r.message for r in flt.apply(stream)] == ["GET /ready curl/8"]

    def test_all_conditions_must_hold(self) -> None:
        """Levels, service, template and message together: a record failing one is not matched."""
        rule = FilterRule(
            "narrow",
            "drop",
            levels=below("debug"),
            services=("api",),
            templates=("api-*",),
            message=re.compile("cache"),
        )
        flt = VolumeFilter([rule])
        stream = [
            rec(T0, "cache hit", "api-1", level=Level.DEBUG),
            rec(T0, "cache hit", "api-1", level=Level.INFO),
            rec(T0, "cache hit", "db-1", service="api", level=Level.DEBUG),
            rec(T0, "cache hit", "api-1", service="db", level=Level.DEBUG),
            rec(T0, "pool hit", "api-1", level=Level.DEBUG),
        ]
        assert len(flt.apply(stream)) == 4

    def test_first_matching_rule_wins(self) -> None:
        """A keep rule before a broad drop rescues what it names; the order of rules is the policy."""
        flt = VolumeFilter(
            [
                FilterRule("keep-audit", "keep", message=re.compile("^audit:")),
                FilterRule("drop-info", "drop", levels=below("info")),
                FilterRule("never-reached", "drop", services=("api",)),
            ]
        )
        stream = [rec(T0, "audit: alice became admin", "api-5"), rec(T0, "GET /", "api-1")]
        assert [r.message for r in flt.apply(stream)] == ["audit: alice became admin"]
        assert flt.dropped == {"keep-audit": 0, "drop-info": 1, "never-reached": 0}

    def test_records_matching_no_rule_are_kept(self) -> None:
        """No matching rule means keep."""
        flt = VolumeFilter([FilterRule("d", "drop", services=("other",))])
        assert len(flt.apply(health_checks(10))) == 10


PROMETHEUS_LINE = re.compile(
    r"# HELP (?P<help>[a-zA-Z_:][a-zA-Z0-9_:]*) \S.*"
    r"|# TYPE (?P<type>[a-zA-Z_:][a-zA-Z0-9_:]*) (?:counter|gauge)"
    r"|(?P<sample>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"\})? (?P<value>\d+)'
)


def parse_exposition(lines: list[str]) -> dict[str, dict[str, int]]:
    """Checks the text format line by line; gives {metric: {labels: value}}. A sample must follow the
    HELP and TYPE of its own family."""
    samples: dict[str, dict[str, int]] = {}
    typed: str | None = None
    for line in lines:
        match = PROMETHEUS_LINE.fullmatch(line)
        assert match is not None, f"not exposition text: {line!r}"
        if match["type"]:
            typed = match["type"]
        elif match["sample"]:
            assert typed is not None and match["sample"] == typed, f"sample before its TYPE: {line!r}"
            labels = line[len(typed) : line.rindex(" ")]
            samples.setdefault(typed, {})[labels] = int(match["value"])
    return samples


class TestCounters:
    def test_drops_are_counted_per_rule_and_totals_add_up(self) -> None:
        """seen = kept + sum(dropped), across batches, per rule exactly."""
        flt = VolumeFilter(
            [
                FilterRule("drop-canary", "drop", services=("canary",)),
                FilterRule("sample-debug", "sample", levels=below("debug"), rate=4),
                FilterRule("cap-info", "cap", levels=below("info"), limit=10),
            ]
        )
        for batch in range(3):
            stream = [rec(T0 + batch, "ping", "canary-1", service="canary") for _ in range(7)]
            stream += [rec(T0 + batch, "sql select", "api-2", level=Level.DEBUG) for _ in range(8)]
            stream += health_checks(20, start=T0 + batch * MINUTE)
            flt.apply(stream)
        assert flt.dropped == {"drop-canary": 21, "sample-debug": 18, "cap-info": 30}
        assert (flt.seen, flt.kept) == (105, 105 - 69)

    def test_metric_lines_are_prometheus_text(self) -> None:
        """HELP and TYPE precede each family; dropped_total carries one sample per rule, label escaped."""
        flt = VolumeFilter(
            [FilterRule("drop-health", "drop", templates=("api-1",)), FilterRule('odd "name"\\', "drop")]
        )
        flt.apply(health_checks(12))
        lines = flt.metric_lines()
        assert lines[:2] == [
            "# HELP loglens_filter_seen_total Records that reached the volume filter.",
            "# TYPE loglens_filter_seen_total counter",
        ]
        samples = parse_exposition(lines)
        assert samples["loglens_filter_seen_total"] == {"": 12}
        assert samples["loglens_filter_kept_total"] == {"": 0}
        assert samples["loglens_filter_dropped_total"] == {
            '{rule="drop-health"}': 12,
            '{rule="odd \\"name\\"\\\\"}': 0,
        }
        assert samples["loglens_filter_state_keys"] == {"": 0}
        assert samples["loglens_filter_state_resets_total"] == {"": 0}


class TestMemoryBound:
    def test_a_million_unique_templates_stay_within_the_bound(self) -> None:
        """1M records, each its own template, under a cap: held counts never pass max_keys."""
        flt = VolumeFilter([FilterRule("cap-info", "cap", levels=below("info"), limit=100)])
        high = 0
        for start in range(0, 1_000_000, 20_000):
            batch = [rec(T0 + i * 1000, "x", f"api-{i}") for i in range(start, start + 20_000)]
            assert len(flt.apply(batch)) == len(batch)  # each template's first record is kept
            high = max(high, flt.tracked_keys)
        assert high == DEFAULT_MAX_KEYS
        assert flt.state_resets >= 1
        assert sum(len(table) for table in flt._tables) == flt.tracked_keys <= DEFAULT_MAX_KEYS

    def test_counts_from_past_windows_go_first(self) -> None:
        """At the bound, last minute's counts are forgotten and this minute's kept, without a reset."""
        flt = VolumeFilter([FilterRule("cap", "cap", limit=1)], max_keys=100)
        flt.apply([rec(T0, "x", f"old-{i}") for i in range(90)])
        flt.apply([rec(T0 + MINUTE, "x", f"new-{i}") for i in range(10)])
        flt.apply([rec(T0 + MINUTE, "x", "newest")])
        assert flt.tracked_keys == 11
        assert flt.state_resets == 0
        # This minute's counts survived: repeats are still capped.
        assert flt.apply([rec(T0 + MINUTE, "x", f"new-{i}") for i in range(10)]) == []

    def test_forgetting_only_ever_keeps_more(self) -> None:
        """After a full reset a capped template gets a fresh allowance; nothing extra is dropped."""
        flt = VolumeFilter([FilterRule("cap", "cap", limit=1)], max_keys=4)
        assert len(flt.apply([rec(T0, "x", f"t-{i % 5}") for i in range(5)])) == 5
        assert flt.state_resets == 1
        assert len(flt.apply([rec(T0, "x", "t-0")])) == 1


class TestRuleChecks:
    @pytest.mark.parametrize(
        ("kwargs", "words"),
        [
            ({"action": "sample"}, "needs `rate`"),
            ({"action": "cap", "limit": 0}, "`limit` must be a whole number ≥ 1"),
            ({"action": "drop", "rate": 3}, '`rate` only goes with action "sample"'),
            ({"action": "cap", "limit": 5, "per": 0.0}, "`per` must be a positive"),
            ({"action": "thin"}, "unknown action"),
        ],
    )
    def test_unusable_rules_are_refused(self, kwargs: dict[str, object], words: str) -> None:
        """A rule built in code is checked as a rule read from the config is."""
        with pytest.raises(ValueError, match=re.escape(words)):
            FilterRule("r", **kwargs)  # type: ignore[arg-type]

    def test_rule_names_are_unique(self) -> None:
        """Two rules with one name would share one drop counter."""
        with pytest.raises(ValueError, match="used twice: a"):
            VolumeFilter([FilterRule("a", "drop"), FilterRule("a", "keep")])


EXAMPLE = """
[filter]
enabled = true
max_keys = 50000

[[filter.rules]]
name = "keep-audit"
action = "keep"
message = "^audit:"

[[filter.rules]]
name = "drop-kube-probes"
action = "drop"
services = ["ingress-*"]
message = "(?i)kube-probe/"

[[filter.rules]]
name = "sample-debug"
action = "sample"
levels = "<=debug"
rate = 20

[[filter.rules]]
name = "cap-health"
action = "cap"
templates = ["api-1", "web-*"]
limit = 10
per = "30s"

[[filter.rules]]
name = "cap-info"
action = "cap"
levels = "<=info"
limit = 100
"""


def one_rule(**keys: object) -> dict[str, object]:
    """`rules` holding one table named "r" with these keys."""
    return {"rules": [{"name": "r", **keys}]}


class TestParseFilter:
    def test_full_example(self) -> None:
        """The documented example reads into rules in order, with every key applied."""
        settings = parse_filter(tomllib.loads(EXAMPLE)["filter"], "loglens.toml")
        assert settings is not None and settings.max_keys == 50_000
        names = [rule.name for rule in settings.rules]
        assert names == ["keep-audit", "drop-kube-probes", "sample-debug", "cap-health", "cap-info"]
        cap_health = settings.rules[3]
        assert (cap_health.templates, cap_health.limit, cap_health.per) == (("api-1", "web-*"), 10, 30.0)
        assert settings.rules[2].levels == frozenset({Level.TRACE, Level.DEBUG})
        flt = settings.build()
        assert flt.max_keys == 50_000 and list(flt.dropped) == names

    def test_off_by_default(self) -> None:
        """No [filter], or enabled = false, means no filter stage."""
        assert parse_filter({}, "loglens.toml") is None
        assert parse_filter({"enabled": False, "rules": [{"name": "d", "action": "drop"}]}, "x") is None

    def test_enabled_without_rules_uses_the_defaults(self) -> None:
        """The built-in rules: debug sampled 1 in 10, info capped at 100 per template per minute."""
        settings = parse_filter({"enabled": True}, "loglens.toml")
        assert settings == VolumeFilterSettings(DEFAULT_RULES, DEFAULT_MAX_KEYS)
        flt = settings.build()
        stream = [rec(T0 + i * 10**7, "sql select 1", "db-3", level=Level.DEBUG) for i in range(1000)]
        stream += health_checks(1000)
        stream += [rec(T0 + i, "replica lag high", "db-9", level=Level.NOTICE) for i in range(300)]
        kept = Counter(r.level for r in flt.apply(stream))
        assert kept == {Level.DEBUG: 100, Level.INFO: 100, Level.NOTICE: 300}

    def test_disabled_rules_are_still_checked(self) -> None:
        """A broken rule is reported before the filter is switched on."""
        with pytest.raises(ConfigError, match="`action`"):
            parse_filter({"rules": [{"name": "x", "action": "shred"}]}, "loglens.toml")

    @pytest.mark.parametrize(
        ("table", "words"),
        [
            ({"enable": True}, "[filter] has no setting 'enable'"),
            ({"enabled": "yes"}, "[filter] enabled must be true or false"),
            ({"max_keys": 0}, "[filter] max_keys must be a whole number ≥ 1"),
            ({"rules": {"name": "x"}}, "rules must be an array of tables"),
            ({"rules": ["drop"]}, "#1: each rule must be a table"),
            ({"rules": [{"action": "drop"}]}, "#1: each rule needs a `name`"),
            (one_rule(action="drop", service="x"), "#1 (r): unknown key 'service'"),
            (one_rule(action="mute"), "#1 (r): `action` must be one of: keep, drop"),
            (one_rule(action="drop", levels="<=loud"), "(r): `levels`: cannot read"),
            (one_rule(action="drop", levels=["info"]), "(r): `levels` must be a string"),
            (one_rule(action="drop", message="(unclosed"), "(r): `message` is not a valid regex"),
            (one_rule(action="drop", services=[1]), "(r): `services` must be a list"),
            (one_rule(action="drop", templates=7), "(r): `templates` must be a list"),
            (one_rule(action="sample"), '(r): action "sample" needs `rate`'),
            (one_rule(action="sample", rate=0), "(r): `rate` must be a whole number ≥ 1"),
            (one_rule(action="cap", limit=2.5), "(r): `limit` must be a whole number ≥ 1"),
            (one_rule(action="cap", limit=True), "(r): `limit` must be a whole number ≥ 1"),
            (one_rule(action="cap"), '(r): action "cap" needs `limit`'),
            (one_rule(action="cap", limit=3, rate=3), '`rate` only goes with action "sample"'),
            (one_rule(action="sample", rate=3, per=60), '`per` only goes with action "cap"'),
            (one_rule(action="cap", limit=3, per="soon"), "(r): `per` must be a positive duration"),
            (one_rule(action="cap", limit=3, per=-1), "(r): `per` must be a positive duration"),
            ({"rules": [{"name": "r", "action": "drop"}, {"name": "r", "action": "keep"}]},
             "#2: the name 'r' is used twice"),
        ],
    )  # fmt: skip
    def test_errors_name_the_key(self, table: dict[str, object], words: str) -> None:
        """Each mistake is reported with the file, the rule and the key to fix."""
        with pytest.raises(ConfigError, match=re.escape(words)) as caught:
            parse_filter({"enabled": True, **table}, "loglens.toml")
        assert str(caught.value).startswith("loglens.toml")

    def test_single_glob_string_and_numeric_per(self) -> None:
        """`services = "api-*"` is a list of one; `per = 15` is seconds."""
        table = {
            "enabled": True,
            "rules": [{"name": "c", "action": "cap", "services": "api-*", "limit": 1, "per": 15}],
        }
        settings = parse_filter(table, "loglens.toml")
        assert settings is not None
        assert (settings.rules[0].services, settings.rules[0].per) == (("api-*",), 15.0)
