"""loglens as an MCP server: tools an agent uses to find, read and watch logs, each a thin call of the
daemon's API (through `LogAccess`) answered as compact text, inside the bounds of `guardrails`."""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

import anyio
import anyio.abc
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import EmptyResult, SetLevelRequestParams, ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from loglens.access import DaemonNeeded, LogAccess
from loglens.client import DaemonClient, client_token
from loglens.config import Config
from loglens.errors import LoglensError
from loglens.mcp import render
from loglens.mcp.guardrails import (
    DEFAULT_LINES,
    MAX_LINES,
    GuardrailError,
    Window,
    check_limit,
    fit,
    time_window,
)
from loglens.mcp.subscriptions import LOGGER_NAME, LiveFilter, SessionSubscriptions, follow, live_url
from loglens.query.matcher import live_matcher
from loglens.query.timerange import parse_time_bound
from loglens.server.auth import TENANT_HEADERS, presented_secrets
from loglens.server.discovery import MAX_FIELD_SAMPLE, export_lines

INSTRUCTIONS = """\
loglens answers questions about the logs it stores (every service of this machine or fleet).
Start with list_services (what logged, and when) or summary; get_stats counts records cheaply
before you fetch them. logstream_query / logstream_search read lines (query language: service:api
level:>=warning "phrase" -word field:value status:>=500 /regex/); get_context shows the lines
around a record id. get_patterns, detect_anomalies, list_incidents and explain_incident say what is
unusual and why; correlate_trace follows one trace or request id across services; ask takes a plain
English question. logstream_start subscribes to new matching lines, anomalies, incidents and alerts
(pushed as log notifications; logstream_poll returns them too). Times: RFC 3339, or relative (15m,
2h, 2d, now-1h). Without since, a call reads the last 7 days; at most 90 days per call."""

SESSION_KEY = "loglens.subscriptions"
LOG_LEVEL_KEY = "loglens.log_level"
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
MAX_HITS = 50
MAX_CONTEXT = 100
MAX_PATTERNS = 100
MAX_FINDINGS = 200
MAX_BUCKETS = 500
EXPORT_LINES = 200
MAX_EXPORT_LINES = 5_000
MAX_EXPORT_CHARS = 200_000
BUCKET_LADDER = ("10s", "30s", "1m", "5m", "10m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "7d")
TARGET_BUCKETS = 60
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_REGEX_TEXT = re.compile(r"^/.+/i?$", re.S)

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

Query = Annotated[
    str,
    Field(description='Search query: words, "phrases", -exclusions, field:value, level:>=warning, '
          "status:>=500, /regex/, OR, parentheses (docs/query.md). Empty: every record."),
]  # fmt: skip
Level = Annotated[
    str | None, Field(description="Severity filter: error, error,warning or >=warning (trace … fatal).")
]
Services = Annotated[list[str] | None, Field(description="Only these services (exact names; * wildcards).")]
Since = Annotated[
    str | None,
    Field(description="Start (inclusive): RFC 3339 (2026-11-21T10:00:00Z) or relative (15m, 2h, 2d, now-1h). "
          "Default: 7 days before until."),
]  # fmt: skip
Until = Annotated[str | None, Field(description="End (exclusive), same forms as since. Default: now.")]
Fields = Annotated[bool, Field(description="Also show each record's template id and parsed fields (k=v).")]

F = TypeVar("F", bound=Callable[..., Awaitable[str]])
Ctx = Context[Any, Any]


def tool_errors(fn: F) -> F:
    """What loglens refuses (a bad query, a guardrail, no daemon) reaches the agent as the tool's
    error, with loglens's sentence saying what to change — not as a crash."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> str:
        try:
            return await fn(*args, **kwargs)
        except LoglensError as exc:
            raise ToolError(str(exc)) from None

    return cast(F, wrapper)


def caller_secret(ctx: Ctx) -> str | None:
    """The token the HTTP caller presented (its calls go to the API with it, so an agent has the
    scopes of its own token); None over stdio, where the local user's configured token applies."""
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    found = presented_secrets(headers, getattr(request, "query_params", {}))
    return found[0] if found else None


def caller_tenant(ctx: Ctx) -> str | None:
    """The tenant the HTTP caller named (X-Loglens-Tenant or Loki's X-Scope-OrgID), passed on with
    its API calls so that it reads as that tenant (its token may bind it to one anyway); None over
    stdio, or when it named none."""
    headers = getattr(ctx.request_context.request, "headers", None)
    if headers is None:
        return None
    named = [headers[name] for name in TENANT_HEADERS if name in headers]
    return named[0] if named else None


def session_connection(ctx: Ctx | ServerRequestContext[Any, Any]) -> Connection:
    """The MCP connection a request came on: where a session's subscriptions live and end.

    The SDK exposes it to handlers only through the session proxy's attribute (2.3), read here once.
    """
    connection = getattr(ctx.session, "_connection", None)
    if not isinstance(connection, Connection):
        raise LoglensError(
            "this MCP SDK does not expose the session's connection: live subscriptions need mcp 2.3"
        )
    return connection


def auto_bucket(window: Window, now_ns: int) -> str:
    """The smallest bucket of BUCKET_LADDER that cuts the window into at most TARGET_BUCKETS."""
    start = parse_time_bound(window.since, now_ns)
    end = parse_time_bound(window.until, now_ns) if window.until else now_ns
    span_s = max((end - start) / 1e9, 1)
    for bucket in BUCKET_LADDER:
        if span_s / (int(bucket[:-1]) * _SECONDS[bucket[-1]]) <= TARGET_BUCKETS:
            return bucket
    return BUCKET_LADDER[-1]


def search_query(text: str, query: str = "") -> str:
    """`text` as a query term: `/regex/` (or `/regex/i`) as written, anything else as one exact phrase
    (any case); combined with `query`."""
    text = text.strip()
    if not text:
        raise GuardrailError(
            "give text to search for, e.g. text='connection refused' or text='/time(d|out)/i'"
        )
    # A phrase escapes its backslashes and quotes as docs/query.md says.
    phrase = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    term = text if _REGEX_TEXT.match(text) else phrase
    return f"({query}) {term}" if query.strip() else term


def empty_hint(window: Window) -> str:
    hint = "nothing matched in " + window.describe()
    if window.defaulted:
        hint += (
            "; list_services shows when each service last logged: pass since (e.g. since='30d') to look "
            "further back"
        )
    return hint


class LoglensTools:
    """The tools, over one `LogAccess`; registered on an MCPServer by `build_server`."""

    def __init__(self, access: LogAccess) -> None:
        self.access = access
        self._task_group: anyio.abc.TaskGroup | None = None

    # -- plumbing ----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: object,
        token: str | None,
        tenant: str | None = None,
    ) -> Any:
        url = self.access.daemon_url if token is not None else None
        if url is not None:
            clean = {k: v for k, v in (params or {}).items() if v is not None}
            return DaemonClient(url, token, tenant=tenant).call(method, path, clean, body)
        return self.access.request(method, path, params, body, tenant)

    async def api(
        self,
        ctx: Ctx,
        path: str,
        params: dict[str, Any] | None = None,
        method: str = "GET",
        body: object = None,
    ) -> Any:
        """One API call off the event loop (the in-process path opens the store and queries it)."""
        token, tenant = caller_secret(ctx), caller_tenant(ctx)
        return await anyio.to_thread.run_sync(
            functools.partial(self._call, method, path, params, body, token, tenant)
        )

    def window(self, since: str | None, until: str | None) -> Window:
        return time_window(since, until, self.access.config.timezone)

    @asynccontextmanager
    async def lifespan(self, server: MCPServer[Any]) -> AsyncIterator[None]:
        """The task group the live subscriptions run in, for as long as the server serves."""
        async with anyio.create_task_group() as group:
            self._task_group = group
            try:
                yield None
            finally:
                group.cancel_scope.cancel()
                self._task_group = None

    def subscriptions(self, ctx: Ctx) -> SessionSubscriptions:
        """The calling session's subscriptions, made on first use and stopped when it ends."""
        connection = session_connection(ctx)
        found = connection.state.get(SESSION_KEY)
        if isinstance(found, SessionSubscriptions):
            return found
        made = SessionSubscriptions(functools.partial(push_log, connection))
        connection.state[SESSION_KEY] = made
        connection.exit_stack.push_async_callback(made.close)
        return made

    # -- discovery ---------------------------------------------------------------------------------

    @tool_errors
    async def list_services(self, ctx: Ctx, since: Since = None, until: Until = None) -> str:
        """Every service that logged, busiest first, with its records, errors, warnings and first/last
        time. Start here: it tells which service names to filter on and where in time the logs are.
        Without since/until it covers the whole store (this one call is cheap)."""
        params: dict[str, Any] = {}
        if since or until:
            params = self.window(since, until).params()
        answer = await self.api(ctx, "/api/services", params)
        return "\n".join(render.services_lines(answer))

    @tool_errors
    async def list_fields(
        self,
        ctx: Ctx,
        services: Services = None,
        query: Query = "",
        sample: Annotated[int, Field(description="How many of the newest matching records to read.")] = 5000,
    ) -> str:
        """The parsed field names records carry (status, latency_ms, user, request_id …), how many of
        the newest `sample` matching records hold each, its type and an example value — to write
        queries such as status:>=500 or latency_ms:>1000. Also lists the record columns every record has."""
        check_limit(sample, MAX_FIELD_SAMPLE, "sample")
        answer = await self.api(ctx, "/api/fields", {"q": query, "service": services, "sample": sample})
        return "\n".join(render.fields_lines(answer))

    @tool_errors
    async def get_stats(
        self,
        ctx: Ctx,
        query: Query = "",
        level: Level = None,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        bucket: Annotated[
            str | None,
            Field(description="Bucket length (10s, 1m, 1h, 1d). Default: about 60 buckets over the range."),
        ] = None,
        by: Annotated[
            Literal["level", "service", "template", "category"],
            Field(description="What each bucket counts by."),
        ] = "level",
    ) -> str:
        """How many records match, per time bucket and per level (or service, template, category): a
        cheap size check before fetching lines, and where the volume or the errors spiked."""
        window = self.window(since, until)
        chosen = bucket or auto_bucket(window, time.time_ns())
        params = {
            "q": query,
            "level": level,
            "service": services,
            "bucket": chosen,
            "by": by,
            **window.params(),
        }
        answer = await self.api(ctx, "/api/stats", params)
        buckets = answer["buckets"]
        if len(buckets) > MAX_BUCKETS:
            raise GuardrailError(
                f"bucket={chosen!r} cuts the range into {len(buckets)} buckets (at most {MAX_BUCKETS}): "
                "give a longer bucket (e.g. bucket='1h') or a shorter range"
            )
        total = sum(sum(b["counts"].values()) for b in buckets)
        if not total:
            return empty_hint(window)
        return "\n".join([f"range {window.describe()}", *render.stats_lines(answer, total)])

    # -- reading lines -----------------------------------------------------------------------------

    @tool_errors
    async def logstream_query(
        self,
        ctx: Ctx,
        query: Query = "",
        level: Level = None,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Field(description=f"Lines to return (at most {MAX_LINES}).")] = DEFAULT_LINES,
        oldest_first: Annotated[
            bool, Field(description="The first `limit` records of the range instead of the newest.")
        ] = False,
        fields: Fields = False,
    ) -> str:
        """Log records matching filters, as `loglens logs` prints them: one line each
        (`#id time level service@host: message`), oldest first — by default the newest `limit` of the
        range. Use the ids with get_context. Example: query='service:api level:>=error', since='1h'."""
        check_limit(limit, MAX_LINES)
        window = self.window(since, until)
        params = {"q": query, "level": level, "service": services, "limit": limit, "first": oldest_first,
                  **window.params()}  # fmt: skip
        records = (await self.api(ctx, "/api/logs", params))["records"]
        if not records:
            return empty_hint(window)
        which = "first" if oldest_first else "newest"
        head = f"{len(records)} records ({which} of {window.describe()}, oldest first)"
        if len(records) == limit:
            head += (
                f"; more may match: raise limit (max {MAX_LINES}), narrow the query or range, or count "
                "with get_stats"
            )
        return "\n".join(fit([head, *render.records_block(records, fields)]))

    @tool_errors
    async def logstream_search(
        self,
        ctx: Ctx,
        text: Annotated[
            str,
            Field(description="Text to find in messages (exact phrase, any case), or /regex/ or /regex/i."),
        ],
        query: Query = "",
        level: Level = None,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Field(description=f"Hits to show, newest (at most {MAX_HITS}).")] = 10,
        context: Annotated[
            int,
            Field(
                description=f"Lines of the same service before and after each hit (at most {MAX_CONTEXT})."
            ),
        ] = 3,
    ) -> str:
        """Find a text or /regex/ in messages and show each hit (marked `>`) with `context` lines of its
        service around it — grep -C over every service. Example: text='deadlock', context=5."""
        check_limit(limit, MAX_HITS)
        if not 0 <= context <= MAX_CONTEXT:
            raise GuardrailError(f"context must be 0–{MAX_CONTEXT} lines (got {context})")
        window = self.window(since, until)
        params = {"q": search_query(text, query), "level": level, "service": services, "limit": limit,
                  **window.params()}  # fmt: skip
        hits = (await self.api(ctx, "/api/logs", params))["records"]
        if not hits:
            return empty_hint(window)
        lines = [f"{len(hits)} hits for {text!r} in {window.describe()}"]
        for hit in hits:
            if not context:
                lines.append(render.record_line(hit, marker="> "))
                continue
            around = await self.api(ctx, f"/api/records/{hit['id']}", {"before": context, "after": context})
            lines.append("--")
            lines += render.records_block(around["before"])
            lines.append(render.record_line(hit, marker="> "))
            lines += render.records_block(around["after"])
        return "\n".join(fit(lines, narrow="ask for fewer hits (limit) or less context"))

    @tool_errors
    async def get_context(
        self,
        ctx: Ctx,
        record_id: Annotated[int, Field(description="A record id (the #id of a listed line).")],
        before: Annotated[
            int, Field(description=f"Lines of its service before it (at most {MAX_CONTEXT}).")
        ] = 10,
        after: Annotated[
            int, Field(description=f"Lines of its service after it (at most {MAX_CONTEXT}).")
        ] = 10,
    ) -> str:
        """One record whole (its raw text — a full stack trace — and parsed fields), marked `>`, with the
        lines of the same service just before and after it."""
        for name, value in (("before", before), ("after", after)):
            if not 0 <= value <= MAX_CONTEXT:
                raise GuardrailError(f"{name} must be 0–{MAX_CONTEXT} lines (got {value})")
        answer = await self.api(ctx, f"/api/records/{record_id}", {"before": before, "after": after})
        lines = render.records_block(answer["before"]) + render.full_record(answer["record"])
        return "\n".join(fit(lines + render.records_block(answer["after"])))

    @tool_errors
    async def correlate_trace(
        self,
        ctx: Ctx,
        trace_id: Annotated[str, Field(description="A trace id, or a request / correlation id.")],
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Field(description="Records to show, the first ones (at most 1000).")] = 200,
        fields: Fields = False,
    ) -> str:
        """Every record of one trace or request across services, oldest first, with each service's part
        (records, errors, first/last): follow a request through nginx → api → billing. Matches the
        trace_id column and trace/request/correlation id fields."""
        check_limit(limit, 1000)
        window = self.window(since, until)
        answer = await self.api(ctx, f"/api/trace/{trace_id}", {"limit": limit, **window.params()})
        return "\n".join(fit(render.trace_lines(answer, fields)))

    @tool_errors
    async def export(
        self,
        ctx: Ctx,
        format: Annotated[
            Literal["json", "csv"], Field(description="json: one object per line; csv: a table.")
        ] = "json",
        query: Query = "",
        level: Level = None,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[
            int, Field(description=f"The newest N records (at most {MAX_EXPORT_LINES}).")
        ] = EXPORT_LINES,
    ) -> str:
        """Matching records as a file's text — JSON lines as `loglens logs --json` prints them (with id),
        or CSV (id, ts, level, service, host, pid, template, message, fields) — to save or hand on.
        Bounded: at most 5,000 records and 200,000 characters."""
        check_limit(limit, MAX_EXPORT_LINES)
        window = self.window(since, until)
        params = {"q": query, "level": level, "service": services, "limit": limit, **window.params()}
        records = (await self.api(ctx, "/api/logs", params))["records"]
        text = "".join(export_lines(records, format))
        if len(text) > MAX_EXPORT_CHARS:
            fewer = max(1, len(records) * MAX_EXPORT_CHARS // len(text) // 2)
            raise GuardrailError(
                f"the export of {len(records)} records is {len(text):,} characters, more than "
                f"{MAX_EXPORT_CHARS:,}: ask for fewer (e.g. limit={fewer}) or narrow the query, services or "
                "range; for bigger exports use GET /api/export or `loglens logs --json`"
            )
        return text

    # -- findings ----------------------------------------------------------------------------------

    @tool_errors
    async def get_patterns(
        self,
        ctx: Ctx,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        top: Annotated[
            int, Field(description=f"How many templates, commonest first (at most {MAX_PATTERNS}).")
        ] = 20,
    ) -> str:
        """The message templates (log lines with their variable parts as <*>) behind the records, commonest
        first, with count, share, trend (rising, falling, new) and level. Each id works as template:ID in
        a query."""
        check_limit(top, MAX_PATTERNS, "top")
        window = self.window(since, until)
        found = await self.api(ctx, "/api/patterns", {"service": services, "top": top, **window.params()})
        return "\n".join(fit(render.pattern_lines(found))) if found else empty_hint(window)

    @tool_errors
    async def detect_anomalies(
        self,
        ctx: Ctx,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        min_severity: Annotated[
            Literal["info", "warning", "critical"], Field(description="Lowest severity shown.")
        ] = "warning",
        limit: Annotated[
            int, Field(description=f"At most this many, the most severe (max {MAX_FINDINGS}).")
        ] = 30,
    ) -> str:
        """What the detectors find unusual in the range: error-rate and volume spikes, template bursts,
        new error templates, field drift — each with its service, severity, detail and template. Shows
        the most severe `limit`, in time order."""
        check_limit(limit, MAX_FINDINGS)
        window = self.window(since, until)
        params = {"service": services, "min_severity": min_severity, **window.params()}
        found = await self.api(ctx, "/api/anomalies", params)
        if not found:
            return empty_hint(window)
        order = {"critical": 0, "warning": 1, "info": 2}
        kept = sorted(
            sorted(found, key=lambda a: (order.get(a["severity"], 3), -a["score"]))[:limit],
            key=lambda a: a["start"],
        )
        head = f"{len(found)} anomalies in {window.describe()}" + (
            f"; the {limit} most severe:" if len(found) > limit else ":"
        )
        return "\n".join(fit([head, *map(render.anomaly_line, kept)]))

    @tool_errors
    async def list_incidents(
        self,
        ctx: Ctx,
        services: Services = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Field(description="At most this many, the latest (max 100).")] = 20,
    ) -> str:
        """Incidents — anomalies grouped across services — with their time, severity, services and ranked
        root cause (service, template, first sign). Explain one with explain_incident(incident_id)."""
        check_limit(limit, 100)
        window = self.window(since, until)
        found = await self.api(ctx, "/api/incidents", {"service": services, **window.params()})
        if not found:
            return empty_hint(window)
        lines = [
            f"{len(found)} incidents in {window.describe()}"
            + (f"; the latest {limit}:" if len(found) > limit else ":")
        ]
        for item in found[-limit:]:
            lines += render.incident_lines(item)
        return "\n".join(fit(lines))

    @tool_errors
    async def explain_incident(
        self,
        ctx: Ctx,
        incident_id: Annotated[str, Field(description="An incident id from list_incidents (inc-…).")],
        context: Annotated[
            int, Field(description="Lines around the root cause's first sign (at most 20).")
        ] = 3,
    ) -> str:
        """One incident explained: what happened, the root cause and how sure, the known failure signature
        it matches and why, a suggested fix, the evidence lines and the lines around the first sign."""
        if not 0 <= context <= 20:
            raise GuardrailError(f"context must be 0–20 lines (got {context})")
        answer = await self.api(ctx, f"/api/incidents/{incident_id}/explain", {"context": context})
        return "\n".join(fit(render.explain_lines(answer)))

    @tool_errors
    async def summary(
        self, ctx: Ctx, services: Services = None, since: Since = None, until: Until = None
    ) -> str:
        """Per service, busiest first: lines by level, health score, anomalies, restarts, error templates,
        last error and top patterns — the state of everything at a glance."""
        window = self.window(since, until)
        found = await self.api(ctx, "/api/summary", {"service": services, **window.params()})
        return "\n".join(fit(render.summary_lines(found))) if found else empty_hint(window)

    @tool_errors
    async def diff(
        self,
        ctx: Ctx,
        a: Annotated[
            str | None, Field(description="A's time range START..END: '2h..1h', '..30m', 'T1..T2'.")
        ] = None,
        b: Annotated[str | None, Field(description="B's time range (same forms), e.g. '1h..'.")] = None,
        a_source: Annotated[
            str | None, Field(description="Or A's source: a path as ingested, or a glob.")
        ] = None,
        b_source: Annotated[str | None, Field(description="B's source (same forms).")] = None,
        services: Services = None,
        top: Annotated[int, Field(description="Templates per list (at most 50).")] = 10,
    ) -> str:
        """Compare two time ranges (before/after a deploy) or two sources (build A vs build B): templates
        new in B, gone from A, changed in frequency, and the level mix. Give a and b, or a_source and
        b_source."""
        check_limit(top, 50, "top")
        params = {"a": a, "b": b, "a_source": a_source, "b_source": b_source, "service": services, "top": top}
        return "\n".join(fit(render.diff_lines(await self.api(ctx, "/api/diff", params))))

    @tool_errors
    async def ask(
        self,
        ctx: Ctx,
        question: Annotated[
            str, Field(description="A question in plain English, e.g. 'why did the worker restart?'")
        ],
        limit: Annotated[int, Field(description="Lines shown at most (100).")] = 20,
    ) -> str:
        """A plain-English question answered from the logs: how it was understood (range, services,
        levels, topic), the query run (reusable with logstream_query), the answer with figures, and the
        matching lines, patterns and incidents."""
        check_limit(limit, 100)
        answer = await self.api(ctx, "/api/ask", {"q": question, "limit": limit})
        return "\n".join(fit(render.ask_lines(answer)))

    # -- alerts ------------------------------------------------------------------------------------

    @tool_errors
    async def alert_list(
        self,
        ctx: Ctx,
        state: Annotated[
            Literal["active", "open", "acknowledged", "resolved", "all"], Field(description="Which alerts.")
        ] = "active",
        limit: Annotated[
            int, Field(description="At most this many, most recently changed first (200).")
        ] = 20,
        rules: Annotated[bool, Field(description="Also list the alert rules.")] = False,
    ) -> str:
        """Alerts the daemon raised (id, severity, state, rule, count, first/last, labels, title), and
        optionally the rules that raise them."""
        check_limit(limit, 200)
        answer = await self.api(ctx, "/api/alerts", {"state": state, "limit": limit})
        lines = render.alerts_lines(answer, state)
        if rules:
            found = await self.api(ctx, "/api/alerts/rules")
            lines += [f"{len(found)} rules:"] + [render.rule_line(r) for r in found]
        return "\n".join(fit(lines))

    @tool_errors
    async def alert_create(
        self,
        ctx: Ctx,
        name: Annotated[
            str, Field(description="Rule name: letters, digits, _ . : - (replaces an API rule of that name).")
        ],
        type: Annotated[
            Literal["threshold", "match", "new_template", "anomaly", "incident", "absence"],
            Field(
                description="threshold: count in window; match: each matching line; new_template; anomaly; "
                "incident; absence: a service went quiet."
            ),
        ],
        query: Annotated[
            str | None, Field(description="threshold/match/new_template: which records.")
        ] = None,
        regex: Annotated[str | None, Field(description="match: a regex on the message.")] = None,
        template: Annotated[
            str | None, Field(description="match: a template id (api-12) or text with <*>.")
        ] = None,
        window: Annotated[str | None, Field(description="threshold/absence: e.g. 5m.")] = None,
        threshold: Annotated[float | None, Field(description="threshold: the count compared.")] = None,
        op: Annotated[
            Literal[">", ">=", "<", "<="] | None, Field(description="threshold: comparison.")
        ] = None,
        service: Annotated[str | None, Field(description="absence: the service expected to log.")] = None,
        min_severity: Annotated[
            Literal["info", "warning", "critical"] | None,
            Field(description="anomaly/incident: lowest severity."),
        ] = None,
        severity: Annotated[
            Literal["info", "warning", "error", "critical"], Field(description="The alert's severity.")
        ] = "warning",
        channels: Annotated[
            list[str] | None, Field(description="Channels to tell (default: the configured route).")
        ] = None,
    ) -> str:
        """Create (or replace) an alert rule in the running daemon; it is stored and survives restarts
        (docs/alerts.md). Needs `loglens up` and a token with the admin scope. Its alerts are listed by
        alert_list and pushed to logstream_start subscribers. Example: name='api-5xx', type='threshold',
        query='service:api status:>=500', window='5m', threshold=50."""
        if self.access.daemon_url is None:
            raise DaemonNeeded(
                "alert rules live in the running daemon: start `loglens up` for this store, or add the rule "
                "under [[alerts.rules]] in loglens.toml"
            )
        body = {
            "name": name, "type": type, "query": query, "regex": regex, "template": template,
            "window": window, "threshold": threshold, "op": op, "service": service,
            "min_severity": min_severity, "severity": severity, "channels": channels,
        }  # fmt: skip
        made = await self.api(
            ctx, "/api/alerts/rules", method="POST", body={k: v for k, v in body.items() if v is not None}
        )
        return "created rule " + render.rule_line(made)

    # -- live --------------------------------------------------------------------------------------

    @tool_errors
    async def logstream_start(
        self,
        ctx: Ctx,
        query: Query = "",
        level: Level = None,
        services: Services = None,
        records: Annotated[bool, Field(description="Push matching records.")] = True,
        events: Annotated[
            bool, Field(description="Push anomalies, incidents and alerts (of `services`, or all).")
        ] = True,
    ) -> str:
        """Subscribe to the live logs: from now on, records matching the filters (coalesced: at most one
        notification a second, 20 records each, the rest counted) and every anomaly, incident and alert
        are pushed to this session as MCP log notifications (logger 'loglens.live'), and kept for
        logstream_poll. Needs the daemon (`loglens up`); at most 3 per session; they end with the session
        or logstream_stop."""
        daemon = self.access.daemon_url
        if daemon is None:
            raise DaemonNeeded(
                "live subscriptions need a running daemon: start `loglens up` for this store (it holds the "
                "store and watches it live); without one, poll with logstream_query(since='5m')"
            )
        live_matcher(
            query, level, services or ()
        )  # a filter the daemon would refuse is refused here, with why
        group = self._task_group
        if group is None:
            raise LoglensError(
                "the MCP server is not running its live task group (start it through build_server)"
            )
        session = self.subscriptions(ctx)
        wanted = LiveFilter(query, level, tuple(services or ()), records, events)
        sub = session.add(wanted)
        token = caller_secret(ctx) or client_token(self.access.config)
        tenant = caller_tenant(ctx) or self.access.tenant
        tls_cert = self.access.config.server.tls_cert
        group.start_soon(follow, sub, live_url(daemon, wanted), token, session.push, tenant, tls_cert)
        with anyio.move_on_after(15):
            await sub.ready.wait()
        if sub.state != "live":
            session.stop(sub, sub.reason or "the daemon did not answer within 15 s")
            raise LoglensError(
                f"could not subscribe: {sub.reason or 'the daemon did not answer within 15 s'}"
            )
        return (
            f"subscribed {sub.id}: {wanted.describe()}. Stop with logstream_stop(subscription_id='{sub.id}')."
        )

    @tool_errors
    async def logstream_stop(
        self,
        ctx: Ctx,
        subscription_id: Annotated[str, Field(description="The id logstream_start gave (live-1), or 'all'.")],
    ) -> str:
        """Stop a live subscription by its id, or 'all' of this session's: nothing more is pushed for it,
        and the answer says what each one pushed while it ran."""
        session = self.subscriptions(ctx)
        chosen = (
            list(session.subscriptions.values())
            if subscription_id == "all"
            else [session.get(subscription_id)]
        )
        for sub in chosen:
            session.stop(sub)
        return "\n".join(sub.status() for sub in chosen) or "no subscriptions in this session"

    @tool_errors
    async def logstream_poll(
        self,
        ctx: Ctx,
        subscription_id: Annotated[
            str | None, Field(description="One subscription (default: all of this session's).")
        ] = None,
        limit: Annotated[int, Field(description="Items to take at most (200).")] = 50,
    ) -> str:
        """What live subscriptions received since the last poll (record batches, anomalies, incidents,
        alerts), and each one's state — for clients that do not show pushed notifications to the agent."""
        check_limit(limit, 200)
        session = self.subscriptions(ctx)
        chosen = (
            list(session.subscriptions.values())
            if subscription_id is None
            else [session.get(subscription_id)]
        )
        if not chosen:
            return "no subscriptions in this session: start one with logstream_start"
        lines: list[str] = []
        for sub in chosen:
            lines.append(sub.status())
            for item in sub.drain(limit):
                lines += ["  " + line for line in render.live_event_line(item)]
        return "\n".join(fit(lines))


async def push_log(connection: Connection, level: str, data: dict[str, Any]) -> None:
    """One MCP log notification on the session's own channel, unless the client set a higher level
    (logging/setLevel) or speaks a protocol where servers may not push log messages unasked."""
    if connection.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return
    floor = connection.state.get(LOG_LEVEL_KEY, "debug")
    if LOG_LEVELS.index(level) < LOG_LEVELS.index(floor):
        return
    await connection.notify("notifications/message", {"level": level, "logger": LOGGER_NAME, "data": data})


async def set_log_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    """`logging/setLevel`: the lowest level of live notifications this session wants."""
    session_connection(ctx).state[LOG_LEVEL_KEY] = params.level
    return EmptyResult()


TOOLS: dict[str, ToolAnnotations] = {
    "list_services": READ, "list_fields": READ, "get_stats": READ, "logstream_query": READ,
    "logstream_search": READ, "get_context": READ, "correlate_trace": READ, "get_patterns": READ,
    "detect_anomalies": READ, "list_incidents": READ, "explain_incident": READ, "summary": READ,
    "diff": READ, "ask": READ, "alert_list": READ, "export": READ, "alert_create": WRITE,
    "logstream_start": READ, "logstream_stop": READ, "logstream_poll": READ,
}  # fmt: skip
"""Every tool and its hints: all read-only but alert_create (subscriptions change nothing but the session)."""


def build_server(store_path: Path, config: Config) -> MCPServer[None]:
    """The MCP server over the logs of `store_path` (through its daemon when one runs)."""
    tools = LoglensTools(LogAccess(store_path, config))
    server: MCPServer[None] = MCPServer(
        "loglens",
        title="loglens",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=tools.lifespan,
        log_level="WARNING",  # the SDK configures logging: no line per API call on stderr
    )
    for name, hints in TOOLS.items():
        method = getattr(tools, name)
        title = name.replace("_", " ")
        annotations = hints.model_copy(update={"title": title})
        server.add_tool(method, name=name, description=inspect.getdoc(method), annotations=annotations,
                        structured_output=False)  # fmt: skip
    # Registered so the server declares the logging capability and the client can choose a level.
    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_log_level)
    return server


def run_stdio(store_path: Path, config: Config) -> None:
    """Serves MCP on stdin/stdout until the client closes them (`loglens mcp`)."""
    build_server(store_path, config).run("stdio")
