"""Turns the timestamps log lines carry, in any common layout, into nanoseconds since the epoch (UTC).

One `TimestampParser` per source: it knows the source's zone and reference time and remembers its layout.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimestampParser", "to_iso_ms"]

_NS = 1_000_000_000
# Plausible epoch range for bare numbers (1990-01-01 .. 2100-01-01): outside it a number is an id or a
# count, not a time, and the unit (s/ms/µs/ns) is told apart by which range the number falls in.
_MIN_S = 631_152_000
_MAX_S = 4_102_444_800
# Year-less stamps may sit this far after the reference (clock skew, mtime of a still-written file).
_YEARLESS_SLACK_S = 86_400
# Time-only stamps: a day's worth of slack would always pick the reference's own date, so a much
# smaller allowance for skew keeps "23:59" before a "00:05" reference on the previous day.
_TIME_ONLY_SLACK_S = 600
# A live reference ("now") is re-read this often, so a long tail keeps inferring the right year/day.
_LIVE_REFRESH_S = 60
# Memos are bounded so that a source with ever-new minutes (or junk) cannot grow memory without limit.
_MEMO_LIMIT = 4096
# Stamps the store can hold: ns since the epoch in an int64 (1677-09-21 .. 2262-04-11), less a day
# for the seconds, fraction and offset added to a minute's start. "9999-12-31" is text, not a time.
_STORABLE_S = (-(2**63) // _NS + 86_400, (2**63 - 1) // _NS - 86_400)

_FRAC_SCALE: tuple[int, ...] = tuple(10 ** (9 - n) for n in range(10))
_UNIX_EPOCH = datetime(1970, 1, 1)

_MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DOW = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
# Fractions longer than 9 digits (some .NET/JVM clocks) keep their first 9: ns is our resolution.
_FRAC = r"(?:[.,](\d{1,9})\d*)?"
# A glued offset may be +hh, +hhmm or +hh:mm; one after a space must have minutes, so that
# "00:01:36 +12 items" is not read as a zone.
_OFFSET = r"([Zz]|[+-]\d\d(?::?\d\d)?|\s?(?:UTC|GMT)|\s[+-]\d\d:?\d\d)?"

# Offsets seen as text -> seconds east of UTC. Pre-filled with the zone names RFC 822 allows.
_OFFSETS: dict[str, int | None] = {
    "Z": 0, "z": 0, "UT": 0, "UTC": 0, "GMT": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
}  # fmt: skip


def _offset_seconds(text: str) -> int | None:
    """Seconds east of UTC for an offset such as ``Z``, ``+01``, ``-0530``, ``+01:00``, `` GMT``."""
    found = _OFFSETS.get(text, -1)
    if found != -1:
        return found
    clean = text.strip().upper()
    value: int | None
    if clean in _OFFSETS:
        value = _OFFSETS[clean]
    elif len(clean) >= 3 and clean[0] in "+-" and clean[1:3].isdigit():
        digits = clean[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4]) if len(digits) >= 4 else 0
        value = None if hours > 18 or minutes > 59 else (hours * 3600 + minutes * 60)
        if value is not None and clean[0] == "-":
            value = -value
    else:
        value = None
    if len(_OFFSETS) < _MEMO_LIMIT:
        _OFFSETS[text] = value
    return value


# --- key parsers: the "minute" part of a layout -> (year or None, month, day, hour, minute) -----------
# They run only on a memo miss, so they favour clarity over speed.

_Key = tuple[int | None, int, int, int, int]
_TOKENS = re.compile(r"\d+|[a-z]+")


def _key_ymd(key: str) -> _Key:
    """``2026-11-21T00:01`` / ``2026/11/21 00:01``."""
    return int(key[0:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]), int(key[14:16])


def _key_basic(key: str) -> _Key:
    """``20261121T0001``."""
    return int(key[0:4]), int(key[4:6]), int(key[6:8]), int(key[9:11]), int(key[11:13])


def _key_month_day(key: str) -> _Key:
    """``Nov 21 00:05`` (RFC 3164) and ``Nov 22 02:27|2026`` (ctime, year after the seconds)."""
    tokens = _TOKENS.findall(key.lower())
    year = int(tokens[4]) if len(tokens) > 4 else None
    return year, _MONTHS[tokens[0][:3]], int(tokens[1]), int(tokens[2]), int(tokens[3])


def _key_month_day_year(key: str) -> _Key:
    """``Nov 21, 2026 12:01|AM`` (Java default, 12-hour) and ``Nov 21 2026 00:05``."""
    tokens = _TOKENS.findall(key.lower())
    hour = _twelve_hour(int(tokens[3]), tokens[5] if len(tokens) > 5 else None)
    return int(tokens[2]), _MONTHS[tokens[0][:3]], int(tokens[1]), hour, int(tokens[4])


def _key_day_month_year(key: str) -> _Key:
    """``21/Nov/2026:00:00`` (CLF), ``21-Nov-2026 00:01`` (Tomcat), ``22 Nov 2026 02:27`` (RFC 2822)."""
    tokens = _TOKENS.findall(key.lower())
    return int(tokens[2]), _MONTHS[tokens[1][:3]], int(tokens[0]), int(tokens[3]), int(tokens[4])


def _key_us(key: str) -> _Key:
    """``11/21/2026 00:01`` and ``11/21/2026 12:01|PM``."""
    tokens = _TOKENS.findall(key.lower())
    hour = _twelve_hour(int(tokens[3]), tokens[5] if len(tokens) > 5 else None)
    return int(tokens[2]), int(tokens[0]), int(tokens[1]), hour, int(tokens[4])


def _key_glog(key: str) -> _Key:
    """``1121 00:01`` (month and day packed, no year)."""
    return None, int(key[0:2]), int(key[2:4]), int(key[5:7]), int(key[8:10])


def _key_mysql(key: str) -> _Key:
    """``261121  0:01`` (YYMMDD, space-padded hour)."""
    hour, minute = key[6:].split(":")
    return 2000 + int(key[0:2]), int(key[2:4]), int(key[4:6]), int(hour), int(minute)


def _key_time(key: str) -> _Key:
    """``00:01`` (no date at all: month/day are placeholders, the date comes from the reference)."""
    return None, 0, 0, int(key[0:2]), int(key[3:5])


def _twelve_hour(hour: int, marker: str | None) -> int:
    """Convert a 12-hour clock hour with its AM/PM marker to 0..23 (an invalid hour stays invalid)."""
    if marker is None:
        return hour
    if not 1 <= hour <= 12:
        return 99
    if marker == "am":
        return 0 if hour == 12 else hour
    return 12 if hour == 12 else hour + 12


# --- layouts ---------------------------------------------------------------------------------------

_FULL, _YEARLESS, _TIME_ONLY, _EPOCH = range(4)
_DIGITS = "0123456789"
_MONTH_STARTS = "jfmasondJFMASOND"
_DAY_STARTS = "mtwfsMTWFS"


@dataclass(frozen=True, slots=True)
class _Layout:
    """One timestamp layout.

    Every pattern has exactly five groups, in this order: the *minute key* (everything that fixes the
    minute, memoised as text), seconds, fraction, offset, and an *extra* piece of the minute key that
    comes after the seconds (ctime's year, an AM/PM marker). Absent pieces are empty groups ``()``.
    """

    name: str
    pattern: re.Pattern[str]
    key: Callable[[str], _Key]
    mode: int
    starts: str


def _layout(name: str, regex: str, key: Callable[[str], _Key], mode: int, starts: str) -> _Layout:
    # Case-insensitive matching is markedly slower in `re`, so only layouts with words (month and day
    # names, AM/PM) get it; the numeric ones spell their few letters out ([Tt], [Zz]).
    flags = re.ASCII | (re.IGNORECASE if _MON in regex or "[AP]M" in regex else 0)
    pattern = re.compile(regex, flags)
    if pattern.groups != 5:
        raise AssertionError(f"timestamp layout {name} must have 5 groups, has {pattern.groups}")
    return _Layout(name, pattern, key, mode, starts)


def _no_key(key: str) -> _Key:
    raise AssertionError("epoch layout has no minute key")


# Order matters only where two layouts could start alike; the most common come first.
_LAYOUTS: tuple[_Layout, ...] = (
    _layout(
        "iso8601",  # RFC 3339, Python logging (comma), logback, Go's 2026/11/21
        r"(\d{4}[-/]\d\d[-/]\d\d[Tt ]\d\d:\d\d):(\d\d)" + _FRAC + _OFFSET + "()",
        _key_ymd, _FULL, _DIGITS,
    ),
    _layout(
        "rfc3164",  # syslog: Nov 21 00:05:08, Nov  1 00:05:08
        r"(" + _MON + r"\s{1,2}\d{1,2} \d\d:\d\d):(\d\d)" + _FRAC + "()()",
        _key_month_day, _YEARLESS, _MONTH_STARTS,
    ),
    _layout(
        "clf",  # Apache/nginx access logs: 21/Nov/2026:00:00:25 +0000
        r"(\d{1,2}/" + _MON + r"/\d{4}:\d\d:\d\d):(\d\d)" + _FRAC + r"(?:\s?([Zz]|[+-]\d\d:?\d\d))?()",
        _key_day_month_year, _FULL, _DIGITS,
    ),
    _layout(
        "time",  # logback's %d{HH:mm:ss.SSS}: 00:01:21.438
        r"(\d\d:\d\d):(\d\d)" + _FRAC + "()()",
        _key_time, _TIME_ONLY, _DIGITS,
    ),
    _layout(
        "epoch",  # 1763683237, 1763683237.165, 1763683237165, ... (unit by magnitude)
        r"(\d{9,19})()(?:\.(\d{1,9})\d*)?(?!\d)()()",
        _no_key, _EPOCH, _DIGITS,
    ),
    _layout(
        "iso8601-basic",  # 20261121T000136Z
        r"(\d{8}[Tt]\d{4})(\d\d)" + _FRAC + r"([Zz]|[+-]\d\d(?::?\d\d)?)?()",
        _key_basic, _FULL, _DIGITS,
    ),
    _layout(
        "glog",  # I1121 00:01:36.123456 (level letter, no year)
        r"(?-i:[IWEFD])(\d{4} \d\d:\d\d):(\d\d)" + _FRAC + "()()",
        _key_glog, _YEARLESS, "IWEFD",
    ),
    _layout(
        "ctime",  # ctime(3), dmesg -T, Apache error log: Sun Nov 22 02:27:33 2026
        _DOW + r"\s+(" + _MON + r"\s{1,2}\d{1,2} \d\d:\d\d):(\d\d)" + _FRAC + r"(\s(?:UTC|GMT))?\s+(\d{4})",
        _key_month_day, _FULL, _DAY_STARTS,
    ),
    _layout(
        "rfc2822",  # mail, HTTP dates: Sun, 22 Nov 2026 02:27:33 GMT / +0100
        r"(?:" + _DOW + r",?\s+)?(\d{1,2}\s+" + _MON + r"\s+\d{4}\s+\d\d:\d\d):(\d\d)" + _FRAC
        + r"(?:\s*(Z|UT|UTC|GMT|[ECMP][SD]T|[+-]\d\d:?\d\d))?()",
        _key_day_month_year, _FULL, _DIGITS + _DAY_STARTS,
    ),
    _layout(
        "month-day-year",  # Nov 21 2026 00:05:08; java.util.logging: Nov 21, 2026 12:01:36 AM
        r"(" + _MON + r"\s{1,2}\d{1,2},?\s\d{4},?\s\d{1,2}:\d\d):(\d\d)" + _FRAC + r"()(?:\s?([AP]M))?",
        _key_month_day_year, _FULL, _MONTH_STARTS,
    ),
    _layout(
        "tomcat",  # catalina.out: 21-Nov-2026 00:01:21.438
        r"(\d{1,2}-" + _MON + r"-\d{4} \d\d:\d\d):(\d\d)" + _FRAC + "()()",
        _key_day_month_year, _FULL, _DIGITS,
    ),
    _layout(
        "us",  # 11/21/2026 00:01:36, 11/21/2026 12:01:36 PM
        r"(\d{1,2}/\d{1,2}/\d{4},?\s\d{1,2}:\d\d):(\d\d)" + _FRAC + r"()(?:\s?([AP]M))?",
        _key_us, _FULL, _DIGITS,
    ),
    _layout(
        "mysql",  # MySQL 5.x error log: 261121  0:01:36
        r"(\d{6}\s{1,2}\d{1,2}:\d\d):(\d\d)()()()",
        _key_mysql, _FULL, _DIGITS,
    ),
)  # fmt: skip
_EPOCH_INDEX = next(i for i, layout in enumerate(_LAYOUTS) if layout.mode == _EPOCH)
_FULLMATCH = tuple(layout.pattern.fullmatch for layout in _LAYOUTS)
_MATCH = tuple(layout.pattern.match for layout in _LAYOUTS)
# Layouts whose result depends on the reference time (no year, or no date at all).
_REFERENCED: tuple[bool, ...] = tuple(layout.mode in (_YEARLESS, _TIME_ONLY) for layout in _LAYOUTS)


def _candidates_by_char() -> dict[str, tuple[int, ...]]:
    """First character of a stamp -> indexes of the layouts that can start with it (in table order)."""
    table: dict[str, list[int]] = {}
    for index, layout in enumerate(_LAYOUTS):
        for char in layout.starts:
            table.setdefault(char, []).append(index)
    return {char: tuple(indexes) for char, indexes in table.items()}


_BY_CHAR = _candidates_by_char()


def _gate(indexes: tuple[int, ...]) -> re.Pattern[str]:
    """One pattern matching what any of these layouts matches: rejects a non-stamp in one regex call."""
    return re.compile(
        "|".join(
            f"(?{'i' if _LAYOUTS[i].pattern.flags & re.IGNORECASE else ''}a:{_LAYOUTS[i].pattern.pattern})"
            for i in indexes
        )
    )


_GATES: dict[str, re.Pattern[str]] = {char: _gate(indexes) for char, indexes in _BY_CHAR.items()}


def _local_zone() -> tzinfo:
    """The machine's zone as a DST-aware zoneinfo zone when it can be named, else today's fixed offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return datetime.now().astimezone().tzinfo or UTC


def _wall_seconds(year: int, month: int, day: int, hour: int, minute: int, tz: tzinfo | None) -> int | None:
    """Epoch seconds of a wall-clock minute in `tz` (None: the wall clock is UTC), None if no such date."""
    try:
        moment = datetime(year, month, day, hour, minute)
    except ValueError:
        return None
    seconds = (moment - _UNIX_EPOCH) // timedelta(seconds=1)
    if tz is not None:
        offset = moment.replace(tzinfo=tz).utcoffset()
        if offset:
            seconds -= offset // timedelta(seconds=1)
    if not _STORABLE_S[0] <= seconds <= _STORABLE_S[1]:
        return None
    return seconds


def _epoch_parts(whole: int, fraction: str) -> int | None:
    """ns for an epoch number given as integer part and decimal fraction digits, unit by magnitude."""
    if _MIN_S <= whole < _MAX_S:
        unit = _NS
    elif _MIN_S * 1_000 <= whole < _MAX_S * 1_000:
        unit = 1_000_000
    elif _MIN_S * 1_000_000 <= whole < _MAX_S * 1_000_000:
        unit = 1_000
    elif _MIN_S * _NS <= whole < _MAX_S * _NS:
        unit = 1
    else:
        return None
    ns = whole * unit
    if fraction and unit > 1:
        digits = fraction[:18]
        ns += int(digits) * unit // 10 ** len(digits)
    return ns


def _epoch_text(text: str) -> int | None:
    """Epoch number written as decimal text (``1763683237``, ``1763683237.165``) -> ns."""
    whole, _, fraction = text.partition(".")
    # Past 20 digits no number is a time of 1990-2100 in any unit (and int() refuses 4,301+).
    if not (whole.isascii() and whole.isdigit()) or len(whole) > 20:
        return None
    if fraction and not (fraction.isascii() and fraction.isdigit()):
        return None
    return _epoch_parts(int(whole), fraction)


_MISS = -(1 << 62)  # memo sentinel: no real minute is this far before the epoch


class TimestampParser:
    """Parses timestamps of one source into ns since epoch UTC.

    Args:
        tz: zone of stamps that carry no offset; None means the machine's local zone.
        reference_ns: when the source was written (a file's mtime; None means now, re-read as time
            passes). Stamps without a year (``Nov 21 00:05:08``, glog) get the year that puts them
            closest before the reference, allowing them to be up to one day after it (clock skew); a
            file spanning Dec -> Jan with a January mtime reads its December lines as last year.
            Time-only stamps (``00:01:21.438``) get the date that puts them closest before the
            reference, allowing ten minutes after it.

    Supported layouts: ISO 8601/RFC 3339 (``T`` or space, ``.`` or ``,`` and 0-9 fraction digits,
    ``Z``/``±hh:mm``/``±hhmm``/``±hh``/``UTC``/none), Go's ``2026/11/21 00:01:36``, basic ISO
    ``20261121T000136Z``, epoch s/ms/µs/ns, RFC 3164 ``Nov 21 00:05:08``, ``Nov 21 2026 00:05:08``,
    java.util.logging ``Nov 21, 2026 12:01:36 AM``, CLF ``21/Nov/2026:00:00:25 +0000``, ctime
    ``Sun Nov 22 02:27:33 2026``, RFC 2822 ``Sun, 22 Nov 2026 02:27:33 GMT``, Tomcat
    ``21-Nov-2026 00:01:21.438``, US ``11/21/2026 00:01:36``, glog ``I1121 00:01:36.123456``,
    MySQL 5 ``261121  0:01:36`` and time-only ``00:01:21.438``.

    Speed: the date-to-minute part of a stamp is computed once per distinct minute and memoised, so a
    repeated minute costs one regex match, a dict hit and some integer arithmetic.
    """

    __slots__ = (
        "_last",
        "_live",
        "_live_until",
        "_naive_memos",
        "_offset_memos",
        "_ref_s",
        "_tz",
    )

    def __init__(self, tz: tzinfo | None = None, reference_ns: int | None = None) -> None:
        self._tz: tzinfo = tz if tz is not None else _local_zone()
        self._live = reference_ns is None
        now_ns = time.time_ns()
        self._ref_s = (now_ns if reference_ns is None else reference_ns) // _NS
        self._live_until = now_ns / _NS + _LIVE_REFRESH_S if self._live else math.inf
        # Per layout: minute key -> epoch ns of the start of that minute. Stamps without an offset are in
        # self._tz; stamps with one are memoised as UTC wall time and the offset subtracted after.
        self._naive_memos: tuple[dict[str, int | None], ...] = tuple({} for _ in _LAYOUTS)
        self._offset_memos: tuple[dict[str, int | None], ...] = tuple({} for _ in _LAYOUTS)
        self._last = 0

    @property
    def tz(self) -> tzinfo:
        """The zone used for stamps without an offset."""
        return self._tz

    @property
    def reference_ns(self) -> int:
        """The reference time year-less and time-only stamps are placed before."""
        return self._ref_s * _NS

    # -- public API ---------------------------------------------------------------------------------

    def parse(self, text: str) -> int | None:
        """A whole timestamp string in any supported layout -> ns UTC, or None when it is not one.

        Leading/trailing spaces and surrounding ``[ ]`` are allowed. The layout that last worked is
        tried first.
        """
        index = self._last
        match = _FULLMATCH[index](text)
        if match is not None:
            # Inlined memo-hit case of _convert (the ingest hot path); everything else goes there.
            key, sec, frac, offset, extra = match.groups()
            if not (extra or (self._live and _REFERENCED[index])) and sec <= "60":
                if offset:
                    base = self._offset_memos[index].get(key)
                    shift = _OFFSETS.get(offset)
                    if base is not None and shift is not None:
                        base -= shift * _NS
                    else:
                        base = None
                else:
                    base = self._naive_memos[index].get(key)
                if base is not None:
                    if frac:
                        return base + int(sec + frac) * _FRAC_SCALE[len(frac)]
                    return base + int(sec) * _NS
            ns = self._convert(index, match)
            if ns is not None:
                return ns
        return self._parse_any(text)

    def parse_epoch(self, value: int | float | str) -> int | None:
        """An epoch number in s (fraction allowed), ms, µs or ns, told apart by magnitude -> ns UTC.

        Returns None outside the plausible years 1990..2100 and for anything not a number.
        """
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return _epoch_parts(value, "")
        if isinstance(value, float):
            if not math.isfinite(value) or value < 0:
                return None
            # repr() is the shortest text that round-trips, i.e. the digits the writer meant;
            # multiplying the float by 1e9 would invent noise in the last digits.
            text = repr(value)
            if "e" in text:
                return _epoch_parts(int(value), "")
            return _epoch_text(text)
        if isinstance(value, str):
            return _epoch_text(value.strip())
        return None

    def parse_prefix(self, line: str) -> tuple[int, int] | None:
        """A timestamp at the very start of `line`, optionally inside ``[ ]`` -> (ns, end index).

        The end index is just past the stamp (past the ``]`` when bracketed). Lines starting with
        anything that cannot begin a stamp (whitespace, most letters) are rejected at once, so
        continuation lines of multi-line events cost almost nothing.
        """
        if not line:
            return None
        first = line[0]
        start = 0
        if first == "[":
            start = 1
            first = line[1:2]
        candidates = _BY_CHAR.get(first)
        if candidates is None:
            return None
        last = self._last
        match = _MATCH[last](line, start)
        if match is not None:
            end = match.end()
            # The stamp must end at a word boundary: "12:34:5678" or "2026-11-21 00:01:36abc" are not.
            if end == len(line) or not line[end].isalnum():
                ns = self._convert(last, match)
                if ns is not None:
                    if start and line[end : end + 1] == "]":
                        end += 1
                    return ns, end
        if _GATES[first].match(line, start) is None:
            return None
        for index in candidates:
            if index != last:
                found = self._prefix_with(index, line, start)
                if found is not None:
                    self._last = index
                    return found
        return None

    # -- internals -----------------------------------------------------------------------------------

    def _prefix_with(self, index: int, line: str, start: int) -> tuple[int, int] | None:
        """`parse_prefix` with one given layout (same word-boundary and bracket rules)."""
        match = _MATCH[index](line, start)
        if match is None:
            return None
        end = match.end()
        if end < len(line) and line[end].isalnum():
            return None
        ns = self._convert(index, match)
        if ns is None:
            return None
        if start and line[end : end + 1] == "]":
            end += 1
        return ns, end

    def _parse_any(self, text: str) -> int | None:
        """Slow path of `parse`: strip decorations, then try every layout that can start this way."""
        text = text.strip()
        if text[:1] == "[" and text[-1:] == "]":
            text = text[1:-1].strip()
        candidates = _BY_CHAR.get(text[:1])
        if candidates is None:
            return None
        for index in candidates:
            match = _LAYOUTS[index].pattern.fullmatch(text)
            if match is not None:
                ns = self._convert(index, match)
                if ns is not None:
                    self._last = index
                    return ns
        return None

    def _convert(self, index: int, match: re.Match[str]) -> int | None:
        """ns UTC for a match of layout `index`; None when the fields are out of range."""
        if index == _EPOCH_INDEX:
            return _epoch_parts(int(match[1]), match[3] or "")
        key, sec, frac, offset, extra = match.groups()
        if extra:
            key = key + "|" + extra
        memo = self._offset_memos[index] if offset else self._naive_memos[index]
        base = memo.get(key, _MISS)
        if base == _MISS or (self._live and _REFERENCED[index] and self._live_expired()):
            base = self._minute(index, key, not offset)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = base
        # Two-digit strings compare like their numbers; 60 is a leap second (lands on the next :00).
        if base is None or sec > "60":
            return None
        if offset:
            shift = _OFFSETS.get(offset)
            if shift is None:
                shift = _offset_seconds(offset)
                if shift is None:
                    return None
            base -= shift * _NS
        if frac:
            # One int() over seconds and fraction together: "36" + "014" -> 36014 ms.
            return base + int(sec + frac) * _FRAC_SCALE[len(frac)]
        return base + int(sec) * _NS

    def _live_expired(self) -> bool:
        """With a live reference, move it to now once a minute and forget choices made with the old one."""
        now = time.time()
        if now < self._live_until:
            return False
        self._ref_s = int(now)
        self._live_until = now + _LIVE_REFRESH_S
        for index, layout in enumerate(_LAYOUTS):
            if layout.mode != _FULL:
                self._naive_memos[index].clear()
                self._offset_memos[index].clear()
        return True

    def _minute(self, index: int, key: str, naive: bool) -> int | None:
        """Epoch ns of the minute a key names (memo miss path)."""
        seconds = self._minute_seconds(index, key, naive)
        return None if seconds is None else seconds * _NS

    def _minute_seconds(self, index: int, key: str, naive: bool) -> int | None:
        layout = _LAYOUTS[index]
        try:
            year, month, day, hour, minute = layout.key(key)
        except (ValueError, KeyError, IndexError):
            return None
        if not (0 <= hour < 24 and 0 <= minute < 60):
            return None
        tz = self._tz if naive else None
        if layout.mode == _FULL:
            if year is None:
                return None
            return _wall_seconds(year, month, day, hour, minute, tz)
        if layout.mode == _YEARLESS:
            return self._closest_year(month, day, hour, minute, tz)
        return self._closest_day(hour, minute, tz)

    def _closest_year(self, month: int, day: int, hour: int, minute: int, tz: tzinfo | None) -> int | None:
        limit = self._ref_s + _YEARLESS_SLACK_S
        ref_year = datetime.fromtimestamp(self._ref_s, tz or UTC).year
        # Eight years back always reaches a leap year, for Feb 29.
        for year in range(ref_year + 1, ref_year - 9, -1):
            seconds = _wall_seconds(year, month, day, hour, minute, tz)
            if seconds is not None and seconds <= limit:
                return seconds
        return None

    def _closest_day(self, hour: int, minute: int, tz: tzinfo | None) -> int | None:
        limit = self._ref_s + _TIME_ONLY_SLACK_S
        ref_day = datetime.fromtimestamp(self._ref_s, tz or UTC).date()
        for delta in (1, 0, -1, -2):
            day: date = ref_day + timedelta(days=delta)
            seconds = _wall_seconds(day.year, day.month, day.day, hour, minute, tz)
            if seconds is not None and seconds <= limit:
                return seconds
        return None


# --- output ----------------------------------------------------------------------------------------

_ISO_SECONDS: dict[int, str] = {}
_MS_SUFFIX: tuple[str, ...] = tuple(f".{ms:03d}Z" for ms in range(1000))


def to_iso_ms(ns: int) -> str:
    """Format ns since the epoch as ``2026-11-21T00:00:37.165Z`` (UTC, milliseconds, ``Z``).

    The text up to the second is memoised: output walks through time, so consecutive records mostly
    share it.
    """
    seconds, rest = divmod(ns, _NS)
    head = _ISO_SECONDS.get(seconds)
    if head is None:
        moment = _UNIX_EPOCH + timedelta(seconds=seconds)
        head = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        if len(_ISO_SECONDS) >= _MEMO_LIMIT:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[seconds] = head
    return head + _MS_SUFFIX[rest // 1_000_000]


def from_iso_ms(text: str) -> int:
    """The inverse of `to_iso_ms` (any ISO 8601 stamp with a zone, or UTC without one): ns since the
    epoch, exact to the microsecond (no float on the way)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


MINSEC_NS: dict[str, int] = {
    f"{m:02d}:{s:02d}": (m * 60 + s) * 1_000_000_000 for m in range(60) for s in range(61)
}
"""`MM:SS` → nanoseconds into the hour: parsers that memoise an hour's start add the rest by lookup."""
MILLI_NS: dict[str, int] = {f"{ms:03d}": ms * 1_000_000 for ms in range(1000)}
"""`mmm` → nanoseconds, for the same parsers."""
