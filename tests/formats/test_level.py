"""Tests for formats.level: level names and numbers, syslog PRI, HTTP status and the message classifier."""

from __future__ import annotations

import re

import pytest

from loglens.formats.level import (
    LevelClassifier,
    LevelRule,
    level_from_http_status,
    level_from_name,
    level_from_syslog_pri,
    syslog_facility_name,
)
from loglens.record import Level


class TestLevelFromName:
    """Free-form level names and numbers."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("trace", Level.TRACE), ("TRACE", Level.TRACE), ("Trace", Level.TRACE),
            ("finer", Level.TRACE), ("FINEST", Level.TRACE), ("verbose", Level.TRACE),
            ("debug", Level.DEBUG), ("dbg", Level.DEBUG), ("D", Level.DEBUG), ("FINE", Level.DEBUG),
            ("info", Level.INFO), ("information", Level.INFO), ("I", Level.INFO), ("CONFIG", Level.INFO),
            ("notice", Level.NOTICE), ("NOTICE", Level.NOTICE),
            ("warn", Level.WARNING), ("warning", Level.WARNING), ("W", Level.WARNING),
            ("WARN", Level.WARNING), ("Warning", Level.WARNING),
            ("error", Level.ERROR), ("err", Level.ERROR), ("ERR", Level.ERROR), ("E", Level.ERROR),
            ("SEVERE", Level.ERROR), ("ERRO", Level.ERROR),
            ("critical", Level.CRITICAL), ("crit", Level.CRITICAL), ("C", Level.CRITICAL),
            ("alert", Level.CRITICAL),
            ("fatal", Level.FATAL), ("F", Level.FATAL), ("emerg", Level.FATAL),
            ("emergency", Level.FATAL), ("panic", Level.FATAL), ("PANIC", Level.FATAL),
        ],
    )  # fmt: skip
    def test_names(self, value: str, expected: Level) -> None:
        """Every documented spelling maps to its level."""
        assert level_from_name(value) is expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (10, Level.TRACE), (20, Level.DEBUG), (30, Level.INFO),
            (40, Level.WARNING), (50, Level.ERROR), (60, Level.FATAL),
            ("10", Level.TRACE), ("30", Level.INFO), ("60", Level.FATAL), (" 50 ", Level.ERROR),
            (30.0, Level.INFO), ("40.0", Level.WARNING),
        ],
    )  # fmt: skip
    def test_pino_numbers(self, value: int | float | str, expected: Level) -> None:
        """pino/bunyan numbers map to levels, as numbers and as numeric strings."""
        assert level_from_name(value) is expected

    @pytest.mark.parametrize("value", ["wArNiNg", " info ", "[ERROR]", "<warn>", "Info:"])
    def test_odd_spellings(self, value: str) -> None:
        """Mixed case, padding and brackets are normalised."""
        assert level_from_name(value) is not None

    @pytest.mark.parametrize("value", [None, "", "bogus", "informative", 35, 0, 30.5, True, "nan", "x" * 100])
    def test_unknown(self, value: str | int | float | None) -> None:
        """Unknown names, other numbers and None give None."""
        assert level_from_name(value) is None

    def test_memo_is_bounded(self) -> None:
        """A flood of distinct junk names neither grows memory forever nor breaks lookups."""
        for n in range(10_000):
            assert level_from_name(f"junk{n}") is None
        assert level_from_name("warn") is Level.WARNING
        assert level_from_name("wArN") is Level.WARNING


class TestSyslogPri:
    """Syslog PRI decoding."""

    @pytest.mark.parametrize(
        ("severity", "expected"),
        [
            (0, Level.FATAL), (1, Level.CRITICAL), (2, Level.CRITICAL), (3, Level.ERROR),
            (4, Level.WARNING), (5, Level.NOTICE), (6, Level.INFO), (7, Level.DEBUG),
        ],
    )  # fmt: skip
    def test_severity(self, severity: int, expected: Level) -> None:
        """The severity is pri % 8, whatever the facility."""
        assert level_from_syslog_pri(severity) is expected
        assert level_from_syslog_pri(4 * 8 + severity) is expected
        assert level_from_syslog_pri(23 * 8 + severity) is expected

    @pytest.mark.parametrize(
        ("pri", "expected"),
        [
            (0, "kern"), (13, "user"), (22, "mail"), (30, "daemon"), (38, "auth"), (46, "syslog"),
            (54, "lpr"), (62, "news"), (70, "uucp"), (78, "cron"), (86, "authpriv"), (94, "ftp"),
            (128, "local0"), (134, "local0"), (150, "local2"), (191, "local7"),
        ],
    )  # fmt: skip
    def test_facility(self, pri: int, expected: str) -> None:
        """The facility is pri // 8, named as syslog.conf names it."""
        assert syslog_facility_name(pri) == expected

    def test_unknown_facility(self) -> None:
        """Codes beyond local7 get a generic name instead of an error."""
        assert syslog_facility_name(200) == "facility25"


class TestHttpStatus:
    """Access-log severity from the status code."""

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (100, Level.INFO), (200, Level.INFO), (204, Level.INFO), (301, Level.INFO), (304, Level.INFO),
            (400, Level.WARNING), (404, Level.WARNING), (499, Level.WARNING),
            (500, Level.ERROR), (503, Level.ERROR), (599, Level.ERROR),
        ],
    )  # fmt: skip
    def test_status(self, status: int, expected: Level) -> None:
        """5xx is an error, 4xx a warning, the rest info."""
        assert level_from_http_status(status) is expected


class TestClassifierKeywords:
    """The default keyword ruleset."""

    @pytest.mark.parametrize(
        ("message", "expected"),
        [
            ("Kernel panic - not syncing: VFS", Level.FATAL),
            ("FATAL: could not open relation", Level.FATAL),
            ("goroutine 1 panicked", Level.FATAL),
            ("emerg: system is unusable", Level.FATAL),
            ("CRITICAL disk almost full", Level.CRITICAL),
            ("crit: temperature above threshold", Level.CRITICAL),
            ("Error: connection reset", Level.ERROR),
            ("2 errors while compiling", Level.ERROR),
            ("Unhandled exception in worker", Level.ERROR),
            ("Traceback (most recent call last):", Level.ERROR),
            ("Failed to open /etc/foo.conf", Level.ERROR),
            ("job failure detected", Level.ERROR),
            ("app[123]: segfault at 0 ip 00007f", Level.ERROR),
            ("java.lang.NullPointerException: null", Level.ERROR),
            ("ValueError: invalid literal", Level.ERROR),
            ("Out of memory: Killed process 1234 (java)", Level.ERROR),
            ("python invoked oom-killer: gfp_mask=0x100cca", Level.ERROR),
            ("WARN low disk space", Level.WARNING),
            ("warning: unused variable", Level.WARNING),
            ("this API is deprecated", Level.WARNING),
            ("Permission denied (publickey)", Level.WARNING),
            ("connect() to upstream: Connection refused", Level.WARNING),
            ("upstream timed out (110)", Level.WARNING),
            ("read timeout after 30s", Level.WARNING),
            ("retrying request in 2s", Level.WARNING),
            ("invalid user admin from 10.0.0.1", Level.WARNING),
            ("debug: cache primed", Level.DEBUG),
            ("User 42 logged in", Level.INFO),
        ],
    )
    def test_keywords(self, message: str, expected: Level) -> None:
        """Each keyword family gives its level."""
        assert LevelClassifier().classify(message) is expected

    def test_most_severe_wins(self) -> None:
        """With several keywords the most severe decides, wherever it appears."""
        classifier = LevelClassifier()
        assert classifier.classify("retrying after error") is Level.ERROR
        assert classifier.classify("warning: fatal signal received") is Level.FATAL
        assert classifier.classify("debug: request failed") is Level.ERROR

    @pytest.mark.parametrize(
        "message",
        [
            "fatalities reported in the simulation",
            "mirror sync complete",
            "terror level unchanged",
            "Setting up liberror-prone-java (2.18.0-1) ...",
            "Preparing to unpack .../36-liberror-prone-java_2.18.0-1_all.deb ...",
            "errand runner started",
            "the warden opened",
            "critique submitted",
            "debugger attached",
            "processed 10 items",
        ],
    )
    def test_not_whole_words(self, message: str) -> None:
        """Keywords only count as whole words."""
        assert LevelClassifier().classify(message) is Level.INFO

    @pytest.mark.parametrize(
        "message",
        [
            "build finished: 0 errors",
            "Build finished with 0 errors, 0 warnings",
            "no errors found",
            "No error",
            "validation passed with zero failures",
            "completed without any errors",
            "error_count=0",
            "errors=0 warnings=0",
            "Errors: 0",
            "error count: 0",
            "failed=0 ok=12",
            "error-free run",
            "connect timeout=30s",
        ],
    )
    def test_counted_absence(self, message: str) -> None:
        """Messages saying a problem did not happen are not classified as that problem."""
        assert LevelClassifier().classify(message) is Level.INFO

    def test_absence_does_not_hide_other_problems(self) -> None:
        """A negated keyword does not mask another real one."""
        classifier = LevelClassifier()
        assert classifier.classify("0 errors, 3 warnings") is Level.WARNING
        assert classifier.classify("no errors, but 2 failed") is Level.ERROR
        assert classifier.classify("10 errors") is Level.ERROR
        assert classifier.classify("errors=10") is Level.ERROR

    def test_custom_default(self) -> None:
        """A message with no keyword gets the configured default."""
        assert LevelClassifier(default=Level.DEBUG).classify("hello") is Level.DEBUG


class TestClassifierRules:
    """Custom rules from loglens.toml."""

    def test_rules_before_keywords(self) -> None:
        """A matching custom rule beats the keyword ruleset."""
        rules = [LevelRule(re.compile(r"expected error"), Level.INFO)]
        classifier = LevelClassifier(rules)
        assert classifier.classify("got expected error from probe") is Level.INFO
        assert classifier.classify("got error from probe") is Level.ERROR

    def test_first_rule_wins(self) -> None:
        """Rules are tried in order and the first match decides."""
        rules = [
            LevelRule(re.compile(r"disk"), Level.CRITICAL),
            LevelRule(re.compile(r"disk full"), Level.NOTICE),
        ]
        assert LevelClassifier(rules).classify("disk full on /var") is Level.CRITICAL

    def test_rule_is_search(self) -> None:
        """A rule matches anywhere in the message, with the pattern's own flags."""
        rules = [LevelRule(re.compile(r"quota", re.IGNORECASE), Level.WARNING)]
        assert LevelClassifier(rules).classify("user over QUOTA") is Level.WARNING

    def test_no_rule_matches(self) -> None:
        """When no rule matches, keywords and then the default apply."""
        rules = [LevelRule(re.compile(r"^never$"), Level.FATAL)]
        classifier = LevelClassifier(rules, default=Level.NOTICE)
        assert classifier.classify("fine") is Level.NOTICE
        assert classifier.classify("request failed") is Level.ERROR

    def test_rules_reported(self) -> None:
        """The rules given are exposed in order."""
        rule = LevelRule(re.compile("x"), Level.ERROR)
        assert LevelClassifier([rule]).rules == (rule,)

    def test_rule_is_frozen(self) -> None:
        """LevelRule is immutable."""
        rule = LevelRule(re.compile("x"), Level.ERROR)
        with pytest.raises(AttributeError):
            rule.level = Level.INFO  # type: ignore[misc]
