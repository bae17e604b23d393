"""Tests for loglens.analysis.metrics: `[[metrics]]` parsing, series over a real store, and the CLI."""

from __future__ import annotations

import json
import re
import statistics
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, LoglensCli
from loglens.analysis.metrics import (
    MetricPoint,
    MetricRule,
    compute,
    format_series,
    format_value,
    select,
    summarise,
)
from loglens.config import parse_config
from loglens.errors import ConfigError
from loglens.query.timerange import time_clause
from loglens.store.base import WINDOW_ORIGIN_NS
from loglens.store.duckdb import DuckDBStore

S = 10**9
MINUTE = 60 * S
BASE = int(datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()) * S
N = 36  # one record every 5 s: three whole minutes, with records exactly on 10:01:00 and 10:02:00


# ------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Row:
    """What the test knows about one generated record, to compute expected values independently."""

    ts: int
    service: str
    route: str
    latency: float | None  # None: absent or not a number, so skipped by numeric aggregates
    user: str


def _latency_json(i: int) -> object:
    """The stored latency_ms of record i: a number, a numeric string, absent (...) or not a number."""
    if i in (7, 22):
        return ...
    if i in (13, 29):
        return "n/a" if i == 13 else "NaN"  # "NaN" reads as a DOUBLE, but not a finite one
    value = (i * 37) % 100 + 1
    return str(value) if i % 4 == 0 else value


def _rows() -> list[Row]:
    rows = []
    for i in range(N):
        raw = _latency_json(i)
        latency = float(raw) if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()) else None
        rows.append(
            Row(
                ts=BASE + i * 5 * S,
                service="api" if i % 3 else "web",
                route="/api/v1/checkout" if i % 2 else "/api/v1/cart",
                latency=latency,
                user=f"u{i % 7}",
            )
        )
    return rows


ROWS = _rows()


def _jsonl() -> str:
    lines = []
    for i, row in enumerate(ROWS):
        record: dict[str, object] = {
            "ts": datetime.fromtimestamp(row.ts / S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "level": "info",
            "msg": f"handled request {i}",
            "service": row.service,
            "route": row.route,
            "user": row.user,
        }
        latency = _latency_json(i)
        if latency is not ...:
            record["latency_ms"] = latency
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled by the real `loglens ingest` from the generated JSON lines (once per module)."""
    folder = tmp_path_factory.mktemp("metrics")
    logs = folder / "app.jsonl"
    logs.write_text(_jsonl())
    path = folder / "store.duckdb"
    LoglensCli.run("ingest", "--store", str(path), str(logs))
    return path


@pytest.fixture
def store(store_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(store_path, read_only=True)
    yield opened
    opened.close()


def rule(**entry: str) -> MetricRule:
    """The rule a `[[metrics]]` table parses to (name `m` unless given)."""
    return parse_config({"metrics": [{"name": "m", **entry}]}).metrics[0]


# ------------------------------------------------------------------------ independent expectations


def tumbling(
    window_ns: int, aggregate: Callable[[list[Row]], float | None], keep: Callable[[Row], bool] = bool
) -> list[tuple[int, float]]:
    """(window start, value) of windows [start, start + window) aligned on the documented origin."""
    windows: dict[int, list[Row]] = {}
    for row in ROWS:
        if keep(row):
            start = row.ts - (row.ts - WINDOW_ORIGIN_NS) % window_ns
            windows.setdefault(start, []).append(row)
    out = []
    for start in sorted(windows):
        value = aggregate(windows[start])  # never empty: a window exists because a row is in it
        if value is not None:
            out.append((start, value))
    return out


def sliding(
    window_ns: int, step_ns: int, aggregate: Callable[[list[Row]], float | None]
) -> list[tuple[int, float]]:
    """(t - window, value) for each step point t holding (t - window, t], up to the newest record."""
    newest = max(row.ts for row in ROWS)
    first = min(row.ts for row in ROWS)
    t = first - (first - WINDOW_ORIGIN_NS) % step_ns
    out = []
    while t - step_ns < newest:
        rows = [row for row in ROWS if t - window_ns < row.ts <= t]
        value = aggregate(rows) if rows else None
        if value is not None:
            out.append((t - window_ns, value))
        t += step_ns
    return out


def latencies(rows: list[Row]) -> list[float]:
    return [row.latency for row in rows if row.latency is not None]


def numeric(fn: Callable[[list[float]], float]) -> Callable[[list[Row]], float | None]:
    """An aggregate over the latencies of a window; None (no row) when it has none."""
    return lambda rows: fn(latencies(rows)) if latencies(rows) else None


def percentile(q: float) -> Callable[[list[float]], float]:
    """Linear interpolation between closest ranks, as `statistics` computes it ("inclusive")."""

    def fn(values: list[float]) -> float:
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]

    return fn


def count_of(service: str) -> Callable[[list[Row]], float | None]:
    """The number of a window's records from `service`; None (no row) when it has none."""

    def fn(rows: list[Row]) -> float | None:
        return sum(row.service == service for row in rows) or None

    return fn


def series(points: list[MetricPoint]) -> list[tuple[int, float]]:
    assert all(p.group is None for p in points)
    return [(p.window_start, p.value) for p in points]


def approx(expected: list[tuple[int, float]]) -> list[tuple[int, Any]]:
    return [(start, pytest.approx(value)) for start, value in expected]


# ------------------------------------------------------------------------------------------ parsing


class TestParse:
    def test_full_rule(self) -> None:
        """Every key is read: canonical field and group, window and step in ns, the quantile of pN."""
        parsed = rule(
            query="service:api",
            aggregate="p99.9",
            field="latency_ms",
            window="5m",
            mode="sliding",
            step="30s",
            group_by="Service",
        )
        assert parsed == MetricRule(
            "m", "p99.9", "service:api", "latency_ms", 5 * MINUTE, 30 * S, "service", parsed.quantile
        )
        assert parsed.quantile == pytest.approx(0.999)
        assert parsed.mode == "sliding"

    def test_defaults(self) -> None:
        """A name alone is a count of all records per 1m tumbling window."""
        parsed = rule()
        assert (parsed.aggregate, parsed.query, parsed.field, parsed.window_ns) == ("count", "", None, MINUTE)
        assert parsed.step_ns is None and parsed.mode == "tumbling" and parsed.group_by is None

    def test_sliding_step_defaults_to_a_tenth(self) -> None:
        """Without `step` a sliding window moves by a tenth of its length."""
        assert rule(mode="sliding", window="1m").step_ns == 6 * S
        assert rule(mode="sliding", window="1h").step_ns == 6 * MINUTE

    def test_percentiles_and_aliases(self) -> None:
        """p50 is the 0.5 quantile; `template` means the template_id column, as in queries."""
        assert rule(aggregate="p50", field="latency_ms").quantile == 0.5
        assert rule(aggregate="p100", field="latency_ms").quantile == 1.0
        assert rule(aggregate="unique", field="template").field == "template_id"
        assert rule(aggregate="max", field="pid").field == "pid"

    def test_example_file_metrics_parse(self) -> None:
        """The commented `[[metrics]]` of loglens.toml.example, uncommented, are valid rules."""
        text = (REPO / "loglens.toml.example").read_text()
        setting = re.compile(r"^# (\[|[a-z_]+ = )")
        uncommented = "\n".join(line[2:] if setting.match(line) else line for line in text.splitlines())
        metrics = parse_config(tomllib.loads(uncommented)).metrics
        assert [m.name for m in metrics] == ["checkout_p95_latency", "api_error_rate"]
        assert metrics[0].quantile == 0.95 and metrics[1].step_ns == 30 * S

    @pytest.mark.parametrize(
        ("entry", "expected"),
        [
            ({"query": "x"}, "needs a `name`"),
            ({"name": "Checkout-P95"}, "`name` must be lower-case"),
            ({"name": "m", "windw": "1m"}, "(m): unknown key `windw`"),
            ({"name": "m", "window": 60}, "(m): `window` must be a string"),
            ({"name": "m", "aggregate": "median"}, "(m): `aggregate` 'median' is not one of"),
            ({"name": "m", "aggregate": "p0", "field": "x"}, "(m): `aggregate` 'p0'"),
            ({"name": "m", "aggregate": "p101", "field": "x"}, "(m): `aggregate` 'p101'"),
            ({"name": "m", "aggregate": "avg"}, "(m): aggregate 'avg' needs a `field`"),
            ({"name": "m", "aggregate": "rate", "field": "x"}, "(m): `field` does not apply to rate"),
            ({"name": "m", "aggregate": "sum", "field": "service"}, "(m): `field`: 'service' is text"),
            ({"name": "m", "aggregate": "unique", "field": "a b"}, "(m): `field`: 'a b' is not a field"),
            ({"name": "m", "group_by": "a/b"}, "(m): `group_by`: 'a/b' is not a field"),
            ({"name": "m", "query": '"open'}, "(m): `query` is not a valid query: unterminated"),
            ({"name": "m", "window": "soon"}, "(m): `window`: cannot read the duration"),
            ({"name": "m", "window": "0s"}, "(m): `window` must be a whole number of milliseconds"),
            ({"name": "m", "window": "0.0001s"}, "(m): `window` must be a whole number of milliseconds"),
            ({"name": "m", "mode": "hopping"}, "(m): `mode` must be one of tumbling, sliding"),
            ({"name": "m", "step": "10s"}, '(m): `step` applies only to mode = "sliding"'),
            ({"name": "m", "mode": "sliding", "step": "2m"}, "(m): `step` must not be longer than `window`"),
            ({"name": "m", "mode": "sliding", "window": "1w", "step": "1s"}, "(m): `step` is too small"),
            ("m", "each metric must be a table"),
        ],
    )
    def test_bad_entry(self, entry: object, expected: str) -> None:
        """Each mistake is a ConfigError naming the file, the entry, the metric and the key."""
        with pytest.raises(ConfigError) as info:
            parse_config({"metrics": [entry]}, Path("loglens.toml"))
        assert str(info.value).startswith("loglens.toml [[metrics]] #1")
        assert expected in str(info.value)

    def test_duplicate_name(self) -> None:
        """Two metrics may not share a name (the second is named in the error)."""
        with pytest.raises(ConfigError, match=r"#2: the name 'm' is used twice"):
            parse_config({"metrics": [{"name": "m"}, {"name": "m", "aggregate": "rate"}]})

    def test_not_an_array(self) -> None:
        """`metrics` must be an array of tables."""
        with pytest.raises(ConfigError, match=r"must be an array of tables"):
            parse_config({"metrics": {"name": "m"}})


class TestSelect:
    RULES = (MetricRule("a"), MetricRule("b"), MetricRule("c"))

    def test_all_or_named(self) -> None:
        """No names gives every rule; names give those rules in the order asked, once each."""
        assert [r.name for r in select(self.RULES, [], None)] == ["a", "b", "c"]
        assert [r.name for r in select(self.RULES, ["c", "a", "c"], None)] == ["c", "a"]

    def test_unknown_name_lists_known(self) -> None:
        """An unknown name is a ConfigError listing the defined metrics."""
        with pytest.raises(ConfigError, match=r"no metric named 'x'.*known metrics: a, b, c"):
            select(self.RULES, ["a", "x"], None)

    def test_no_metrics_points_to_docs(self) -> None:
        """A config without metrics says where to define one and where they are documented."""
        with pytest.raises(ConfigError, match=r"no \[\[metrics\]\] defined in my.toml.*docs/cli.md"):
            select((), [], Path("my.toml"))


class TestFormatting:
    def test_value(self) -> None:
        """Whole values print without decimals, others to four places, tiny ones in 3 digits."""
        assert [format_value(v) for v in (12.0, 7, 85.5, 1 / 3, 0.0002, 0.0)] == [
            "12",
            "7",
            "85.5",
            "0.3333",
            "0.0002",
            "0",
        ]

    def test_summarise(self) -> None:
        """Per group: the latest window's value and the min, median and max of its series."""
        points = [
            MetricPoint("m", 2, "a", 5.0),
            MetricPoint("m", 1, "a", 1.0),
            MetricPoint("m", 1, "b", 3.0),
            MetricPoint("m", 3, "a", 2.0),
        ]
        a, b = summarise(points)
        assert (a.group, a.latest_start, a.latest, a.minimum, a.median, a.maximum, a.windows) == (
            "a",
            3,
            2.0,
            1.0,
            2.0,
            5.0,
            3,
        )
        assert (b.group, b.latest, b.median, b.windows) == ("b", 3.0, 3.0, 1)

    def test_series_text(self) -> None:
        """The text names the metric and its definition, shows each window and the summary."""
        text = format_series(
            rule(aggregate="p95", field="latency_ms", window="1m", group_by="service"),
            [MetricPoint("m", BASE, "api", 107.0), MetricPoint("m", BASE, "web", 85.5)],
        )
        lines = text.splitlines()
        assert lines[0] == "m: p95(latency_ms) per 1m tumbling window by service"
        assert lines[1].split() == ["window", "start", "service", "value"]
        assert lines[2].split() == ["2026-11-21T10:00:00.000Z", "api", "107"]
        assert lines[3].split() == ["2026-11-21T10:00:00.000Z", "web", "85.5"]
        assert lines[4].strip().startswith("api: latest 107 (2026-11-21T10:00:00.000Z)  min 107")
        assert format_series(rule(), []).splitlines()[1].strip() == "no matching records in this time range"


# -------------------------------------------------------------------------------- over a real store


class TestTumbling:
    def test_count_and_rate(self, store: DuckDBStore) -> None:
        """count is the records per minute; rate is that count per second of the window."""
        counts = series(compute(store, rule(window="1m")))
        assert counts == [(BASE, 12), (BASE + MINUTE, 12), (BASE + 2 * MINUTE, 12)]
        assert series(compute(store, rule(aggregate="rate", window="1m"))) == approx(
            [(start, 12 / 60) for start, _ in counts]
        )

    @pytest.mark.parametrize(
        ("aggregate", "fn"),
        [
            ("sum", sum),
            ("min", min),
            ("max", max),
            ("avg", statistics.fmean),
            ("p50", percentile(0.5)),
            ("p95", percentile(0.95)),
            ("p99.9", percentile(0.999)),
        ],
    )
    def test_numeric(self, store: DuckDBStore, aggregate: str, fn: Callable[[list[float]], float]) -> None:
        """Numeric aggregates read numbers and numeric strings alike and skip absent or non-numbers."""
        got = series(compute(store, rule(aggregate=aggregate, field="latency_ms", window="1m")))
        assert got == approx(tumbling(MINUTE, numeric(fn)))
        assert len(got) == 3

    def test_known_values(self, store: DuckDBStore) -> None:
        """Hand-checked first minute: 11 latencies (row 7 has none); p95 interpolates the top two."""
        first = sorted(latencies(ROWS[:12]))
        assert first == [1, 8, 12, 23, 34, 38, 49, 71, 75, 86, 97]
        assert compute(store, rule(aggregate="p50", field="latency_ms"))[0].value == 38.0
        assert compute(store, rule(aggregate="p95", field="latency_ms"))[0].value == pytest.approx(91.5)
        assert compute(store, rule(aggregate="sum", field="latency_ms"))[0].value == 494.0
        assert compute(store, rule(aggregate="avg", field="latency_ms"))[0].value == pytest.approx(494 / 11)
        assert compute(store, rule(aggregate="min", field="latency_ms"))[0].value == 1.0
        assert compute(store, rule(aggregate="max", field="latency_ms"))[0].value == 97.0

    def test_unique(self, store: DuckDBStore) -> None:
        """unique counts the distinct values of a field per window."""
        got = series(compute(store, rule(aggregate="unique", field="user", window="1m")))
        assert got == tumbling(MINUTE, lambda rows: len({r.user for r in rows}))
        assert [value for _, value in got] == [7, 7, 7]
        assert series(compute(store, rule(aggregate="unique", field="route", window="1m")))[0][1] == 2

    def test_alignment_on_the_origin(self, store: DuckDBStore) -> None:
        """A 70 s window starts on a multiple of 70 s from 2000-01-03 00:00 UTC, not at the first record."""
        got = series(compute(store, rule(window="70s")))
        assert got == tumbling(70 * S, len)
        assert all((start - WINDOW_ORIGIN_NS) % (70 * S) == 0 for start, _ in got)
        assert got[0] == (BASE - 50 * S, 4)  # [09:59:10, 10:00:20): records 0..3
        assert sum(value for _, value in got) == N

    def test_group_by(self, store: DuckDBStore) -> None:
        """group_by gives one value per window and group, groups in order."""
        points = compute(store, rule(aggregate="max", field="latency_ms", group_by="service"))
        got = [(p.window_start, p.group, p.value) for p in points]
        expected = []
        for start in (BASE, BASE + MINUTE, BASE + 2 * MINUTE):
            for service in ("api", "web"):
                rows = [r for r in ROWS if r.service == service and start <= r.ts < start + MINUTE]
                expected.append((start, service, max(latencies(rows))))
        assert got == expected
        assert len(got) == 6

    def test_query_filter(self, store: DuckDBStore) -> None:
        """Only records matching the query count."""
        got = series(
            compute(store, rule(query="route:/api/v1/checkout*", aggregate="sum", field="latency_ms"))
        )
        assert got == tumbling(MINUTE, numeric(sum), lambda r: r.route == "/api/v1/checkout")
        assert got != series(compute(store, rule(aggregate="sum", field="latency_ms")))

    def test_time_range(self, store: DuckDBStore) -> None:
        """--since/--until bound the records: windows at the edges hold only those inside."""
        extra = time_clause("2026-11-21T10:00:30Z", "2026-11-21T10:01:30Z")
        got = series(compute(store, rule(), extra))
        assert got == [(BASE, 6), (BASE + MINUTE, 6)]


class TestSliding:
    def test_count_at_points(self, store: DuckDBStore) -> None:
        """Each point t holds (t - 1m, t]: the record at t counts, the one at t - 1m does not."""
        got = series(compute(store, rule(mode="sliding", window="1m", step="20s")))
        assert got == sliding(MINUTE, 20 * S, len)
        by_start = dict(got)
        assert by_start[BASE] == 12  # (10:00:00, 10:01:00]: records 1..12
        assert by_start[BASE - 40 * S] == 5  # (09:59:20, 10:00:20]: records 0..4
        # Ends at the first point at or after the newest record (10:02:55 → 10:03:00).
        assert got[-1][0] == BASE + 2 * MINUTE

    def test_differs_from_tumbling(self, store: DuckDBStore) -> None:
        """The window ending at 10:01:00 drops record 0 and adds record 12, unlike [10:00, 10:01)."""
        slide = dict(series(compute(store, rule(mode="sliding", aggregate="sum", field="latency_ms"))))
        tumble = dict(series(compute(store, rule(aggregate="sum", field="latency_ms"))))
        assert slide[BASE] == sum(latencies(ROWS[1:13]))
        assert tumble[BASE] == sum(latencies(ROWS[0:12]))
        assert slide[BASE] != tumble[BASE]

    @pytest.mark.parametrize(
        ("aggregate", "fn"),
        [
            ("p95", numeric(percentile(0.95))),
            ("p50", numeric(percentile(0.5))),
            ("avg", numeric(statistics.fmean)),
            ("min", numeric(min)),
        ],
    )
    def test_holistic_aggregates(
        self, store: DuckDBStore, aggregate: str, fn: Callable[[list[Row]], float | None]
    ) -> None:
        """Percentiles and averages are exact per sliding window, not combined from sub-windows."""
        got = series(
            compute(
                store, rule(mode="sliding", window="1m", step="15s", aggregate=aggregate, field="latency_ms")
            )
        )
        assert got == approx(sliding(MINUTE, 15 * S, fn))
        assert len(got) > 12

    def test_unique_and_default_step(self, store: DuckDBStore) -> None:
        """Distinct counts per sliding window; the default step is a tenth of the window."""
        got = series(compute(store, rule(mode="sliding", window="30s", aggregate="unique", field="user")))
        assert got == sliding(30 * S, 3 * S, lambda rows: len({r.user for r in rows}) or None)
        assert max(value for _, value in got) == 6  # 6 records in 30 s, all different users

    def test_group_by(self, store: DuckDBStore) -> None:
        """Grouped sliding series: one point per step and group holding records."""
        points = compute(store, rule(mode="sliding", window="1m", step="30s", group_by="service"))
        for service in ("api", "web"):
            got = [(p.window_start, p.value) for p in points if p.group == service]
            assert got == sliding(MINUTE, 30 * S, count_of(service))
        assert {p.group for p in points} == {"api", "web"}


# --------------------------------------------------------------------------------------------- CLI

CONFIG = """
[[metrics]]
name = "checkout_p95"
query = "route:/api/v1/checkout*"
aggregate = "p95"
field = "latency_ms"
window = "1m"
group_by = "service"

[[metrics]]
name = "requests"
aggregate = "count"
window = "1m"
mode = "sliding"
step = "30s"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "loglens.toml"
    path.write_text(CONFIG)
    return path


def run_metrics(store_path: Path, config: Path, *args: str, check: bool = True) -> Any:
    return LoglensCli.run("metrics", "--store", str(store_path), "--config", str(config), *args, check=check)


class TestCli:
    def test_json(self, store_path: Path, config: Path, store: DuckDBStore) -> None:
        """--json: one object per window and group with the documented keys and the computed values."""
        out = run_metrics(store_path, config, "--json").stdout
        objects = [json.loads(line) for line in out.splitlines()]
        assert all(list(o) == ["metric", "window_start", "group", "value"] for o in objects)
        parsed = parse_config(tomllib.loads(CONFIG)).metrics
        expected = [
            {
                "metric": p.metric,
                "window_start": datetime.fromtimestamp(p.window_start // S, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
                "group": p.group,
                "value": p.value,
            }
            for r in parsed
            for p in compute(store, r)
        ]
        assert objects == expected
        checkout = [o for o in objects if o["metric"] == "checkout_p95"]
        assert checkout[0]["window_start"] == "2026-11-21T10:00:00.000Z" and checkout[0]["group"] == "api"
        values = latencies([r for r in ROWS[:12] if r.route == "/api/v1/checkout" and r.service == "api"])
        assert checkout[0]["value"] == pytest.approx(percentile(0.95)(values))
        assert {o["group"] for o in objects if o["metric"] == "requests"} == {None}

    def test_text_named_and_time_range(self, store_path: Path, config: Path) -> None:
        """A NAME picks one metric; the text shows its definition, rows and summary; --until applies."""
        out = run_metrics(store_path, config, "requests", "--until", "2026-11-21T10:01:00Z").stdout
        lines = out.splitlines()
        assert lines[0] == "requests: count over a sliding 1m window every 30s"
        rows = [line.split() for line in lines[2:-1]]
        # Records 0..11 (10:00:00-10:00:55); points 10:00:00, :30, 10:01:00 hold 1, 7 and 11 of them.
        assert rows == [
            ["2026-11-21T09:59:00.000Z", "1"],
            ["2026-11-21T09:59:30.000Z", "7"],
            ["2026-11-21T10:00:00.000Z", "11"],
        ]
        assert lines[-1].split() == [
            *("latest", "11", "(2026-11-21T10:00:00.000Z)", "min", "1", "median", "7", "max", "11"),
            *("over", "3", "windows"),
        ]
        assert "checkout_p95" not in out

    def test_unknown_name(self, store_path: Path, config: Path) -> None:
        """An unknown NAME fails with the known names."""
        result = run_metrics(store_path, config, "nope", check=False)
        assert result.returncode == 1
        assert "no metric named 'nope'" in result.stderr and "checkout_p95, requests" in result.stderr

    def test_no_metrics(self, store_path: Path, tmp_path: Path) -> None:
        """A config without [[metrics]] says how to add one and where the docs are."""
        empty = tmp_path / "empty.toml"
        empty.write_text("[store]\n")
        result = run_metrics(store_path, empty, check=False)
        assert result.returncode == 1
        assert "no [[metrics]] defined in" in result.stderr and "docs/cli.md" in result.stderr
