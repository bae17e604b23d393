"""What every fuzz test shares: the two Hypothesis profiles, input strategies and the storability check.

`make test` runs the fuzz tests on the small `fuzz-ci` profile; `make fuzz` sets LOGLENS_FUZZ_PROFILE=fuzz
(at least 100,000 cases per target). LOGLENS_FUZZ_EXAMPLES overrides the number of cases of either.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from collections.abc import Sequence
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record
from loglens.store.duckdb import records_to_arrow

__all__ = [
    "CI_EXAMPLES",
    "FUZZ_EXAMPLES",
    "OBSERVED_NS",
    "SAMPLE_LINES",
    "assert_storable",
    "fuzz",
    "json_values",
    "log_text",
    "make_context",
    "mutated",
]

CI_EXAMPLES = 150
"""Cases per target in `make test`: every target together stays well under a minute."""
FUZZ_EXAMPLES = 100_000
"""Cases per target in `make fuzz`: the issue's bar."""
PROFILE_ENV = "LOGLENS_FUZZ_PROFILE"
EXAMPLES_ENV = "LOGLENS_FUZZ_EXAMPLES"

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# Named apart from Hypothesis's own "ci" profile, which it loads by itself when it detects a CI machine.
settings.register_profile(
    "fuzz-ci", max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=_QUIET, print_blob=True
)
settings.register_profile(
    "fuzz", max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=_QUIET, print_blob=True
)

T = TypeVar("T")


def fuzz(share: float = 1.0) -> settings:
    """The settings of the active fuzz profile for one target, as a decorator.

    Args:
        share: the part of the profile's cases this target runs in `make test` (an endpoint
            round trip costs a hundred parser cases); `make fuzz` always runs the full count.
    """
    name = os.environ.get(PROFILE_ENV, "fuzz-ci")
    profile = settings.get_profile(name)
    examples = int(os.environ.get(EXAMPLES_ENV, "0")) or profile.max_examples
    if name != "fuzz":
        examples = max(10, round(examples * share))
    return settings(profile, max_examples=examples)


OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

# One line (or event) of every format loglens reads, and of its neighbours: mutated, these reach the
# deep branches of each parser that random text never would.
SAMPLE_LINES: tuple[str, ...] = (
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"request completed status=200","service":"api",'
    '"pid":4242,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","latency_ms":3.4,"user":null}',
    '{"@timestamp":"2026-11-21T00:00:37Z","log":{"level":"warn"},"message":"x","service":{"name":"s"}}',
    '{"time":1763683237165,"level":30,"msg":"pino line","hostname":"h","pid":7}',
    'ts=2026-11-21T00:01:22.082Z level=debug msg="message acked" queue=notifications latency_ms=17',
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET /api/v1/products/58 HTTP/1.1" 200 207 "-" "curl" 0.03',
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "POST /x?y=1 HTTP/2.0" 503 - "http://r/" "Mozilla"',
    "Nov 21 00:05:08 bastion-01 systemd-logind[644]: New session 485 of user jenkins.",
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<12>app[123]: message from SysLogHandler",
    "<165>1 2026-11-21T22:14:15.003Z mymachine evntslog 77 ID47 "
    '[exampleSDID@32473 iut="3" eventSource="App"] \ufeffAn application event',
    "Nov 21 00:05:08 host kernel: [1209153.450814] usb 1-1: new high-speed USB device",
    "[ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
    "[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 42:tid 7] [client 1.2.3.4:5] File does not exist",
    "[Sun Nov 22 02:27:33 2026] [error] [client 10.0.0.2] script not found",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    "2026-11-21 00:01:36,014 - payments.settle - ERROR - batch failed",
    "[2026-11-21 00:01:36,014] ERROR in app: Exception on /pay [POST]",
    "ERROR:root:payment failed",
    'Traceback (most recent call last):\n  File "/app/x.py", line 3, in <module>\n    f()\n'
    "ValueError: bad value",
    "2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.service.PaymentService - Payment captured",
    "2026-11-21T00:01:21.438+01:00  INFO 12345 --- [           main] c.e.App                : Started",
    "21-Nov-2026 00:01:21.438 SEVERE [main] org.apache.catalina.startup.Catalina.start Server startup",
    'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat com.x.Y.run(Y.java:10)\n'
    "Caused by: java.io.IOException: disk\n\t... 3 more",
    "Nov 21, 2026 12:01:36 AM org.x.Main run\nINFO: started",
    "I1121 00:01:36.123456    42 server.go:123] listening on :8080",
    "261121  0:01:36 [Note] mysqld: ready for connections.",
    "2026/11/21 00:01:36 [error] 7#7: *1 connect() failed (111: Connection refused)",
    "20261121T000136Z worker started",
    "1763683237.165 INFO epoch seconds",
    "00:01:21.438 WARN time only",
    "Sun, 22 Nov 2026 02:27:33 GMT rfc 2822",
    "11/21/2026 00:01:36 US date",
    "plain text with no structure at all",
    "",
)

# Pieces the parsers look for (stamps, brackets, quotes, separators, keywords, big numbers):
# random text made of them lands on the edges of every pattern.
FRAGMENTS: tuple[str, ...] = (
    "2026-11-21T00:00:37.165Z", "2026-11-21 00:01:36,014", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z", "2026-02-29T00:00:00", "2026-13-45T25:61:61",
    "+14:00", "-23:59", "Z", " UTC", " GMT", "Nov 21 ", "Feb 29 ", "21/Nov/2026:00:00:25 +0000",
    "I1121 ", "261121  0:01:36", "12:00:00 AM", "PM", "1763683237", "1763683237165", "99999999999999999999",
    "18446744073709551615", "9223372036854775808", "-1", "0", "1e308", "NaN", "<", ">", "<165>", "<999999>",
    "1 ", "[", "]", "[pid 99999999999]", "app[99999999999]: ", "{", "}", '"', "'", "\\", "=", ":", ";",
    ",", " ", "  ", "\t", "\n", "\r", "\x00", "\ufeff", "é", "😀", "\u2028", "-", "--- ", "|",
    "INFO", "ERROR", "WARN", "SEVERE", "FATAL", "debug", "level=", "msg=", "ts=", "kernel: ",
    "Traceback (most recent call last):", '  File "x.py", line 1, in f', "\tat a.B.c(B.java:1)",
    "Caused by: ", "... 3 more", "9" * 4400, "\\ud83d", "\\u00e9", "\\U0010FFFF", "\\x41",
    "ValueError: x", "java.lang.Error: y", '"GET / HTTP/1.1" ', "200 ",
    "- - ", "[core:error] ", "[client 1.2.3.4:5] ", "12345 --- [main] ", '{"a":', '[[[[[[[[[[',
)  # fmt: skip

_NO_SURROGATES = st.characters(exclude_categories=["Cs"])
"""Text as a source hands it over: decoded with `backslashreplace`, so never a lone surrogate."""
OTHER_DIGITS = "٣३３߃᠓"
"""Digits of other scripts: regex `\\d` matches them and int() reads them, but a table keyed by
ASCII digits does not know them."""
digit_runs = st.integers(0, 10**25).map(str)
"""Numbers as text, up to 26 digits: past every 32- and 64-bit field (and cheaper than a regex)."""


def log_text(max_pieces: int = 24, newlines: bool = True) -> st.SearchStrategy[str]:
    """Text built of parser-relevant fragments, digit runs and arbitrary characters."""
    piece = st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(_NO_SURROGATES, max_size=8),
        digit_runs,
    )
    text = st.lists(piece, max_size=max_pieces).map("".join)
    return text if newlines else text.map(lambda s: s.replace("\n", " ").replace("\r", " "))


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[str] = SAMPLE_LINES, newlines: bool = True) -> str:
    """A seed line with a few random edits: insertions, deletions, replacements, repeats, digit runs."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(("insert", "delete", "replace", "repeat", "digits", "cut")))
        if op == "insert":
            text = (
                text[:at] + draw(st.sampled_from(FRAGMENTS) | st.text(_NO_SURROGATES, max_size=3)) + text[at:]
            )
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif op == "replace" and at < len(text):
            text = text[:at] + draw(_NO_SURROGATES | st.sampled_from(OTHER_DIGITS)) + text[at + 1 :]
        elif op == "repeat":
            text = text[:at] + text[at : at + draw(st.integers(1, 12))] * draw(st.integers(2, 50)) + text[at:]
        elif op == "digits":
            text = text[:at] + draw(digit_runs) + text[at:]
        elif op == "cut":
            text = text[:at]
    if not newlines:
        text = text.replace("\n", " ").replace("\r", " ")
    return text


# Words, operators and values of the search language (docs/query.md), mixed with anything at all.
QUERY_PIECES = (
    " ", "  ", "(", ")", '"', "'", "/", "\\", "|", ",", ":", "-", "*", "?", ">", "<", ">=", "<=", "=", "!",
    "AND", "OR", "NOT", "and", "or", "level", "level:", "level:>=warning", "service:", "svc:api", "host:",
    "msg:", "message:", "source:", "template:", "tpl:", "trace:", "pid:", "pid:>100", "has:", "has:user",
    "status:", "status:>=500", "status:5*", "latency_ms:>1.5", "http.method:GET", "fields.user:",
    "@timestamp:", "user:alice", "/time(d|out)/", "/[/", "/(?=x)/", "/\\p{L}+/", "/a{99999}/",
    "/a{4294967296}/", "error", "warn", "timeout*", "*ing", '"connection refused"', "1e999", "nan", "inf",
    "-1", "0x10", "9" * 30, "é", "😀", "%", "_",
)  # fmt: skip
query_texts = st.one_of(
    st.lists(st.sampled_from(QUERY_PIECES) | st.text(max_size=4), max_size=12).map("".join),
    log_text(max_pieces=6, newlines=False),
)
time_texts = st.one_of(
    st.sampled_from(["15m", "2h", "2d", "1w", "now", "today", "yesterday", "now-5m", "0s", "1.5h", "250ms"]),
    st.builds("{}{}".format, digit_runs | st.sampled_from(["9" * 400, "1e9", "0.0000001"]), st.sampled_from(
        ["ms", "s", "m", "min", "h", "d", "w", "weeks", " h", ""]
    )),
    st.sampled_from(["2026-11-21", "2026-11-21 10:00", "2026-11-21T10:00:00Z", "9999-12-31", "0001-01-01",
                     "1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z", "2026-02-30"]),
    log_text(max_pieces=4, newlines=False),
)  # fmt: skip
level_texts = st.one_of(
    st.sampled_from(
        ["error", "warning,error", ">=warning", ">warn", "<=info", "crit", "", ",", ">=", "bogus"]
    ),
    st.text(max_size=10),
)


ROLE_KEYS: tuple[str, ...] = (
    "msg", "message", "log", "ts", "time", "timestamp", "@timestamp", "level", "severity", "status",
    "service", "service.name", "service_name", "host", "hostname", "host.name", "pid", "process",
    "trace_id", "traceId", "span_id", "error", "event", "fields", "index", "source", "sourcetype",
    "ddtags", "ddsource", "_index", "_id", "labels", "stream", "values", "name",
)  # fmt: skip

json_keys = st.sampled_from(ROLE_KEYS) | st.text(_NO_SURROGATES, max_size=6)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, 10**30, 1763683237, 1763683237165, 30, 50]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_NO_SURROGATES, max_size=12),
    st.sampled_from(FRAGMENTS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=5),
    max_leaves=16,
)
"""Any JSON value, biased to the keys and numbers log shippers use (ints past 64 bits included)."""


_DEEP = re.compile(r'"\\u0000deep:(\d+)\\u0000"')


def deep(depth: int) -> str:
    """A stand-in for a JSON value nested `depth` arrays deep, which `json_text` writes out as such
    (decoders accept more depth than encoders, and more than Python's own encoder could write)."""
    return f"\x00deep:{depth}\x00"


json_objects = st.one_of(
    st.dictionaries(json_keys, json_values, max_size=8),
    st.builds(lambda key, depth: {key: deep(depth)}, json_keys, st.integers(200, 1100)),
)


def json_text(value: Any) -> str:
    """JSON text of any value: integers of any size (as peers may write them), and the nesting `deep`
    stands for."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _DEEP.sub(lambda m: "[" * int(m[1]) + "1" + "]" * int(m[1]), text)


ZONES: tuple[tzinfo, ...] = (
    UTC,
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Asia/Kolkata"),
)


def make_context(
    tz: tzinfo = UTC, reference_ns: int = OBSERVED_NS, rules: LevelClassifier | None = None
) -> SourceContext:
    """A fresh parser context (timestamp memos start empty, so a case never depends on the last)."""
    return SourceContext(
        source="fuzz/app.log",
        service="fuzz",
        host="fuzz-host",
        observed_ns=reference_ns,
        timestamps=TimestampParser(tz=tz, reference_ns=reference_ns),
        levels=rules or LevelClassifier(),
    )


INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)


def assert_storable(records: Sequence[Record]) -> None:
    """Each record is one the store can write: the real conversion to its Arrow columns succeeds.

    A record the store refuses fails its whole batch (a file stops being read, a push is lost), so
    every parser and decoder must only make records like these.
    """
    for record in records:
        assert isinstance(record.level, Level)
        assert type(record.ts) is int and INT64[0] <= record.ts <= INT64[1], record.ts
        assert record.pid is None or INT32[0] <= record.pid <= INT32[1], record.pid
    records_to_arrow(records)


EXAMPLE = Path(__file__).resolve().parents[2] / "loglens.toml.example"
_SETTING = re.compile(r"^# ?((\[\[?[a-z_.]+\]\]?)|([a-z_]+ = .*))$")


def example_config() -> dict[str, Any]:
    """loglens.toml.example with every commented-out table and setting switched on."""
    lines = [(m[1] if (m := _SETTING.match(line)) else line) for line in EXAMPLE.read_text().splitlines()]
    return tomllib.loads("\n".join(lines))


SEED = example_config()
"""The shipped example config with everything switched on: the seed of config and rule cases."""
RULE_SEEDS = [
    *SEED["alerts"]["rules"],
    {"name": "m", "type": "match", "regex": "timeout", "query": "service:api", "labels": {"team": "x"}},
    {"name": "n", "type": "new_template", "level": "error", "group_by": ["rule", "service"]},
    {"name": "a", "type": "anomaly", "min_severity": "info", "services": ["api"], "kinds": ["spike"]},
    {
        "name": "q",
        "type": "absence",
        "service": "api",
        "window": "10m",
        "resolve_after": 60,
        "enabled": False,
    },
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list index path inside `value`."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, inner in items:
        path = (*prefix, key)
        found.append(path)
        found.extend(_paths(inner, path))
    return found


@st.composite
def mutated_tree(
    draw: st.DrawFn, seed: Any, values: st.SearchStrategy[Any], keys: Sequence[str] = ROLE_KEYS
) -> Any:
    """`seed` (nested dicts and lists) with some values replaced by `values`, some removed, and
    unknown keys from `keys` added."""
    value = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(value)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        holder = value
        for key in parents:
            holder = holder[key]
        action = draw(st.sampled_from(("replace", "replace", "delete", "add")))
        if action == "replace":
            holder[last] = draw(values)
        elif action == "delete":
            del holder[last]
        elif isinstance(holder, dict):
            holder[draw(st.sampled_from(keys))] = draw(values)
    return value
