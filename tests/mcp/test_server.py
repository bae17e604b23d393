"""Tests for loglens.mcp: the official MCP client drives the server over stdio (a real subprocess on a
store ingested from the shared generator's corpus) and over streamable HTTP (uvicorn on 127.0.0.1 in
front of a real `loglens up`): every tool answers from the logs, guardrails refuse with what to change,
and live subscriptions push records and alerts as MCP log notifications."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, LoggingMessageNotificationParams
from starlette.applications import Starlette
from starlette.routing import Route

import incident_scenario as scenario
from conftest import run_loglens
from daemon_helpers import Up
from loglens.config import load_config
from loglens.formats.timestamp import to_iso_ms
from loglens.mcp import mcp_http_app
from loglens.mcp.guardrails import GuardrailError, fit, time_window
from loglens.mcp.server import search_query
from loglens.mcp.subscriptions import RecordBatcher
from loglens.store.duckdb import DuckDBStore

CORPUS = {"since": "2026-11-21T00:00:00Z", "until": "2026-11-21T06:00:00Z"}
"""The shared generator's default span: ranges are explicit, so answers do not depend on today."""
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
WAIT_S = 20.0

# Until server/app.py includes the discovery router, the stdio server is started through this shim,
# which adds it to the in-process API when it is missing (lead: once wired, use ["-m", "loglens.mcp"]).
STDIO_ARGS = ["-m", "loglens", "mcp"]  # fmt: skip

TOOLS = {
    "list_services", "list_fields", "get_stats", "logstream_query", "logstream_search", "get_context",
    "correlate_trace", "get_patterns", "detect_anomalies", "list_incidents", "explain_incident", "summary",
    "diff", "ask", "alert_list", "alert_create", "export", "logstream_start", "logstream_stop",
    "logstream_poll",
}  # fmt: skip

LIVE_CONFIG = """
[alerts]
group_wait = "0s"

[[alerts.rules]]
name = "disk-fire"
type = "match"
regex = "disk on fire"
severity = "critical"
"""


class Mcp:
    """A connected MCP client session, driven from the test's thread through an anyio portal."""

    def __init__(self, portal: BlockingPortal, session: ClientSession, logs: list[Any]) -> None:
        self.portal, self.session, self.logs = portal, session, logs

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        result: CallToolResult = self.portal.call(self.session.call_tool, tool, arguments)
        return result

    def text(self, tool: str, **arguments: Any) -> str:
        result = self.call(tool, **arguments)
        body = result.content[0].text if result.content else ""  # type: ignore[union-attr]
        assert not result.is_error, f"{tool} failed: {body}"
        return body

    def error(self, tool: str, **arguments: Any) -> str:
        result = self.call(tool, **arguments)
        assert result.is_error, f"{tool} should have failed"
        return str(result.content[0].text)  # type: ignore[union-attr]

    def pushed(
        self, kind: str, check: Callable[[dict[str, Any]], bool] = lambda item: True
    ) -> dict[str, Any]:
        """The first live notification of `kind` passing `check`, waiting for it."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for params in list(self.logs):
                if params.logger == "loglens.live" and params.data.get("type") == kind and check(params.data):
                    return dict(params.data)
            time.sleep(0.05)
        raise AssertionError(f"no {kind} notification came: {[p.data for p in self.logs]}")


@contextmanager
def connected(session: Callable[[list[Any]], Any]) -> Iterator[Mcp]:
    logs: list[LoggingMessageNotificationParams] = []
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(session(logs)) as client:
        yield Mcp(portal, client, logs)


@asynccontextmanager
async def over_stdio(store: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=[*STDIO_ARGS, "--store", str(store)], env={**os.environ, "TZ": "UTC"}
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def over_http(url: str, logs: list[Any], token: str | None = None) -> AsyncIterator[ClientSession]:
    async def keep(params: LoggingMessageNotificationParams) -> None:
        logs.append(params)

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, logging_callback=keep) as session,
    ):
        await session.initialize()
        yield session


def serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """`app` on 127.0.0.1 (a free port) as the daemon serves: uvicorn without lifespan events."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


@contextmanager
def mcp_endpoint(store: Path, config_path: Path) -> Iterator[str]:
    """`mcp_http_app` routed at /mcp, as the daemon routes it; yields the endpoint's URL."""
    app = Starlette(routes=[Route("/mcp", endpoint=mcp_http_app(store, load_config(str(config_path))))])
    server, thread, url = serve(app)
    try:
        yield url + "/mcp"
    finally:
        server.should_exit = True
        thread.join(10)


def stamp(seconds_ago: float) -> str:
    moment = time.time() - seconds_ago
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment * 1000) % 1000:03d}Z"


@pytest.fixture(scope="module")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus, and a checkout traced across three services minutes ago, ingested by the real CLI."""
    folder = tmp_path_factory.mktemp("mcp")
    recent = folder / "recent" / "checkout.jsonl"
    recent.parent.mkdir()
    steps = [
        ("nginx", "info", "POST /checkout 200"), ("api", "info", "checkout started"),
        ("billing", "error", "card declined for checkout"), ("api", "warning", "checkout failed"),
    ]  # fmt: skip
    recent.write_text(
        "".join(
            json.dumps({"ts": stamp(600 - i), "service": svc, "level": lvl, "msg": msg, "trace_id": TRACE})
            + "\n"
            for i, (svc, lvl, msg) in enumerate(steps)
        )
    )
    path = folder / "s.duckdb"
    run_loglens("ingest", "--store", str(path), str(corpus), str(recent))
    return path


@pytest.fixture(scope="module")
def facts(store: Path) -> dict[str, Any]:
    """What the answers must say, read from the store itself before the server starts."""
    db = DuckDBStore(store, read_only=True)
    try:
        _, per_service = db.sql("SELECT service, count(*) FROM records GROUP BY service")
        _, total = db.sql(
            "SELECT count(*) FROM records WHERE ts >= TIMESTAMP '2026-11-21 00:00:00' "
            "AND ts < TIMESTAMP '2026-11-21 06:00:00'"
        )
    finally:
        db.close()
    return {"services": dict(per_service), "corpus_total": total[0][0]}


@pytest.fixture(scope="module")
def stdio(store: Path, facts: dict[str, Any]) -> Iterator[Mcp]:
    with connected(lambda logs: over_stdio(store)) as mcp:
        yield mcp


def ids(text: str) -> list[int]:
    return [int(found) for found in re.findall(r"^>? ?#(\d+) ", text, re.M)]


class TestToolList:
    def test_every_tool_is_listed_with_a_description_and_hints(self, stdio: Mcp) -> None:
        """The 20 tools, each described, read-only except alert_create, with the documented filters."""
        tools = {tool.name: tool for tool in stdio.portal.call(stdio.session.list_tools).tools}
        assert set(tools) == TOOLS
        assert all(len(tool.description or "") > 80 for tool in tools.values())
        writes = {name for name, tool in tools.items() if not tool.annotations.read_only_hint}  # type: ignore[union-attr]
        assert writes == {"alert_create"}
        params = tools["logstream_query"].input_schema["properties"]
        assert {"query", "level", "services", "since", "until", "limit"} <= set(params)
        assert params["limit"]["default"] == 50


class TestDiscovery:
    def test_list_services_counts_every_service(self, stdio: Mcp, facts: dict[str, Any]) -> None:
        """One line per service with its stored record count (the whole store by default)."""
        text = stdio.text("list_services")
        assert text.startswith(f"{len(facts['services'])} services")
        for service in ("api", "billing", "kernel", "nginx"):
            assert f"\n{service}: {facts['services'][service]:,} records" in text

    def test_list_fields_names_the_api_fields(self, stdio: Mcp) -> None:
        """The api's JSON keys are listed with their type; the record columns come first."""
        text = stdio.text("list_fields", services=["api"])
        assert text.startswith("record columns (every record): service, host")
        assert re.search(r"^latency_ms: [\d,]+ \(100%\), number", text, re.M)
        assert re.search(r"^request_id: [\d,]+ \(100%\), string", text, re.M)

    def test_get_stats_counts_the_corpus_per_hour(self, stdio: Mcp, facts: dict[str, Any]) -> None:
        """Six hourly buckets whose counts add up to the corpus's records."""
        text = stdio.text("get_stats", bucket="1h", by="service", **CORPUS)
        assert f"{facts['corpus_total']:,} records in 6 buckets of 3600s by service" in text
        buckets = re.findall(r"^2026-11-21T\S+ (\d+): ", text, re.M)
        assert sum(map(int, buckets)) == facts["corpus_total"]


class TestReading:
    def test_logstream_query_filters_like_the_cli(self, stdio: Mcp) -> None:
        """billing errors only, the newest `limit`, one line each with its id; fields on request."""
        text = stdio.text(
            "logstream_query", query="service:billing level:>=error", limit=5, fields=True, **CORPUS
        )
        lines = text.splitlines()
        assert lines[0].startswith("5 records (newest of 2026-11-21T00:00:00.000Z..2026-11-21T06:00:00.000Z")
        assert len(ids(text)) == 5 and all(" error billing@" in line for line in lines[1:])
        assert all("| tpl=billing-" in line for line in lines[1:])

    def test_logstream_search_shows_each_hit_in_its_context(self, stdio: Mcp) -> None:
        """Each deadlock hit is marked and framed by two billing lines on each side."""
        text = stdio.text("logstream_search", text="DEADLOCK detected", limit=3, context=2, **CORPUS)
        blocks = text.split("\n--\n")[1:]
        assert len(blocks) == 3
        for block in blocks:
            lines = block.splitlines()
            assert len(lines) == 5 and lines[2].startswith("> #") and "deadlock detected" in lines[2]
            assert all(" billing@" in line for line in lines)

    def test_a_regex_search(self, stdio: Mcp) -> None:
        """/regex/i matches case-insensitively, as in the query language."""
        text = stdio.text("logstream_search", text="/out of MEMORY/i", context=0, **CORPUS)
        assert "hits for '/out of MEMORY/i'" in text and "> #" in text and "Out of memory" in text

    def test_get_context_shows_a_record_whole_with_its_neighbours(self, stdio: Mcp) -> None:
        """The record's raw text (its Java stack trace) is shown under it, between its service's lines."""
        found = stdio.text("logstream_query", query="service:billing Servlet.service", limit=1, **CORPUS)
        record_id = ids(found)[0]
        text = stdio.text("get_context", record_id=record_id, before=2, after=2)
        lines = text.splitlines()
        assert ids(text)[2] == record_id and lines[2].startswith(f"> #{record_id} ")
        assert any(line.lstrip().startswith("at ") for line in lines[3:])
        assert len(ids(text)) == 5

    def test_correlate_trace_follows_a_request_across_services(self, stdio: Mcp) -> None:
        """The recent checkout, found within the default last 7 days, service by service in order."""
        text = stdio.text("correlate_trace", trace_id=TRACE)
        assert f"trace {TRACE}: 4 records over 3.0 s" in text
        assert "services in order of appearance: nginx (1 records, 0 errors" in text
        assert "billing (1 records, 1 errors" in text
        assert [line.split(": ", 1)[1] for line in text.splitlines()[2:]] == [
            "POST /checkout 200", "checkout started", "card declined for checkout", "checkout failed",
        ]  # fmt: skip

    def test_export_csv_and_json(self, stdio: Mcp) -> None:
        """CSV with its header and JSON lines as `logs --json`, the newest `limit` records."""
        rows = list(csv.DictReader(io.StringIO(stdio.text("export", format="csv", limit=3, **CORPUS))))
        assert len(rows) == 3 and set(rows[0]) >= {"id", "ts", "level", "service", "message", "fields"}
        objects = [
            json.loads(line)
            for line in stdio.text("export", query="service:kernel", limit=4, **CORPUS).splitlines()
        ]
        assert len(objects) == 4 and {o["svc"] for o in objects} == {"kernel"}


class TestFindings:
    def test_get_patterns(self, stdio: Mcp) -> None:
        """The commonest templates with their ids and shares."""
        text = stdio.text("get_patterns", top=5, **CORPUS)
        lines = text.splitlines()
        assert lines[0].startswith("5 patterns") and len(lines) == 6
        assert all(re.match(r"^[\w-]+-\d+: [\d,]+ \(\d+\.\d%\), ", line) for line in lines[1:])

    def test_detect_anomalies_keeps_the_most_severe(self, stdio: Mcp) -> None:
        """More anomalies than the limit: the most severe five, in time order."""
        text = stdio.text("detect_anomalies", limit=5, **CORPUS)
        lines = text.splitlines()
        assert re.match(r"^\d+ anomalies in .*; the 5 most severe:$", lines[0])
        assert len(lines) == 6 and all(" critical " in line for line in lines[1:])
        assert [line[:24] for line in lines[1:]] == sorted(line[:24] for line in lines[1:])

    def test_incidents_and_their_explanation(self, stdio: Mcp) -> None:
        """The billing deadlock and the OOM kill are incidents with their root cause; explaining the
        first gives what happened, the failure signature and a fix."""
        text = stdio.text("list_incidents", **CORPUS)
        assert text.startswith("4 incidents")
        deadlock = re.search(
            r"^(inc-\S+): .*\n  root cause: billing \[billing-\d+\] ERROR: deadlock detected", text, re.M
        )
        assert deadlock is not None
        assert re.search(r"root cause: kernel \[kernel-\d+\] .*oom", text, re.I)
        explained = stdio.text("explain_incident", incident_id=deadlock.group(1), context=2)
        assert explained.startswith(deadlock.group(1))
        for part in ("what happened: ", "failure signature: ", "suggested fix:", "around the first sign:"):
            assert part in explained

    def test_summary_per_service(self, stdio: Mcp) -> None:
        """Every service with its lines, health and top patterns, busiest first."""
        text = stdio.text("summary", **CORPUS)
        assert text.splitlines()[1].startswith("nginx: ")
        assert re.search(r"^billing: [\d,]+ lines \(.*\); health \d+", text, re.M)

    def test_diff_finds_the_deadlock_templates(self, stdio: Mcp) -> None:
        """Before vs during the billing incident: the pool-exhaustion and slow-query templates are new."""
        text = stdio.text("diff", a="2026-11-21T02:00:00Z..2026-11-21T02:20:00Z",
                          b="2026-11-21T02:20:00Z..2026-11-21T02:40:00Z", top=5)  # fmt: skip
        new = text.split("new in B: ")[1].split("gone from A")[0]
        assert "connection pool exhausted" in new and "Slow query" in new

    def test_ask_answers_in_words(self, stdio: Mcp) -> None:
        """A question becomes a query, an answer and its lines."""
        text = stdio.text("ask", question="what errors did billing log on 2026-11-21?")
        assert "query: service:billing level:>=error" in text
        assert "deadlock detected" in text and ids(text)

    def test_alert_list_without_a_daemon_reads_the_stored_rules(self, stdio: Mcp) -> None:
        """No alerts yet; the default rule (every incident) is listed."""
        text = stdio.text("alert_list", rules=True)
        assert text.startswith("0 active alerts") and "incidents (incident, critical, from config)" in text


class TestGuardrails:
    def test_too_many_lines_says_what_to_ask_for(self, stdio: Mcp) -> None:
        """A limit above 500 is refused with the parameter, the maximum and ways to narrow."""
        message = stdio.error("logstream_query", limit=5000)
        assert "limit=5000 is more than 500: ask for limit=500 or fewer" in message and "get_stats" in message

    def test_too_long_a_range_is_refused(self, stdio: Mcp) -> None:
        """More than 90 days in one call: refused with an example since."""
        message = stdio.error("logstream_query", since="400d")
        assert "spans 400 days; one call reads at most 90 days" in message and "since='" in message

    def test_a_range_backwards_is_refused(self, stdio: Mcp) -> None:
        """since after until: refused, saying which is which."""
        assert "is after until" in stdio.error(
            "get_stats", since="2026-11-21T03:00:00Z", until="2026-11-21T02:00:00Z"
        )

    def test_a_bad_query_points_at_the_problem(self, stdio: Mcp) -> None:
        """The query language's own sentence and caret come back as the tool's error."""
        message = stdio.error("logstream_query", query="service:api (level:error")
        assert "'(' is never closed: add ')' (at column 13)" in message

    def test_big_answers_are_cut_with_a_note(self, stdio: Mcp) -> None:
        """500 lines with fields exceed 60,000 characters: the rest is cut and counted."""
        text = stdio.text("logstream_query", limit=500, fields=True, **CORPUS)
        assert len(text) <= 60_200
        assert re.search(r"… \d+ more lines cut at 60,000 characters: ask for fewer lines", text)

    def test_a_big_export_is_refused_with_a_smaller_limit(self, stdio: Mcp) -> None:
        """An export over 200,000 characters is an error suggesting a limit that fits."""
        message = stdio.error("export", limit=5000, **CORPUS)
        assert "more than 200,000: ask for fewer (e.g. limit=" in message

    def test_nothing_in_the_default_range_says_where_to_look(self, stdio: Mcp) -> None:
        """Without since the last 7 days are read (the minutes-old checkout is found); an empty answer
        points to list_services and an earlier since."""
        text = stdio.text("logstream_query", query=f"trace_id:{TRACE}")
        assert text.startswith("4 records (newest of ") and "(no since given: the last 7 days)" in text
        empty = stdio.text("logstream_query", query="nothing-like-this-anywhere")
        assert empty.startswith("nothing matched in") and "list_services" in empty

    def test_what_needs_the_daemon_says_so(self, stdio: Mcp) -> None:
        """Without `loglens up`, subscriptions and rule creation are refused with what to start."""
        assert "live subscriptions need a running daemon: start `loglens up`" in stdio.error(
            "logstream_start"
        )
        assert "start `loglens up`" in stdio.error("alert_create", name="x", type="match", regex="boom")
        assert stdio.text("logstream_poll").startswith("no subscriptions in this session")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, str]]:
    """A real daemon with a `match` rule, and the MCP endpoint in front of its store."""
    folder = tmp_path_factory.mktemp("live")
    up = Up(folder, LIVE_CONFIG)
    try:
        with mcp_endpoint(up.store, folder / "loglens.toml") as url:
            yield up, url
    finally:
        up.stop()


def push(up: Up, service: str, lines: list[tuple[str, str]]) -> None:
    body = "\n".join(json.dumps({"time": stamp(0), "service": service, "level": lvl, "message": msg})
                     for lvl, msg in lines)  # fmt: skip
    answer = up.client.post("/ingest", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text


def live_subscribers(up: Up) -> int:
    found = re.search(r"^loglens_live_subscribers (\d+)", up.client.get("/metrics").text, re.M)
    assert found is not None
    return int(found.group(1))


class TestLiveOverHttp:
    def test_pushes_matching_records_and_the_alert_they_raise(self, live: tuple[Up, str]) -> None:
        """After logstream_start, lines pushed to the daemon come back as a record notification (only
        those matching) and the match rule's alert as an alert notification; poll returns them too."""
        up, url = live
        with connected(lambda logs: over_http(url, logs)) as mcp:
            started = mcp.text("logstream_start", query="disk")
            assert started.startswith("subscribed live-1: query='disk' → records and events")
            push(
                up,
                "storage",
                [("info", "all good"), ("error", "disk on fire in rack 3"), ("info", "disk check ok")],
            )
            records = mcp.pushed("records")
            assert [r["msg"] for r in records["records"]] == ["disk on fire in rack 3", "disk check ok"]
            assert records["subscription"] == "live-1" and records["records"][0]["svc"] == "storage"
            alert = mcp.pushed("alert", lambda item: item["change"] == "opened")
            assert alert["alerts"][0]["rule"] == "disk-fire" and alert["alerts"][0]["severity"] == "critical"
            assert any(p.level == "alert" for p in mcp.logs)
            polled = mcp.text("logstream_poll")
            assert "disk on fire in rack 3" in polled and "alert opened: " in polled
            listed = mcp.text("alert_list")
            assert "rule=disk-fire" in listed and "service=storage" in listed
            stopped = mcp.text("logstream_stop", subscription_id="live-1")
            assert stopped.startswith("live-1: stopped") and "pushed 2 records" in stopped

    def test_an_incident_found_live_is_pushed(self, tmp_path: Path) -> None:
        """An hour of two services, the database failing at minute 40 and the web tier after it, pushed
        now: the daemon's detectors open the incident as its minutes close and the subscriber is told,
        with the root cause, without asking. (A daemon of its own: the detectors' clock must not have
        seen later lines already.)"""
        up = Up(tmp_path, LIVE_CONFIG)
        url = up.url + "/mcp"
        end_ns = time.time_ns() - 90 * 10**9
        shift = end_ns - (scenario.START_NS + 60 * scenario.MINUTE)
        body = "\n".join(
            json.dumps(
                {"time": to_iso_ms(ts + shift), "service": service, "level": level, "message": message}
            )
            for ts, service, level, message in scenario.lines()
        )
        try:
            with connected(lambda logs: over_http(url, logs)) as mcp:
                mcp.text("logstream_start", query="deadlock")
                answer = up.client.post(
                    "/ingest", content=body, headers={"Content-Type": "application/x-ndjson"}
                )
                assert answer.status_code == 200, answer.text
                pushed = mcp.pushed("incident")
                assert pushed["incident"]["root_cause"]["service"] == "db"
                assert set(pushed["incident"]["services"]) == {"db", "web"}
        finally:
            up.stop()

    def test_subscriptions_are_bounded_and_end_with_the_session(self, live: tuple[Up, str]) -> None:
        """Three per session; a fourth is refused naming one to stop; closing the session ends them all
        (the daemon's live subscribers go back to what they were)."""
        up, url = live
        before = live_subscribers(up)
        with connected(lambda logs: over_http(url, logs)) as mcp:
            for level in ("error", "warning", "info"):
                assert mcp.text("logstream_start", level=level).startswith("subscribed live-")
            assert live_subscribers(up) == before + 3
            refused = mcp.error("logstream_start")
            assert (
                "already has 3 live subscriptions" in refused
                and "logstream_stop(subscription_id='live-1')" in refused
            )
            assert "stop one first" in refused
            bad = mcp.error("logstream_start", query="service:x (")
            assert "expected a term at the end of the query" in bad
        deadline = time.monotonic() + WAIT_S
        while live_subscribers(up) != before:
            assert time.monotonic() < deadline, "the subscriptions outlived their session"
            time.sleep(0.1)

    def test_a_burst_is_coalesced_into_few_bounded_notifications(self, live: tuple[Up, str]) -> None:
        """30 matching lines at once arrive as one or two notifications of at most 20 records each, what
        was not sent being counted in `more`: every line is accounted for."""
        up, url = live
        with connected(lambda logs: over_http(url, logs)) as mcp:
            mcp.text("logstream_start", query="burst")
            push(up, "storm", [("info", f"burst line {i}") for i in range(30)])
            deadline = time.monotonic() + WAIT_S
            while True:
                batches = [p.data for p in mcp.logs if p.data.get("type") == "records"]
                if sum(len(b["records"]) + b["more"] for b in batches) == 30:
                    break
                assert time.monotonic() < deadline, f"not all 30 lines accounted for: {batches}"
                time.sleep(0.05)
            assert 1 <= len(batches) <= 2 and all(len(b["records"]) <= 20 for b in batches)
            sent = [r["msg"] for b in batches for r in b["records"]]
            assert sent == sorted(sent, key=lambda m: int(m.split()[-1])) and sent[0] == "burst line 0"
            status = mcp.text("logstream_stop", subscription_id="all")
            assert f"pushed {len(sent)} records ({30 - len(sent)} coalesced away)" in status

    def test_alert_create_through_the_daemon(self, live: tuple[Up, str]) -> None:
        """A rule made through the tool is stored by the daemon and listed with the rules."""
        up, url = live
        with connected(lambda logs: over_http(url, logs)) as mcp:
            rule = {"type": "threshold", "query": "service:api status:>=500", "window": "5m", "threshold": 5}
            made = mcp.text("alert_create", name="api-5xx", **rule)
            assert made.startswith("created rule api-5xx (threshold, warning, from api)")
            assert "api-5xx (threshold" in mcp.text("alert_list", rules=True)
        rules = {rule["name"]: rule for rule in up.client.get("/api/alerts/rules").json()}
        assert rules["api-5xx"]["query"] == "service:api status:>=500" and rules["api-5xx"]["source"] == "api"


class TestDaemonGoingAway:
    def test_a_daemon_that_stops_ends_the_subscription_saying_so(self, tmp_path: Path) -> None:
        """When `loglens up` stops, the subscription ends with an `ended` notification saying why."""
        up = Up(tmp_path)
        try:
            with (
                mcp_endpoint(up.store, tmp_path / "loglens.toml") as url,
                connected(lambda logs: over_http(url, logs)) as mcp,
            ):
                mcp.text("logstream_start")
                up.stop()
                ended = mcp.pushed("ended")
                assert ended["reason"].startswith("the daemon stopped: start a new subscription")
                assert "live-1: ended (the daemon stopped" in mcp.text("logstream_poll")
        finally:
            if up.proc.poll() is None:
                up.stop()


class TestHttpAccess:
    def test_tokens_guard_the_endpoint(self, store: Path, tmp_path: Path) -> None:
        """With [[server.tokens]], no token is a 401 and an ingest-only token a 403, each saying why; a
        read token opens a session whose tools answer."""
        config = tmp_path / "loglens.toml"
        config.write_text(
            '[[server.tokens]]\nname = "agent"\ntoken = "reader-secret-0123456789"\nscopes = ["read"]\n'
            '[[server.tokens]]\nname = "shipper"\ntoken = "shipper-secret-0123456789"\nscopes = ["ingest"]\n'
        )
        with mcp_endpoint(store, config) as url:
            hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            anonymous = httpx.post(url, json=hello)
            assert anonymous.status_code == 401 and "read scope is required" in anonymous.json()["error"]
            shipper = httpx.post(
                url, json=hello, headers={"Authorization": "Bearer shipper-secret-0123456789"}
            )
            assert (
                shipper.status_code == 403
                and "'shipper' does not have the read scope" in shipper.json()["error"]
            )
            with connected(lambda logs: over_http(url, logs, "reader-secret-0123456789")) as mcp:
                text = mcp.text("logstream_query", query="service:kernel", limit=2, **CORPUS)
                assert text.startswith("2 records") and len(ids(text)) == 2


class TestDaemonEndpoint:
    def test_the_daemon_serves_mcp_at_slash_mcp(self, tmp_path: Path) -> None:
        """`loglens up` answers MCP at /mcp: tools list, discovery, and a live push of a record."""
        up = Up(tmp_path, LIVE_CONFIG)
        try:
            assert up.client.post("/mcp", json={}).status_code != 404
            with connected(lambda logs: over_http(up.url + "/mcp", logs)) as mcp:
                assert mcp.text("logstream_start", query="wired").startswith("subscribed live-1")
                push(up, "wiring", [("warning", "wired endpoint works")])
                assert mcp.pushed("records")["records"][0]["msg"] == "wired endpoint works"
                assert "\nwiring: 1 records" in mcp.text("list_services")
        finally:
            up.stop()


class TestTimeWindow:
    def test_without_since_it_is_the_seven_days_before_until(self) -> None:
        """No since: 7 days back from until, marked as defaulted."""
        window = time_window(None, "2026-11-21T06:00:00Z")
        assert (window.since, window.until, window.defaulted) == (
            "2026-11-14T06:00:00.000Z", "2026-11-21T06:00:00.000Z", True,
        )  # fmt: skip

    def test_an_explicit_range_may_be_long_but_not_over_ninety_days(self) -> None:
        """30 explicit days pass; 91 are refused naming since."""
        assert time_window("2026-10-22T00:00:00Z", "2026-11-21T00:00:00Z").defaulted is False
        with pytest.raises(GuardrailError, match="spans 91 days; one call reads at most 90 days"):
            time_window("2026-08-22T00:00:00Z", "2026-11-21T00:00:00Z")


class TestFit:
    def test_cuts_at_the_budget_and_counts_the_rest(self) -> None:
        """Lines past the budget are replaced by one line counting them."""
        kept = fit([f"line {i:03d}" for i in range(100)], budget=95)
        assert kept[:-1] == [f"line {i:03d}" for i in range(10)]
        assert kept[-1].startswith("… 90 more lines cut at 95 characters")


class TestSearchQuery:
    def test_text_is_one_phrase_with_quotes_escaped(self) -> None:
        """Plain text becomes one quoted phrase (quote and backslash escaped), ANDed with the query."""
        assert search_query('say "hi" C:\\x', "service:api") == '(service:api) "say \\"hi\\" C:\\\\x"'

    def test_a_regex_is_kept_as_written(self) -> None:
        """/regex/ and /regex/i pass through as query regexes."""
        assert search_query("/time(d|out)/i") == "/time(d|out)/i"


class TestRecordBatcher:
    def test_at_most_one_batch_per_interval_of_bounded_size(self) -> None:
        """The first `max_records` wait for the interval; what did not fit is counted."""
        batcher = RecordBatcher(interval_s=1.0, max_records=3)
        assert batcher.wait_s(100.0) is None
        batcher.add([{"n": i} for i in range(5)])
        assert batcher.wait_s(100.0) == 0
        assert batcher.take(100.0) == ([{"n": 0}, {"n": 1}, {"n": 2}], 2)
        batcher.add([{"n": 5}])
        assert batcher.wait_s(100.25) == 0.75
