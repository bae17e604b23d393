"""Maps what logs say about severity (names, numbers, syslog PRI, HTTP status, message words) to `Level`.

Parsers call these once per record, so name lookups are dict hits and the message classifier is one regex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from loglens.record import Level

__all__ = [
    "LevelClassifier",
    "LevelRule",
    "level_from_http_status",
    "level_from_name",
    "level_from_syslog_pri",
    "syslog_facility_name",
]

# Lower-case spellings seen in the wild: syslog, log4j/logback, python logging, java.util.logging,
# Go (zap, klog letters, logrus's 4-letter TRAC/DEBU/ERRO/FATA/PANI), Serilog/.NET, Android logcat letters.
_NAME_TABLE: dict[str, Level] = {
    # trace
    "trace": Level.TRACE, "trc": Level.TRACE, "t": Level.TRACE, "finest": Level.TRACE,
    "finer": Level.TRACE, "verbose": Level.TRACE, "vrb": Level.TRACE, "v": Level.TRACE,
    "all": Level.TRACE, "trac": Level.TRACE,
    # debug
    "debug": Level.DEBUG, "dbg": Level.DEBUG, "d": Level.DEBUG, "fine": Level.DEBUG,
    "debu": Level.DEBUG,
    # info
    "info": Level.INFO, "inf": Level.INFO, "i": Level.INFO, "information": Level.INFO,
    "informational": Level.INFO, "config": Level.INFO,
    # notice
    "notice": Level.NOTICE, "note": Level.NOTICE, "ntc": Level.NOTICE, "n": Level.NOTICE,
    # warning
    "warn": Level.WARNING, "warning": Level.WARNING, "wrn": Level.WARNING, "w": Level.WARNING,
    "warnings": Level.WARNING,
    # error
    "error": Level.ERROR, "err": Level.ERROR, "eror": Level.ERROR, "erro": Level.ERROR,
    "e": Level.ERROR, "severe": Level.ERROR, "errors": Level.ERROR,
    # critical
    "critical": Level.CRITICAL, "crit": Level.CRITICAL, "crt": Level.CRITICAL, "c": Level.CRITICAL,
    "alert": Level.CRITICAL, "dpanic": Level.CRITICAL,
    # fatal
    "fatal": Level.FATAL, "fatl": Level.FATAL, "fata": Level.FATAL, "ftl": Level.FATAL, "f": Level.FATAL,
    "emerg": Level.FATAL, "emergency": Level.FATAL, "panic": Level.FATAL, "pani": Level.FATAL,
}  # fmt: skip

# pino / bunyan numeric levels.
_NUMBER_TABLE: dict[int, Level] = {
    10: Level.TRACE,
    20: Level.DEBUG,
    30: Level.INFO,
    40: Level.WARNING,
    50: Level.ERROR,
    60: Level.FATAL,
}

# Pre-seeding exact spellings (as written, upper, title) makes the common case a single dict hit
# without calling .lower(); anything else is normalised once and remembered.
_MEMO: dict[str, Level | None] = {}
for _name, _level in _NAME_TABLE.items():
    for _spelling in (_name, _name.upper(), _name.title()):
        _MEMO[_spelling] = _level
for _number, _level in _NUMBER_TABLE.items():
    _MEMO[str(_number)] = _level
_SEEDED = dict(_MEMO)
# Bounded because values come from untrusted input: a stream of distinct junk "levels" must not grow
# memory without limit.
_MEMO_LIMIT = 4096


def _normalise(value: str) -> Level | None:
    """Slow path of `level_from_name` for a string not yet in the memo."""
    key = value.strip().lower()
    # Bracketed or padded forms such as "[INFO]", "<warn>", "info:" are common in plain-text logs.
    key = key.strip("[]<>():| \t")
    level = _NAME_TABLE.get(key)
    if level is not None:
        return level
    try:
        number = float(key)
    except ValueError:
        return None
    return _from_number(number)


def _from_number(number: float) -> Level | None:
    """A pino/bunyan level number (exact decades only) -> Level."""
    if number != number or number % 1:  # NaN or fractional: not a level number
        return None
    return _NUMBER_TABLE.get(int(number))


def level_from_name(value: str | int | float | None) -> Level | None:
    """Turn a free-form level name or number into a `Level`, or None when it is not one.

    Accepts names in any case (``warn``, ``WARNING``, ``W``, ``err``, ``crit``, ``emerg``, ...),
    java.util.logging names (SEVERE -> error, CONFIG -> info, FINE -> debug, FINER/FINEST -> trace),
    single letters (T D I N W E C F, plus V for verbose) and pino/bunyan numbers
    (10 trace, 20 debug, 30 info, 40 warning, 50 error, 60 fatal), also as numeric strings.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return _MEMO[value]
        except KeyError:
            pass
        found = _normalise(value)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
            _MEMO.update(_SEEDED)
        _MEMO[value] = found
        return found
    if isinstance(value, bool):  # bool is an int subclass, but True is no level
        return None
    if isinstance(value, int):
        return _NUMBER_TABLE.get(value)
    if isinstance(value, float):
        return _from_number(value)
    return None


_SEVERITY_LEVELS: tuple[Level, ...] = (
    Level.FATAL,  # 0 emerg
    Level.CRITICAL,  # 1 alert
    Level.CRITICAL,  # 2 crit
    Level.ERROR,  # 3 err
    Level.WARNING,  # 4 warning
    Level.NOTICE,  # 5 notice
    Level.INFO,  # 6 info
    Level.DEBUG,  # 7 debug
)

_FACILITIES: tuple[str, ...] = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip


def level_from_syslog_pri(pri: int) -> Level:
    """Level of a syslog PRI value from its severity (``pri % 8``, RFC 5424 table 2)."""
    return _SEVERITY_LEVELS[pri % 8]


def syslog_facility_name(pri: int) -> str:
    """Facility name of a syslog PRI value (``pri // 8``); unknown codes read ``facility<N>``."""
    code = pri // 8
    if 0 <= code < len(_FACILITIES):
        return _FACILITIES[code]
    return f"facility{code}"


def level_from_http_status(status: int) -> Level:
    """Level of an access-log line from its HTTP status: 5xx error, 4xx warning, anything else info."""
    if status >= 500:
        return Level.ERROR
    if status >= 400:
        return Level.WARNING
    return Level.INFO


@dataclass(frozen=True, slots=True)
class LevelRule:
    """A user rule from ``loglens.toml``: a message that `pattern` finds (re.search) gets `level`."""

    pattern: re.Pattern[str]
    level: Level


# Subjects of "no/0 X" and "X=0" that say something did NOT go wrong.
_BAD_NOUNS = r"(?:errors?|failures?|failed|fails|warnings?|exceptions?|faults?|timeouts?|retries)"

# Matched against the lower-cased message: a case-insensitive regex is several times slower in `re`,
# and this runs once per record. Every alternative starts at a word start ((?<!\w)).
_KEYWORDS = re.compile(
    r"""
    (?<!\w)
    (?:
        # Negations first: at one position the leftmost alternative wins, so "0 errors" is consumed
        # here and its "errors" never reaches the error group.
        (?P<none>
            (?:0|no|zero|without(?:\s+any)?|never)\s+BAD_NOUNS\b
          | BAD_NOUNS(?:[\s_-]?count)?\s*[=:]\s*0(?![.\d])
          | (?:error|fault|warning)[\s-]free\b
          | timeout\s*=\s*\d
        )
      | (?P<fatal>
            (?:fatal|panic|panicked|emerg|emergency)\b
        )
      | (?P<critical>
            (?:critical|crit)\b
        )
      | (?P<error>
            (?:errors?|err|exceptions?|traceback|failed|fails|failures?|segfault|segmentation\s+fault
              |core\s+dumped|out\s+of\s+memory|oom-killer|killed\s+process)\b
        )
      | (?P<warning>
            (?:warn|warning|warnings|deprecated|deprecation|denied|refused|timed\s+out|timeouts?
              |retry|retrying|retries|invalid)\b
        )
      | (?P<debug>
            debug\b
        )
    )
    """.replace("BAD_NOUNS", _BAD_NOUNS),
    re.VERBOSE | re.ASCII,
)

# Exception/error class names (NullPointerException, ValueError, IOError): a capitalised `Error` or
# `Exception` glued to a word, matched on the message as written, so that lower-case words such as
# "terror" or a package called "liberror-prone" do not count. Kept out of _KEYWORDS because `\w+error`
# there would backtrack through every word of every message.
_CLASS_NAME = re.compile(r"(?<=\w)(?:Error|Exception)\b", re.ASCII)

# Every keyword above contains one of these fragments: a message with none of them (most messages)
# is decided without running the keyword pattern at all.
_TRIGGER = re.compile(
    r"err|fail|warn|exception|fatal|panic|emerg|crit|traceback|segfault|segmentation|core\sdump"
    r"|of\smemory|oom-|killed\sprocess|deprecat|denied|refused|timed\sout|timeout|retr|invalid|debug"
)

_GROUP_LEVELS: dict[str | None, Level | None] = {
    "none": None,
    "fatal": Level.FATAL,
    "critical": Level.CRITICAL,
    "error": Level.ERROR,
    "warning": Level.WARNING,
    "debug": Level.DEBUG,
}


class LevelClassifier:
    """Guesses the level of a message that carries none, from its words.

    Order of decision:

    1. Custom rules (``[[levels.rules]]`` in ``loglens.toml``), in order; the first whose regex is
       found in the message decides.
    2. The built-in keywords below, whole words, any case. When several appear, the most severe wins
       ("retrying after error" is an error):

       - fatal: ``fatal``, ``panic``/``panicked`` (so "kernel panic"), ``emerg``/``emergency``
         ("fatalities" is not a word match);
       - critical: ``critical``, ``crit``;
       - error: ``error(s)``, ``err``, ``exception(s)``, ``traceback``, ``failed``, ``fails``,
         ``failure(s)``, ``segfault``, ``segmentation fault``, ``core dumped``, ``out of memory``,
         ``oom-killer``, ``killed process``, and class names ending in a capitalised ``Exception`` or
         ``Error`` (``NullPointerException``, ``ValueError``), but not "terror" or "liberror";
       - warning: ``warn``, ``warning(s)``, ``deprecated``, ``deprecation``, ``denied``, ``refused``,
         ``timed out``, ``timeout(s)``, ``retry``/``retrying``/``retries``, ``invalid``;
       - debug: ``debug``.

       Counted absences are not problems: "0 errors", "no errors", "zero failures", "without any
       warnings", "never failed", "errors=0", "error_count: 0", "error-free" and a setting such as
       "timeout=30" are skipped (other keywords in the message still count).
    3. Otherwise the classifier's `default` (info unless configured).
    """

    __slots__ = ("_rules", "default")

    def __init__(self, rules: Sequence[LevelRule] = (), default: Level = Level.INFO) -> None:
        self._rules: tuple[tuple[re.Pattern[str], Level], ...] = tuple(
            (rule.pattern, rule.level) for rule in rules
        )
        self.default = default

    @property
    def rules(self) -> tuple[LevelRule, ...]:
        """The custom rules, in the order they are tried."""
        return tuple(LevelRule(pattern, level) for pattern, level in self._rules)

    def classify(self, message: str) -> Level:
        """The level a message with no explicit level most likely has (see the class docstring)."""
        for pattern, level in self._rules:
            if pattern.search(message) is not None:
                return level
        lowered = message.lower()
        if _TRIGGER.search(lowered) is None:
            return self.default
        best: Level | None = None
        for match in _KEYWORDS.finditer(lowered):
            found = _GROUP_LEVELS[match.lastgroup]
            if found is None:
                continue
            if found is Level.FATAL:
                return found
            if best is None or found > best:
                best = found
        if (best is None or best < Level.ERROR) and _CLASS_NAME.search(message) is not None:
            return Level.ERROR
        return self.default if best is None else best
