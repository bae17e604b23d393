"""A report as one self-contained HTML file: inline CSS and SVG, no script, nothing fetched — it opens
offline, mails as an attachment, prints, and follows the reader's dark mode.

Pure: `render_html(report)` from what `gather.gather_report` read. Every string from the logs goes in
through `markup.element` as text, so a line holding `<script>` shows as those characters and runs
nothing; the document's own Content-Security-Policy forbids scripts and fetches besides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loglens.formats.timestamp import to_iso_ms
from loglens.query.timerange import format_duration
from loglens.record import Level
from loglens.report.charts import STACK_ORDER, level_class, sparkline, volume_chart
from loglens.report.gather import MAX_EXPLAINED, Report, ServiceRow
from loglens.report.markup import Child, Markup, element, join, void
from loglens.store.base import StoredRecord

MAX_MESSAGE_CHARS = 4000
"""Characters of one listed line shown; a longer one is cut with `…` (json and csv keep it whole)."""
MAX_EVIDENCE_SHOWN = 8
SEVERITIES = ("critical", "warning", "info")
_UNUSUAL = re.compile(r"[^A-Za-z0-9_-]")
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
"""What the file allows itself: inline styles, nothing else — no script, no fetch, no form."""

LIGHT = {
    "bg": "#ffffff",
    "fg": "#1f2328",
    "muted": "#656d76",
    "border": "#d0d7de",
    "card": "#f6f8fa",
    "fatal": "#7f1d1d",
    "critical": "#b91c1c",
    "error": "#e5484d",
    "warning": "#d97706",
    "notice": "#2563eb",
    "info": "#4a90e2",
    "debug": "#9ca3af",
    "trace": "#c4c9d0",
    "good": "#1a7f37",
    "fair": "#9a6700",
    "poor": "#cf222e",
    "spark": "#4a90e2",
}
DARK = LIGHT | {
    "bg": "#0d1117",
    "fg": "#e6edf3",
    "muted": "#8b949e",
    "border": "#30363d",
    "card": "#161b22",
    "fatal": "#fca5a5",
    "critical": "#f87171",
    "error": "#ff6b6b",
    "warning": "#ffa500",
    "notice": "#60a5fa",
    "info": "#4a90e2",
    "debug": "#8b949e",
    "trace": "#6e7681",
    "good": "#3fb950",
    "fair": "#d29922",
    "poor": "#f85149",
    "spark": "#58a6ff",
}


def _palette(colours: Mapping[str, str]) -> str:
    return ":root{" + "".join(f"--{name}:{value};" for name, value in colours.items()) + "}"


CSS = Markup(
    _palette(LIGHT)
    + "@media (prefers-color-scheme: dark){"
    + _palette(DARK)
    + "}"
    + "@media print{"
    + _palette(LIGHT)
    + "body{font-size:9pt;margin:0}section{break-inside:auto}"
    "article,tr,.chart{break-inside:avoid}thead{display:table-header-group}}"
    """
*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}
html{color-scheme:light dark}
body{margin:2rem auto;max-width:72rem;padding:0 1rem;background:var(--bg);color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;
 border-bottom:1px solid var(--border);padding-bottom:.25rem}h3{font-size:1rem;margin:0 0 .4rem}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.muted,.generated,.empty{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.75rem 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.totals{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0}
.total{background:var(--card);border:1px solid var(--border);border-radius:6px;padding:.4rem .8rem}
.total b{display:block;font-size:1.25rem}
table{border-collapse:collapse;width:100%;margin:.25rem 0}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid var(--border)}
th{color:var(--muted);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{width:100%;height:auto;display:block}
svg.spark{width:120px;height:24px;display:block}
.grid{stroke:var(--border);stroke-width:1}.axis{fill:var(--muted);font-size:11px}
.spark-line{fill:none;stroke:var(--spark);stroke-width:1.5}.spark-area{fill:var(--spark);opacity:.18}
.legend span{margin-right:1rem;white-space:nowrap}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:currentColor;
 margin-right:.3em;vertical-align:-.05em}
.l-fatal{fill:var(--fatal);color:var(--fatal)}.l-critical{fill:var(--critical);color:var(--critical)}
.l-error{fill:var(--error);color:var(--error)}.l-warning{fill:var(--warning);color:var(--warning)}
.l-notice{fill:var(--notice);color:var(--notice)}.l-info{fill:var(--info);color:var(--info)}
.l-debug{fill:var(--debug);color:var(--debug)}.l-trace{fill:var(--trace);color:var(--trace)}
td.lvl{font-weight:600;text-transform:uppercase;font-size:.85em;white-space:nowrap}
td.when{white-space:nowrap}
.health-good{color:var(--good);font-weight:600}.health-fair{color:var(--fair);font-weight:600}
.health-poor{color:var(--poor);font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 .4em;font-size:.8em;font-weight:600;
 text-transform:uppercase;border:1px solid currentColor}
.sev-critical{color:var(--critical)}.sev-warning{color:var(--warning)}.sev-info{color:var(--info)}
article.incident{border:1px solid var(--border);border-left:4px solid var(--warning);border-radius:6px;
 padding:.75rem 1rem;margin:.75rem 0;background:var(--card)}
article.incident.sev-critical{border-left-color:var(--critical)}
article.incident dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0}
article.incident dt{color:var(--muted)}article.incident dd{margin:0}
article.incident ol{margin:.25rem 0;padding-left:1.5rem}
footer{margin:2rem 0 1rem;color:var(--muted);font-size:.85em}
"""
)


# -- small pieces -----------------------------------------------------------------------------------


def _when(ns: int | None) -> str:
    return "—" if ns is None else to_iso_ms(ns).replace("T", " ").removesuffix("Z")


def _iso(text: str | None) -> str:
    return "—" if not text else text.replace("T", " ").removesuffix("Z")


def _num(value: int) -> Markup:
    return element("td", f"{value:,}", class_="num")


def _table(headers: Sequence[str], rows: Iterable[Child], numeric: Iterable[str] = ()) -> Markup:
    """A table whose `numeric` columns' headers align right, as their cells do (`_num`)."""
    right = set(numeric)
    cells = [element("th", h, class_="num" if h in right else None) for h in headers]
    return element("table", element("thead", element("tr", cells)), element("tbody", rows))


def _severity_class(severity: object) -> str:
    return f"sev-{severity}" if severity in SEVERITIES else "sev-other"


def _anchor(incident_id: str) -> str:
    """An incident's element id, for links into the file: its id with anything unusual made `-`."""
    return "incident-" + _UNUSUAL.sub("-", incident_id)


def _level_cell(level: str) -> Markup:
    return element("td", level, class_=f"lvl {level_class(level)}")


def _first_line(text: str, width: int = 200) -> str:
    line = text.split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 1] + "…"


def _health_class(health: int) -> str:
    return "health-good" if health >= 80 else "health-fair" if health >= 50 else "health-poor"


# -- sections ---------------------------------------------------------------------------------------


def _header(report: Report) -> Markup:
    ask = report.ask
    asked = f"{ask.since or 'the start'} → {ask.until or 'now'}"
    facts: list[Child] = [
        element("dt", "Range asked"),
        element("dd", asked),
        element("dt", "Lines found"),
        element("dd", f"{_when(report.first_ns)} → {_when(report.last_ns)} UTC" if report.total else "none"),
        element("dt", "Query"),
        element("dd", element("code", ask.query) if ask.query.strip() else "every line"),
    ]
    if ask.level:
        facts += [element("dt", "Level"), element("dd", element("code", ask.level))]
    if ask.services:
        facts += [element("dt", "Services"), element("dd", ", ".join(ask.services))]
    errors = sum(n for level, n in report.levels.items() if Level.from_label(level) >= Level.ERROR)
    warnings = report.levels.get("warning", 0)
    totals = [
        ("lines", report.total),
        ("errors", errors),
        ("warnings", warnings),
        ("services", len(report.services)),
        ("patterns", report.pattern_count),
        ("incidents", len(report.incidents)),
        ("alerts", len(report.alerts)),
    ]
    return element(
        "header",
        element("h1", "loglens report"),
        element("dl", facts, class_="facts"),
        element(
            "div",
            [element("div", element("b", f"{n:,}"), name, class_="total") for name, n in totals],
            class_="totals",
        ),
        element(
            "p",
            f"Made by loglens export on {_when(report.generated_ns)} UTC; all times are UTC.",
            class_="generated",
        ),
    )


def _volume(report: Report) -> Markup:
    present = [level for level in STACK_ORDER if report.levels.get(level)]
    legend = [
        element(
            "span",
            element("span", class_=f"swatch {level_class(level)}"),
            f"{level} {report.levels[level]:,}",
        )
        for level in present
    ]
    caption = (
        f"One bar per {format_duration(report.bucket_ns)}, {len(report.bucket_starts)} bars; "
        "the most severe levels at the bottom of each bar."
    )
    return element(
        "section",
        element("h2", "Volume by level"),
        volume_chart(report.bucket_starts, report.volume, report.bucket_ns),
        element("p", legend, class_="legend") if present else None,
        element("p", caption, class_="muted") if report.bucket_starts else None,
        id="volume",
    )


def _service_row(row: ServiceRow) -> Markup:
    summary = row.summary
    health = (
        element("td", summary.health, class_=f"num {_health_class(summary.health)}")
        if summary
        else element("td", "—", class_="num")
    )
    last = summary.last_error if summary else None
    return element(
        "tr",
        element("td", row.service),
        _num(row.lines),
        _num(row.errors),
        _num(row.warnings),
        health,
        _num(summary.anomalies) if summary else element("td", "—", class_="num"),
        _num(summary.restarts) if summary else element("td", "—", class_="num"),
        element("td", sparkline(row.volume, row.service)),
        element("td", element("span", _when(last[0]), class_="muted mono"), " ", _first_line(last[1], 140))
        if last
        else element("td", "—"),
    )


def _services(report: Report) -> Markup:
    figures = ["Lines", "Errors", "Warnings", "Health", "Anomalies", "Restarts"]
    headers = ["Service", *figures, "Volume", "Last error"]
    note = (
        "Lines, errors (error or worse) and warnings count the matching lines; health (0–100), "
        "anomalies, restarts and the last error are the range's, as `loglens summary` gives them."
    )
    body: Child = (
        _table(headers, [_service_row(r) for r in report.services], figures)
        if report.services
        else element("p", "No service logged a matching line.", class_="empty")
    )
    return element(
        "section", element("h2", "Services"), body, element("p", note, class_="muted"), id="services"
    )


def _patterns(report: Report) -> Markup:
    rows = []
    for n, row in enumerate(report.patterns, 1):
        p = row.pattern
        rows.append(
            element(
                "tr",
                element("td", n, class_="num"),
                _num(p["count"]),
                element("td", f"{p['share'] * 100:.1f}%", class_="num"),
                element("td", p["trend"]),
                _level_cell(p["level"]),
                element("td", p["service"]),
                element(
                    "td",
                    element("code", p["template"]),
                    element("div", _first_line(p["sample"]), class_="muted"),
                ),
                element("td", sparkline(row.volume, p["template_id"])),
            )
        )
    figures = ["#", "Lines", "Share"]
    headers = [*figures, "Trend", "Level", "Service", "Template and an example", "Volume"]
    shown = f"The top {len(report.patterns)} of {report.pattern_count:,} templates behind the matching lines."
    return element(
        "section",
        element("h2", "Top patterns"),
        element("p", shown, class_="muted"),
        _table(headers, rows, figures) if rows else element("p", "No pattern.", class_="empty"),
        id="patterns",
    )


def _signature(sig: Mapping[str, Any] | None) -> list[Child]:
    if sig is None:
        return [element("dt", "Signature"), element("dd", "none of the known failure signatures matched")]
    learned = f", learned from {sig['learned_from']}" if sig.get("learned_from") else ""
    return [
        element("dt", "Signature"),
        element(
            "dd",
            element("b", sig["name"]),
            f" ({sig['id']}, {sig['category']}, {sig['source']}{learned}; score {float(sig['score']):.2f})",
            element("div", sig.get("summary") or ""),
            element("div", sig.get("reading") or "", class_="muted"),
        ),
    ]


def _evidence(lines: Sequence[Mapping[str, Any]]) -> Child:
    if not lines:
        return None
    rows = [
        element(
            "tr",
            element("td", _iso(e["ts"]), class_="when mono"),
            _level_cell(e["level"]),
            element("td", e["service"]),
            element("td", element("pre", _first_line(e["message"], 300))),
        )
        for e in lines[:MAX_EVIDENCE_SHOWN]
    ]
    return [element("dt", "Evidence"), element("dd", _table(["Time", "Level", "Service", "Line"], rows))]


def _incident(found: Mapping[str, Any]) -> Markup:
    cause = found["root_cause"]
    explained = found.get("explanation")
    first_sign = (explained or {}).get("root_cause", {}).get("first_line") or cause.get("template")
    facts: list[Child] = [
        element("dt", "When"),
        element("dd", f"{_iso(found['start'])} → {_iso(found['end'])}"),
        element("dt", "Services"),
        element("dd", ", ".join(found["services"])),
        element("dt", "Root cause"),
        element(
            "dd",
            element("b", cause.get("service") or "unknown"),
            f" (ranked with confidence {float(cause.get('confidence') or 0):.2f})",
            element("div", element("code", first_sign), " at ", _iso(cause.get("first_event_ts")))
            if first_sign
            else None,
        ),
    ]
    if explained:
        facts += [element("dt", "What happened"), element("dd", explained["what_happened"])]
        facts += [element("dt", "Reading"), element("dd", explained["root_cause"]["reading"])]
        facts += _signature(explained.get("signature"))
        facts += [
            element("dt", "Fix"),
            element("dd", element("ol", [element("li", s) for s in explained["fix"]])),
        ]
        facts += [element("dt", "Confidence"), element("dd", f"{float(explained['confidence']):.2f}")]
        evidence = _evidence(explained.get("evidence") or [])
        if evidence is not None:
            facts.append(evidence)
    else:
        later = (
            f"Only the first {MAX_EXPLAINED} incidents are explained here: `loglens explain {found['id']}`."
        )
        facts += [element("dt", "Explanation"), element("dd", later, class_="muted")]
    severity = found["severity"]
    return element(
        "article",
        element(
            "h3", element("span", severity, class_=f"badge {_severity_class(severity)}"), " ", found["id"]
        ),
        element("dl", facts),
        class_=f"incident {_severity_class(severity)}",
        id=_anchor(str(found["id"])),
    )


def _incidents(report: Report) -> Markup:
    body: Child = (
        [_incident(found) for found in report.incidents]
        if report.incidents
        else element("p", "No incident in this range.", class_="empty")
    )
    note = "Found by the detectors over the range (docs/analysis.md), explained offline (docs/explain.md)."
    return element(
        "section", element("h2", "Incidents"), element("p", note, class_="muted"), body, id="incidents"
    )


def _alerts(report: Report) -> Markup:
    rows = [
        element(
            "tr",
            element("td", _iso(a.get("first_ts")), class_="when mono"),
            element(
                "td",
                element(
                    "span", a.get("severity") or "", class_=f"badge {_severity_class(a.get('severity'))}"
                ),
            ),
            element("td", a.get("state") or ""),
            element("td", a.get("rule") or ""),
            element("td", a.get("title") or ""),
            _num(int(a.get("count") or 0)),
            element("td", _iso(a.get("last_ts")), class_="when mono"),
        )
        for a in report.alerts
    ]
    headers = ["First", "Severity", "State", "Rule", "Title", "Count", "Last"]
    return element(
        "section",
        element("h2", "Alerts"),
        _table(headers, rows, ["Count"]) if rows else element("p", "No alert in this range.", class_="empty"),
        id="alerts",
    )


def _line(record: StoredRecord) -> Markup:
    message = record.message
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return element(
        "tr",
        element("td", _when(record.ts), class_="when mono"),
        _level_cell(record.level),
        element("td", record.service),
        element("td", element("pre", message)),
    )


def _lines(report: Report) -> Markup:
    shown = len(report.lines)
    if not report.total:
        note = "No line matches."
    elif shown == report.total:
        note = f"All {shown:,} matching lines, oldest first."
    else:
        note = (
            f"The first {shown:,} of {report.total:,} matching lines, oldest first; "
            "`loglens export --format json` has them all."
        )
    return element(
        "section",
        element("h2", "Lines"),
        element("p", note, class_="muted"),
        _table(["Time", "Level", "Service", "Message"], [_line(r) for r in report.lines]) if shown else None,
        id="lines",
    )


def render_html(report: Report) -> str:
    """The whole document: header with the range, query and totals; volume by level; services;
    top patterns; incidents with their explanation; alerts; the first lines."""
    ask = report.ask
    title = "loglens report" + (f" — {ask.query.strip()}" if ask.query.strip() else "")
    head = element(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=CSP),
        void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        void("meta", name="color-scheme", content="light dark"),
        void("meta", name="generator", content="loglens export"),
        element("title", title),
        element("style", CSS),
    )
    body = element(
        "body",
        _header(report),
        _volume(report),
        _services(report),
        _patterns(report),
        _incidents(report),
        _alerts(report),
        _lines(report),
        element("footer", "loglens export --format html · docs/export.md"),
    )
    return "<!doctype html>\n" + join([element("html", head, body, lang="en")]) + "\n"
