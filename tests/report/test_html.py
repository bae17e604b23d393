"""Tests for loglens.report: the markup builder escapes what it is given, the charts draw the counts
they get, and the HTML report of a real store — the shared generator's corpus ingested by the real
`loglens ingest` — names its incidents, signatures and services, keeps hostile log text inert, and
fetches nothing from elsewhere."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import run_loglens
from loglens.ai.incident_report import incident_report
from loglens.ai.signatures import builtin_signatures
from loglens.analysis.findings import replay_range
from loglens.analysis.summary import summary_view
from loglens.config import Config
from loglens.formats.timestamp import from_iso_ms
from loglens.report import Report, ReportQuery, gather_report, render_html
from loglens.report.charts import nice_ceiling, sparkline, time_label, volume_chart
from loglens.report.gather import bucket_for, bucket_starts, series
from loglens.report.markup import Markup, element, escape
from loglens.store.base import WINDOW_ORIGIN_NS
from loglens.store.duckdb import DuckDBStore

ACTIVE_TAGS = {"script", "img", "iframe", "object", "embed", "link", "base", "form", "input", "audio",
               "video", "source", "frame", "meta-refresh"}  # fmt: skip
"""Elements that run code or fetch something: the report has none, whatever the logs hold."""
SIGNATURES = ("brute-force-login", "deadlock", "oom-kill", "log-storm")
"""The signatures of the corpus's four injected failures (tests/ai/test_explain.py)."""
HOSTILE = (
    "<script>alert('msg')</script>",
    '"><img src=x onerror=alert(1)>',
    "</style><script>alert('style')</script>",
    '<svg onload=alert(2)><a href="javascript:alert(3)">x</a>',
)


class Parsed(HTMLParser):
    """A document as the standard library's parser reads it: every start tag with its attributes,
    the text, and the text of `<style>` elements apart."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        (self.styles if self._open and self._open[-1] == "style" else self.text).append(data)

    @property
    def data(self) -> str:
        return "".join(self.text)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def assert_inert_and_self_contained(doc: Parsed) -> None:
    """No element that runs or fetches, no event handler, no URL in any attribute or style."""
    assert not {tag for tag, _ in doc.tags} & ACTIVE_TAGS
    for tag, attrs in doc.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "://" not in (value or "") and "javascript:" not in (value or "").lower(), (tag, name)
            assert name not in ("src", "href", "srcset", "xlink:href", "action", "poster", "data")
    style = "".join(doc.styles)
    assert "url(" not in style and "@import" not in style and "://" not in style


class TestMarkup:
    def test_text_and_attribute_values_are_escaped(self) -> None:
        """Hostile text as a child and as an attribute value comes out as the same characters, no tag."""
        made = element("td", HOSTILE[0], title=HOSTILE[1])
        doc = Parsed(made)
        assert [tag for tag, _ in doc.tags] == ["td"]
        assert doc.data == HOSTILE[0] and doc.tags[0][1]["title"] == HOSTILE[1]

    def test_markup_passes_through_once(self) -> None:
        """Markup made by the builder is nested as it is, never escaped twice."""
        assert element("b", element("i", "a<b")) == "<b><i>a&lt;b</i></b>"
        assert escape(Markup("<i>")) == "<i>" and escape("<i>") == "&lt;i&gt;"

    def test_attribute_names_and_missing_values(self) -> None:
        """`class_` is `class`, `_` is `-`, None and False attributes are left out, True is bare."""
        made = element("td", "x", class_="num", aria_label="n", hidden=True, title=None, open=False)
        assert made == '<td class="num" aria-label="n" hidden>x</td>'

    def test_children_nest_and_skip_none(self) -> None:
        """Lists are flattened, None skipped, numbers written as text."""
        assert element("p", ["a", None, [1, element("br")]], 2.5) == "<p>a1<br></br>2.5</p>"


class TestCharts:
    def test_nice_ceiling(self) -> None:
        """Axis tops are 1, 2 or 5 times a power of ten, at or above the value."""
        assert [nice_ceiling(v) for v in (0, 1, 3, 7, 11, 999, 1001)] == [1, 1, 5, 10, 20, 1000, 2000]

    def test_volume_chart_stacks_levels_severe_first(self) -> None:
        """One group per bucket, one bar part per level present; errors sit below info on the baseline."""
        minute = 60 * 10**9
        starts = [WINDOW_ORIGIN_NS + i * minute for i in range(3)]
        counts = [{"info": 10, "error": 5}, {}, {"debug": 1}]
        doc = Parsed(volume_chart(starts, counts, minute))
        assert len(doc.named("g")) == 3
        rects = doc.named("rect")
        assert [r["class"] for r in rects] == ["l-error", "l-info", "l-debug"]
        error, info = rects[0], rects[1]
        assert float(error["y"] or 0) > float(info["y"] or 0)  # drawn lower: nearer the baseline
        assert float(error["height"] or 0) == pytest.approx(float(info["height"] or 0) / 2, abs=0.1)
        assert "15 lines (error 5, info 10)" in doc.data

    def test_no_bucket_draws_no_chart(self) -> None:
        """Without a matching line there is a sentence, not an empty chart."""
        assert "<svg" not in volume_chart([], [], 60 * 10**9)

    def test_sparkline_has_a_point_per_value(self) -> None:
        """A polyline through every value, scaled to the peak; a flat line when all are zero."""
        doc = Parsed(sparkline([0, 4, 2, 4], "api"))
        points = (doc.named("polyline")[0]["points"] or "").split()
        assert len(points) == 4 and points[1].endswith(",1")  # the peak at the top (1 px margin)
        assert "api: 10 in all, at most 4 per bar" in doc.data
        assert Parsed(sparkline([0, 0], "x")).named("line")

    def test_time_labels_fit_the_span(self) -> None:
        """Minutes within a day, date and minute across days, seconds in short buckets, dates in day ones."""
        ns = from_iso_ms("2026-11-18T10:26:40Z")
        day = 86_400 * 10**9
        assert time_label(ns, 60 * 10**9, 3600 * 10**9) == "10:26"
        assert time_label(ns, 3600 * 10**9, 3 * day) == "11-18 10:26"
        assert time_label(ns, 10**9, 60 * 10**9) == "10:26:40"
        assert time_label(ns, day, 30 * day) == "2026-11-18"


class TestBuckets:
    def test_bucket_is_the_shortest_that_fits(self) -> None:
        """Six hours make 5-minute bars (72), a minute 1-second bars; never more than 120 bars."""
        hour = 3600 * 10**9
        assert bucket_for(0, 6 * hour) == 300 * 10**9
        assert bucket_for(0, 60 * 10**9) == 10**9
        for span in (1, 10**9, 7 * hour, 400 * 24 * hour, 20 * 365 * 24 * hour):
            step = bucket_for(1000, 1000 + span)
            assert len(bucket_starts(1000, 1000 + span, step)) <= 120

    def test_starts_are_aligned_as_the_store_counts(self) -> None:
        """Buckets start on WINDOW_ORIGIN_NS multiples and cover the first and the last line."""
        step = 300 * 10**9
        first, last = WINDOW_ORIGIN_NS + 7 * step + 5, WINDOW_ORIGIN_NS + 9 * step + 1
        starts = bucket_starts(first, last, step)
        assert starts == tuple(WINDOW_ORIGIN_NS + i * step for i in (7, 8, 9))

    def test_series_fills_empty_buckets(self) -> None:
        """Hits per key become one value per bucket, zero where the store had no row."""
        assert series([(10, "a", 2), (30, "a", 1), (20, "b", 5), (99, "a", 7)], [10, 20, 30]) == {
            "a": (2, 0, 1),
            "b": (0, 5, 0),
        }


def hostile_report() -> Report:
    """A report whose every log-derived string is hostile: services, patterns, incidents, alerts,
    lines and the query itself."""
    from loglens.report.gather import PatternRow, ServiceRow
    from loglens.store.base import StoredRecord

    bad = " | ".join(HOSTILE)
    line = StoredRecord(1, WINDOW_ORIGIN_NS, bad, None, None, "error", bad, bad, bad, None, None, None)
    explanation = {
        "what_happened": bad, "root_cause": {"reading": bad, "first_line": bad},
        "signature": {"id": bad, "name": bad, "category": bad, "source": bad, "score": 0.5,
                      "summary": bad, "reading": bad, "learned_from": bad},
        "fix": [bad, bad], "confidence": 0.9,
        "evidence": [{"ts": "2026-01-01T00:00:00.000Z", "level": "error", "service": bad, "message": bad}],
    }  # fmt: skip
    incident = {
        "id": bad, "severity": bad, "start": bad, "end": bad, "services": [bad],
        "root_cause": {"service": bad, "confidence": 0.5, "template": bad, "first_event_ts": bad},
        "explanation": explanation,
    }  # fmt: skip
    alert = {"first_ts": bad, "last_ts": bad, "severity": bad, "state": bad, "rule": bad, "title": bad,
             "count": 3}  # fmt: skip
    pattern = {"template_id": bad, "template": bad, "service": bad, "count": 1, "share": 1.0,
               "trend": bad, "level": "error", "sample": bad}  # fmt: skip
    return Report(
        ask=ReportQuery(query=bad, level=bad, services=(bad,), since=bad, until=bad),
        generated_ns=WINDOW_ORIGIN_NS, total=1, levels={"error": 1}, first_ns=line.ts, last_ns=line.ts,
        bucket_ns=10**9, bucket_starts=(WINDOW_ORIGIN_NS,), volume=({"error": 1},),
        services=(ServiceRow(bad, 1, 1, 0, None, (1,)),), patterns=(PatternRow(pattern, (1,)),),
        pattern_count=1, incidents=(incident, incident | {"explanation": None}), alerts=(alert,),
        lines=(line,),
    )  # fmt: skip


class TestHostileText:
    def test_every_log_derived_string_is_inert(self) -> None:
        """Hostile text in every section of the report shows as text: no element, handler or URL."""
        doc = Parsed(render_html(hostile_report()))
        assert_inert_and_self_contained(doc)
        for text in HOSTILE:
            assert doc.data.count(text) >= 10  # it is there, as characters, all over the page
        assert {tag for tag, _ in doc.tags} >= {"html", "head", "style", "body", "svg", "table", "article"}

    def test_hostile_lines_in_a_store(self, tmp_path: Path) -> None:
        """Lines with `<script>`, `<img onerror>` and a hostile service name, ingested by the real CLI
        and reported from the store, come out inert; their text is in the report."""
        lines = [
            {"ts": f"2026-11-25T10:00:{i:02d}.000Z", "service": HOSTILE[1] if i % 2 else "web",
             "level": level, "msg": HOSTILE[i % len(HOSTILE)], "note": HOSTILE[0]}
            for i, level in enumerate(["error", "info", "warning", "error", "info", "error"])
        ]  # fmt: skip
        (tmp_path / "bad.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        run_loglens("ingest", "--store", str(tmp_path / "s.duckdb"), str(tmp_path / "bad.jsonl"))
        store = DuckDBStore(tmp_path / "s.duckdb", read_only=True)
        try:
            report = gather_report(store, Config(), ReportQuery(), time.time_ns())
        finally:
            store.close()
        doc = Parsed(render_html(report))
        assert_inert_and_self_contained(doc)
        assert report.total == 6 and all(text in doc.data for text in HOSTILE)
        assert HOSTILE[1] in [row.service for row in report.services]


@pytest.fixture(scope="module")
def corpus_store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    """The session's generated corpus (tests/conftest.py, 30k lines, 4 incidents) ingested by the CLI,
    opened read-only."""
    folder = tmp_path_factory.mktemp("report")
    run_loglens("ingest", "--store", str(folder / "s.duckdb"), str(corpus))
    store = DuckDBStore(folder / "s.duckdb", read_only=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def corpus_report(corpus_store: DuckDBStore) -> tuple[Report, Parsed]:
    report = gather_report(corpus_store, Config(), ReportQuery(), time.time_ns())
    return report, Parsed(render_html(report))


def section_rows(html: str, section: str) -> list[str]:
    """The first cell's text of each body row of a section's table."""
    part = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    rows = part.split("<tbody>", 1)[1].split("<tr")[1:]
    return [Parsed("<tr" + row.split("</td>", 1)[0]).data for row in rows]


class TestCorpusReport:
    def test_incidents_and_their_signatures(self, corpus_store: DuckDBStore, corpus_report: Any) -> None:
        """The four incidents the detectors find are there by id, each with the signature and fix
        `loglens explain` gives it; the corpus's four known signatures are named."""
        report, doc = corpus_report
        ids = [i.id for i in replay_range(corpus_store, Config(), None, None).incidents]
        assert len(ids) == 4 and [i["id"] for i in report.incidents] == ids
        assert {a["id"] for a in doc.named("article")} == {f"incident-{i}" for i in ids}
        names = {s.id: s.name for s in builtin_signatures()}
        assert all(names[s] in doc.data for s in SIGNATURES)
        billing = next(i for i in ids if i.endswith("-billing"))
        explained = incident_report(corpus_store, Config(), billing, 0)["explanation"]
        shown = next(i for i in report.incidents if i["id"] == billing)["explanation"]
        assert shown["signature"]["id"] == explained["signature"]["id"] == "deadlock"
        assert shown["fix"] == explained["fix"] and all(step in doc.data for step in explained["fix"])

    def test_totals_services_and_health(self, corpus_store: DuckDBStore, corpus_report: Any) -> None:
        """Every line is counted; every service is a row, busiest first, with `loglens summary`'s health."""
        report, _ = corpus_report
        assert report.total == corpus_store.count() > 29_000
        summary = summary_view(corpus_store, Config(), (), None, None)
        assert [row.service for row in report.services] == [s["service"] for s in summary]
        assert [r.summary.health for r in report.services if r.summary] == [s["health"] for s in summary]
        html = render_html(report)
        assert section_rows(html, "services") == [s["service"] for s in summary]

    def test_chart_patterns_and_lines(self, corpus_store: DuckDBStore, corpus_report: Any) -> None:
        """A bar per bucket adding up to every line, sparklines for the top patterns, and the first
        200 lines in store order."""
        report, doc = corpus_report
        assert [a for tag, a in doc.tags if tag == "svg" and a.get("class") == "chart"]
        assert len(report.volume) == len(report.bucket_starts) <= 120
        assert sum(sum(c.values()) for c in report.volume) == report.total
        assert len(doc.named("g")) == len(report.bucket_starts)
        assert len(report.patterns) == 15 and all(
            sum(p.volume) == p.pattern["count"] for p in report.patterns
        )
        first = list(corpus_store.search("TRUE", [], 200, oldest=True))
        assert [r.id for r in report.lines] == [r.id for r in first]
        assert len(doc.named("tr")) >= 200 + 15 + len(report.services)

    def test_self_contained_and_inert(self, corpus_report: Any) -> None:
        """No script, no external resource: the file stands alone, with its own CSP forbidding both."""
        _, doc = corpus_report
        assert_inert_and_self_contained(doc)
        csp = [m for m in doc.named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in (csp[0]["content"] or "")

    def test_a_query_narrows_everything_but_the_range_figures(self, corpus_store: DuckDBStore) -> None:
        """With a query and a level, totals, patterns and lines follow them; incidents stay the range's."""
        ask = ReportQuery(query="service:billing", level=">=error", lines=5)
        report = gather_report(corpus_store, Config(), ask, time.time_ns())
        assert {row.service for row in report.services} == {"billing"}
        assert report.total == sum(report.levels.values()) == report.services[0].errors
        assert all(r.service == "billing" and r.level in ("error", "critical", "fatal") for r in report.lines)
        assert len(report.lines) == 5 and len(report.incidents) == 4
        doc = Parsed(render_html(report))
        assert "service:billing" in doc.data and "The first 5 of" in doc.data

    def test_a_query_matching_nothing(self, corpus_store: DuckDBStore) -> None:
        """No matching line: zero totals, a sentence instead of the chart and of the lines' table."""
        ask = ReportQuery(query="service:no-such-service")
        report = gather_report(corpus_store, Config(), ask, time.time_ns())
        assert (report.total, report.bucket_starts, report.services, report.patterns) == (0, (), (), ())
        html = render_html(report)
        doc = Parsed(html)
        assert doc.data.count("No line matches.") == 2 and not doc.named("svg")
        assert "<table" not in html.split('<section id="lines">', 1)[1]

    def test_too_many_lines_is_refused(self) -> None:
        """A report lists at most 10,000 lines; more is a QueryError saying to use json or csv."""
        from loglens.errors import QueryError

        with pytest.raises(QueryError, match="--format json or csv"):
            ReportQuery(lines=10_001)
