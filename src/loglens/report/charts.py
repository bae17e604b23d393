"""The report's charts as inline SVG: lines per time bucket stacked by level, and sparklines. Pure
functions of counts; colours come from the document's CSS classes, so dark mode and print restyle them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loglens.formats.timestamp import to_iso_ms
from loglens.record import Level
from loglens.report.markup import Markup, element

CHART_WIDTH = 960
CHART_HEIGHT = 200
AXIS_LEFT = 56
AXIS_BOTTOM = 22
AXIS_TOP = 8
X_LABELS = 6
SPARK_WIDTH = 120
SPARK_HEIGHT = 24
DAY_NS = 86_400 * 10**9
MINUTE_NS = 60 * 10**9

STACK_ORDER: tuple[str, ...] = tuple(level.label for level in sorted(Level, reverse=True))
"""Levels from the bottom of a bar up: the most severe sit on the baseline, where the eye finds them."""


def level_class(level: str) -> str:
    """The CSS class colouring a level. Log data never goes into an attribute: a level loglens does
    not know is `l-other`."""
    return f"l-{level}" if level in STACK_ORDER else "l-other"


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (≥ 1): an axis top that reads as a round number."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def time_label(start_ns: int, bucket_ns: int, span_ns: int) -> str:
    """A bucket's start as short as the chart allows: the date for day buckets, the date and minute
    when the chart spans days, else the minute (the second for buckets under a minute); UTC."""
    iso = to_iso_ms(start_ns)
    if bucket_ns >= DAY_NS:
        return iso[:10]
    if span_ns > DAY_NS:
        return f"{iso[5:10]} {iso[11:16]}"
    return iso[11:19] if bucket_ns < MINUTE_NS else iso[11:16]


def _bar(x: float, width: float, baseline: float, scale: float, counts: Mapping[str, int]) -> list[Markup]:
    rects = []
    y = baseline
    ordered = [*STACK_ORDER, *sorted(set(counts) - set(STACK_ORDER))]
    for level in ordered:
        count = counts.get(level, 0)
        if count <= 0:
            continue
        height = count * scale
        y -= height
        rects.append(
            element("rect", x=_n(x), y=_n(y), width=_n(width), height=_n(height), class_=level_class(level))
        )
    return rects


def _bar_title(start_ns: int, counts: Mapping[str, int]) -> str:
    levels = ", ".join(f"{level} {counts[level]:,}" for level in STACK_ORDER if counts.get(level))
    return f"{to_iso_ms(start_ns)} · {sum(counts.values()):,} lines" + (f" ({levels})" if levels else "")


def volume_chart(starts: Sequence[int], counts: Sequence[Mapping[str, int]], bucket_ns: int) -> Markup:
    """Lines per bucket stacked by level (`starts[i]` holds `counts[i]`: level → lines), with a y axis
    of round numbers, a few time labels, and each bar's figures as its tooltip (`<title>`)."""
    if not starts:
        return element("p", "No line matches.", class_="empty")
    top = nice_ceiling(max(1, *(sum(c.values()) for c in counts)))
    plot_width = CHART_WIDTH - AXIS_LEFT
    plot_height = CHART_HEIGHT - AXIS_BOTTOM - AXIS_TOP
    baseline = AXIS_TOP + plot_height
    step = plot_width / len(starts)
    scale = plot_height / top
    bars = [
        element("g", element("title", _bar_title(start, c)),
                _bar(AXIS_LEFT + i * step, max(step * 0.85, 0.5), baseline, scale, c))
        for i, (start, c) in enumerate(zip(starts, counts, strict=True))
    ]  # fmt: skip
    grid = []
    for value in sorted({0, top // 2, top}):
        y = baseline - value * scale
        grid.append(element("line", x1=AXIS_LEFT, x2=CHART_WIDTH, y1=_n(y), y2=_n(y), class_="grid"))
        grid.append(
            element("text", f"{value:,}", x=AXIS_LEFT - 6, y=_n(y + 4), class_="axis", text_anchor="end")
        )
    span = starts[-1] - starts[0] + bucket_ns
    every = max(1, -(-len(starts) // X_LABELS))
    labels = [
        element("text", time_label(starts[i], bucket_ns, span), x=_n(AXIS_LEFT + i * step),
                y=CHART_HEIGHT - 6, class_="axis")
        for i in range(0, len(starts), every)
    ]  # fmt: skip
    return element(
        "svg", grid, bars, labels,
        viewBox=f"0 0 {CHART_WIDTH} {CHART_HEIGHT}", class_="chart", role="img",
        aria_label=f"Lines per {_n(bucket_ns / 1e9)} s by level, {len(starts)} bars",
    )  # fmt: skip


def sparkline(values: Sequence[int], label: str = "") -> Markup:
    """A small line of `values` over time (an area under a line), scaled to its own peak; its tooltip
    says `label`, the total and the peak."""
    peak = max(values, default=0)
    title = element(
        "title", f"{label + ': ' if label else ''}{sum(values):,} in all, at most {peak:,} per bar"
    )
    if len(values) < 2 or peak <= 0:
        flat = SPARK_HEIGHT - 1
        return element(
            "svg", title, element("line", x1=0, x2=SPARK_WIDTH, y1=flat, y2=flat, class_="spark-line"),
            viewBox=f"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}", class_="spark", role="img",
        )  # fmt: skip
    step = SPARK_WIDTH / (len(values) - 1)
    usable = SPARK_HEIGHT - 2
    points = [(i * step, SPARK_HEIGHT - 1 - v / peak * usable) for i, v in enumerate(values)]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    area = f"0,{SPARK_HEIGHT} {line} {SPARK_WIDTH},{SPARK_HEIGHT}"
    return element(
        "svg", title,
        element("polygon", points=area, class_="spark-area"),
        element("polyline", points=line, class_="spark-line"),
        viewBox=f"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}", class_="spark", role="img",
        preserveAspectRatio="none",
    )  # fmt: skip
