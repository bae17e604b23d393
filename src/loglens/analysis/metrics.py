"""Declarative metrics: `[[metrics]]` rules of `loglens.toml` turned into time series over the store.

A rule names an aggregate over a field of the records matching a query, per tumbling or sliding window;
the store computes it in SQL (`Store.metric_series`). Semantics for users: docs/cli.md, `loglens metrics`.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loglens.errors import ConfigError, QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.filters import record_filter
from loglens.query.language import (
    CompiledQuery,
    and_all,
    canonical_field,
    compile_query,
    number_expr,
    value_expr,
)
from loglens.query.timerange import format_duration, parse_duration
from loglens.store.base import SeriesQuery, Store

if TYPE_CHECKING:
    from loglens.config import Config

AGGREGATES = ("count", "rate", "avg", "sum", "min", "max", "pN", "unique")
"""The aggregates a rule may name; `pN` is a percentile such as p50, p95, p99 or p99.9."""
MODES = ("tumbling", "sliding")
KEYS = ("name", "query", "aggregate", "field", "window", "mode", "step", "group_by")
DEFAULT_AGGREGATE = "count"
DEFAULT_WINDOW = "1m"
STEP_DIVISOR = 10
"""A sliding rule without `step` moves by a tenth of its window."""
MAX_STEPS_PER_WINDOW = 10_000
"""Each record is aggregated once per step point its window covers: a bound on that work."""
_NS_PER_MS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAME = re.compile(r"[a-z0-9_]+")
_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class MetricRule:
    """A `[[metrics]]` entry, checked: what to aggregate over which records, per which windows.

    `field` and `group_by` are canonical names (a column, else a `fields` key); `step_ns` is None for
    tumbling windows; `quantile` (0..1] is set for percentile aggregates only.
    """

    name: str
    aggregate: str = DEFAULT_AGGREGATE
    query: str = ""
    field: str | None = None
    window_ns: int = 60 * 10**9
    step_ns: int | None = None
    group_by: str | None = None
    quantile: float | None = None

    @property
    def mode(self) -> str:
        """`tumbling` or `sliding`."""
        return "tumbling" if self.step_ns is None else "sliding"

    def describe(self) -> str:
        """The rule in one line, as a header above its series."""
        what = self.aggregate if self.field is None else f"{self.aggregate}({self.field})"
        if self.aggregate == "rate":
            what = "rate (records/s)"
        parts = [what]
        if self.query:
            parts.append(f"where {self.query}")
        if self.step_ns is None:
            parts.append(f"per {format_duration(self.window_ns)} tumbling window")
        else:
            window, step = format_duration(self.window_ns), format_duration(self.step_ns)
            parts.append(f"over a sliding {window} window every {step}")
        if self.group_by:
            parts.append(f"by {self.group_by}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One value of a metric: the window's start (ns, UTC), its group (None when ungrouped)."""

    metric: str
    window_start: int
    group: str | None
    value: float

    def to_json(self) -> dict[str, object]:
        """The `loglens metrics --json` object (a contract: keys are stable)."""
        return {
            "metric": self.metric,
            "window_start": to_iso_ms(self.window_start),
            "group": self.group,
            "value": self.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetricPoint:
        """The point `to_json` wrote (windows start on whole milliseconds, so none is lost)."""
        start = datetime.fromisoformat(str(data["window_start"]).replace("Z", "+00:00"))
        start_ns = (start - _EPOCH) // timedelta(microseconds=1) * 1000
        return cls(str(data["metric"]), start_ns, data["group"], float(data["value"]))


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """A group's series at a glance: the latest window's value and the spread of all its values."""

    group: str | None
    latest_start: int
    latest: float
    minimum: float
    median: float
    maximum: float
    windows: int


# ----------------------------------------------------------------------------------------- parsing


def parse_metrics(entries: object, where: str) -> tuple[MetricRule, ...]:
    """The `[[metrics]]` array of a config as rules; names must be unique.

    Raises:
        ConfigError: naming the entry (by its name when it has one) and the key that is wrong.
    """
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: `metrics` must be an array of tables ([[metrics]])")
    rules: list[MetricRule] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        rule = parse_metric(entry, f"{where} [[metrics]] #{i + 1}")
        if rule.name in seen:
            raise ConfigError(f"{where} [[metrics]] #{i + 1}: the name {rule.name!r} is used twice")
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def parse_metric(entry: object, here: str) -> MetricRule:
    """One `[[metrics]]` table as a rule, every key checked (see the module docs for the shape)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{here}: each metric must be a table with at least a `name`")
    name = entry.get("name")
    if name is None:
        raise ConfigError(f"{here}: each metric needs a `name` (letters a-z, digits and '_')")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{here}: `name` must be lower-case letters, digits and '_', got {name!r}")
    here = f"{here} ({name})"
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise ConfigError(f"{here}: unknown key `{unknown[0]}`; a metric takes: {', '.join(KEYS)}")
    text = {key: _string(entry, key, here) for key in KEYS if key in entry}

    aggregate = text.get("aggregate", DEFAULT_AGGREGATE)
    quantile = _quantile(aggregate, here)
    if quantile is None and aggregate not in AGGREGATES:
        raise ConfigError(f"{here}: `aggregate` {aggregate!r} is not one of {', '.join(AGGREGATES)}")

    query = text.get("query", "")
    try:
        compile_query(query)
    except QueryError as exc:
        raise ConfigError(f"{here}: `query` is not a valid query: {exc}") from None

    field = _field(text.get("field"), aggregate, here)
    group_by = _group(text["group_by"], here) if "group_by" in text else None

    window_ns = _duration(text.get("window", DEFAULT_WINDOW), "window", here)
    mode = text.get("mode", "tumbling")
    if mode not in MODES:
        raise ConfigError(f"{here}: `mode` must be one of {', '.join(MODES)}, got {mode!r}")
    step_ns: int | None = None
    if mode == "sliding":
        step_ns = _sliding_step(text.get("step"), window_ns, here)
    elif "step" in text:
        raise ConfigError(
            f'{here}: `step` applies only to mode = "sliding" (tumbling windows do not overlap)'
        )
    return MetricRule(name, aggregate, query, field, window_ns, step_ns, group_by, quantile)


def _string(entry: dict[str, Any], key: str, here: str) -> str:
    value = entry[key]
    if not isinstance(value, str):
        raise ConfigError(f"{here}: `{key}` must be a string, got {value!r}")
    return value.strip()


def _quantile(aggregate: str, here: str) -> float | None:
    match = _PERCENTILE.fullmatch(aggregate)
    if match is None:
        return None
    percent = float(match.group(1))
    if not 0 < percent <= 100:
        raise ConfigError(f"{here}: `aggregate` {aggregate!r}: a percentile is p followed by 0 < N ≤ 100")
    return percent / 100


def _field(raw: str | None, aggregate: str, here: str) -> str | None:
    if aggregate in ("count", "rate"):
        if raw is not None:
            raise ConfigError(
                f"{here}: `field` does not apply to {aggregate}, which counts records; to count "
                f'those that have the field, use query = "has:{raw}"'
            )
        return None
    if not raw:
        raise ConfigError(f"{here}: aggregate {aggregate!r} needs a `field` (a parsed field or a column)")
    field = canonical_field(raw)
    try:
        if aggregate == "unique":
            value_expr(field, [])
        else:
            number_expr(field, [])
    except QueryError as exc:
        raise ConfigError(f"{here}: `field`: {exc}") from None
    return field


def _group(raw: str, here: str) -> str:
    field = canonical_field(raw)
    try:
        value_expr(field, [])
    except QueryError as exc:
        raise ConfigError(f"{here}: `group_by`: {exc}") from None
    return field


def _duration(text: str, key: str, here: str) -> int:
    try:
        ns = parse_duration(text)
    except QueryError as exc:
        raise ConfigError(f"{here}: `{key}`: {exc}") from None
    if ns < _NS_PER_MS or ns % _NS_PER_MS:
        raise ConfigError(f"{here}: `{key}` must be a whole number of milliseconds, at least 1 ms")
    return ns


def _sliding_step(text: str | None, window_ns: int, here: str) -> int:
    if text is None:
        return max(_NS_PER_MS, window_ns // STEP_DIVISOR // _NS_PER_MS * _NS_PER_MS)
    step_ns = _duration(text, "step", here)
    if step_ns > window_ns:
        raise ConfigError(
            f"{here}: `step` must not be longer than `window` (records between windows would be lost)"
        )
    if window_ns // step_ns > MAX_STEPS_PER_WINDOW:
        raise ConfigError(
            f"{here}: `step` is too small for the window: at most {MAX_STEPS_PER_WINDOW:,} steps per window"
        )
    return step_ns


def select(rules: Sequence[MetricRule], names: Iterable[str], config_file: Path | None) -> list[MetricRule]:
    """The rules named (all when none are), in the order asked; an unknown name lists the known ones.

    Raises:
        ConfigError: when the config defines no metric at all, or a name is not among them.
    """
    if not rules:
        where = str(config_file) if config_file else "the config (no loglens.toml was found)"
        raise ConfigError(
            f"no [[metrics]] defined in {where}: add one as in loglens.toml.example "
            "(semantics in docs/cli.md, `loglens metrics`)"
        )
    wanted = list(names)
    if not wanted:
        return list(rules)
    by_name = {rule.name: rule for rule in rules}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none"
        raise ConfigError(f"no metric named {unknown[0]!r} in the config; known metrics: {known}")
    return [by_name[name] for name in dict.fromkeys(wanted)]


# ------------------------------------------------------------------------------------- computation


def series_query(rule: MetricRule, extra: CompiledQuery | None = None) -> SeriesQuery:
    """The store request for `rule`, over its query and `extra` (such as --since/--until) together.

    Numbers are read as the query language reads them (a JSON number or numeric string); `rate` is
    asked as a count and divided later; grouping values are text, so `pid` groups read like fields.
    """
    where = and_all([compile_query(rule.query), *([extra] if extra else [])])
    value_params: list[object] = []
    value = "1"
    aggregate = "count" if rule.aggregate in ("count", "rate") else rule.aggregate
    if rule.field is not None:
        if rule.aggregate == "unique":
            value = value_expr(rule.field, value_params)
        else:
            value = number_expr(rule.field, value_params)
            if rule.quantile is not None:
                aggregate = "quantile"
    group_params: list[object] = []
    group = "NULL"
    if rule.group_by is not None:
        group = f"CAST({value_expr(rule.group_by, group_params)} AS VARCHAR)"
    return SeriesQuery(
        where=where.where,
        params=tuple(where.params),
        aggregate=aggregate,
        window_ns=rule.window_ns,
        step_ns=rule.step_ns,
        value=value,
        value_params=tuple(value_params),
        group=group,
        group_params=tuple(group_params),
        quantile=rule.quantile,
    )


def to_points(rule: MetricRule, rows: Iterable[tuple[int, str | None, float]]) -> list[MetricPoint]:
    """A store's rows as points of `rule`; a rate is the window's count per second of the window."""
    seconds = rule.window_ns / 10**9
    rate = rule.aggregate == "rate"
    return [
        MetricPoint(rule.name, start, group, value / seconds if rate else value)
        for start, group, value in rows
    ]


def compute(store: Store, rule: MetricRule, extra: CompiledQuery | None = None) -> list[MetricPoint]:
    """The series of `rule` over the records in `store` (and `extra`), oldest window first."""
    return to_points(rule, store.metric_series(series_query(rule, extra)))


def summarise(points: Sequence[MetricPoint]) -> list[SeriesSummary]:
    """Per group, in order of first appearance: the latest value and min / median / max of the series."""
    groups: dict[str | None, list[MetricPoint]] = {}
    for point in points:
        groups.setdefault(point.group, []).append(point)
    summaries = []
    for group, series in groups.items():
        values = [p.value for p in series]
        latest = max(series, key=lambda p: p.window_start)
        summaries.append(
            SeriesSummary(
                group,
                latest.window_start,
                latest.value,
                min(values),
                statistics.median(values),
                max(values),
                len(series),
            )
        )
    return summaries


def format_value(value: float) -> str:
    """A value for people: whole numbers without decimals, others to 4 places (tiny ones as 3 digits)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    if value != 0 and abs(value) < 0.001:
        return f"{value:.3g}"
    return f"{value:.4f}".rstrip("0").rstrip(".")


def series_json(rule: MetricRule, points: Sequence[MetricPoint]) -> dict[str, Any]:
    """One rule's series as `GET /api/metrics/series` answers it: the rule's name, its one-line
    description and `group_by` (what the text output shows), and its points as `--json` prints them."""
    return {
        "rule": rule.name,
        "description": rule.describe(),
        "group_by": rule.group_by,
        "points": [p.to_json() for p in points],
    }


def metrics_view(
    store: Store, config: Config, names: Iterable[str], since: str | None, until: str | None
) -> list[dict[str, Any]]:
    """`loglens metrics` and `GET /api/metrics/series`: the series of the config's rules named (all
    when none are) over the stored records in the range, in the order asked.

    Raises:
        ConfigError: when the config has no metric, or a name is not one of them (`select`).
    """
    rules = select(config.metrics, names, config.source_file)
    extra = record_filter(config.timezone, since=since, until=until)
    return [series_json(rule, compute(store, rule, extra)) for rule in rules]


def format_series(rule: MetricRule, points: Sequence[MetricPoint]) -> str:
    """`loglens metrics` text for one rule: its definition, a row per window, then each group's summary."""
    return render_series(series_json(rule, points))


def render_series(series: dict[str, Any]) -> str:
    """`format_series` from the object `series_json` makes (so the daemon's answer prints the same)."""
    lines = [f"{series['rule']}: {series['description']}"]
    points = [MetricPoint.from_json(p) for p in series["points"]]
    if not points:
        lines.append("  no matching records in this time range")
        return "\n".join(lines) + "\n"
    group_by: str | None = series["group_by"]
    grouped = group_by is not None
    groups = [_group_text(p.group) for p in points]
    values = [format_value(p.value) for p in points]
    group_width = max(len(group_by or ""), *map(len, groups)) if grouped else 0
    value_width = max(len("value"), *map(len, values))
    middle = f"  {group_by:<{group_width}}" if grouped else ""
    lines.append(f"  {'window start':<24}{middle}  {'value':>{value_width}}")
    for point, group, value in zip(points, groups, values, strict=True):
        middle = f"  {group:<{group_width}}" if grouped else ""
        lines.append(f"  {to_iso_ms(point.window_start)}{middle}  {value:>{value_width}}")
    for summary in summarise(points):
        label = f"{_group_text(summary.group)}: " if grouped else ""
        lines.append(
            f"  {label}latest {format_value(summary.latest)} ({to_iso_ms(summary.latest_start)})"
            f"  min {format_value(summary.minimum)}  median {format_value(summary.median)}"
            f"  max {format_value(summary.maximum)}  over {summary.windows} window"
            f"{'s' if summary.windows != 1 else ''}"
        )
    return "\n".join(lines) + "\n"


def _group_text(group: str | None) -> str:
    return "(none)" if group is None else group
