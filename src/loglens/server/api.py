"""The query API: the CLI's views over HTTP, as JSON (the same objects as `--json`). Every view reads
through the request's `scope` (server/tenancy.py): a tenant's request sees its own records only."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel

from loglens.ai.incident_report import incident_report
from loglens.analysis.diff import diff_view
from loglens.analysis.explain import UnknownIncidentError
from loglens.analysis.findings import anomalies_view, replay_texts
from loglens.analysis.metrics import metrics_view
from loglens.analysis.patterns import RECENT_SHARE, pattern_json
from loglens.analysis.patterns import patterns as find_patterns
from loglens.analysis.report import incident_json
from loglens.analysis.summary import summary_view
from loglens.analysis.watch import Replay
from loglens.errors import LoglensError, QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.filters import record_filter
from loglens.query.matcher import live_matcher
from loglens.query.timerange import parse_duration
from loglens.server.discovery import api_record
from loglens.server.live import SUBSCRIBER_BUFFER, live_messages, sse_events
from loglens.server.metrics import metrics_text
from loglens.server.tenancy import RequestScope, Scope, replay_scoped

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api")
metrics_router = APIRouter()

MAX_LIMIT = 1_000_000


@router.get("/health", summary="Liveness and the daemon's vital figures")
async def health(request: Request, scope: RequestScope) -> dict[str, Any]:
    """`ok` while the pipeline runs; records stored, the inbox depth and refusals, uptime. A
    tenant's request gets the status, its own record count and the uptime only."""
    daemon: Daemon = request.app.state.daemon
    if scope.tenant is not None:
        return {
            "status": "ok" if daemon.failure is None else "failed",
            "tenant": scope.tenant,
            "records": scope.store.count(),
            "uptime_s": round(time.time() - daemon.started, 1),
        }
    return {
        "status": "ok" if daemon.failure is None else "failed",
        "error": None if daemon.failure is None else str(daemon.failure),
        "store": str(daemon.store_path),
        "records": daemon.store.count(),
        "inbox": {
            "depth": daemon.inbox.depth,
            "limit": daemon.inbox.max_records,
            "refused": daemon.inbox.refused,
        },
        "syslog": None
        if daemon.syslog_port is None
        else {
            "port": daemon.syslog_port,
            "received": daemon.syslog_counters.received,
            "dropped_inbox_full": daemon.syslog_counters.dropped,
        },
        "commands": [command.status() for command in daemon.live.commands],
        "node": daemon.node_status(),
        "uptime_s": round(time.time() - daemon.started, 1),
    }


@router.get("/logs", summary="Records matching a query, oldest first (the last `limit`)")
def logs(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    grep: Annotated[str | None, Query(description="Regular expression on the message.")] = None,
    level: Annotated[str | None, Query(description="error,warning or >=warning.")] = None,
    service: Annotated[list[str] | None, Query(description="Only these services.")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT, description="The last N; 0: all.")] = 100,
    first: Annotated[bool, Query(description="The first `limit` of the range instead of the last.")] = False,
) -> dict[str, Any]:
    """`{"records": [...], "count": N}` with records as in `loglens logs --json`, plus their `id`
    and `raw` text."""
    daemon: Daemon = request.app.state.daemon
    where = record_filter(daemon.config.timezone, q, grep, level, service or (), since, until)
    found = scope.store.search(where.where, where.params, limit or None, oldest=first)
    records = [api_record(r) for r in found]
    return {"records": records, "count": len(records)}


@router.get("/stats", summary="Hits per time bucket, by level, service, template or category")
def stats(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    level: Annotated[str | None, Query()] = None,
    service: Annotated[list[str] | None, Query()] = None,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    bucket: Annotated[str, Query(description="Bucket length: 10s, 1m, 1h, 1d.")] = "1m",
    by: Annotated[str, Query(pattern="^(level|service|template|category)$")] = "level",
) -> dict[str, Any]:
    """`{"bucket_ms", "by", "buckets": [{"start", "counts": {key: n}}]}` — a cheap size check
    before fetching records, and the timeline's histogram."""
    daemon: Daemon = request.app.state.daemon
    bucket_ns = parse_duration(bucket)
    if bucket_ns < 10**9:
        raise QueryError("bucket must be at least 1s")
    where = record_filter(daemon.config.timezone, q, None, level, service or (), since, until)
    buckets: dict[int, dict[str, int]] = {}
    for start, key, count in scope.store.hits(where.where, where.params, bucket_ns, by):
        buckets.setdefault(start, {})[key] = count
    return {
        "bucket_ms": bucket_ns // 10**6,
        "by": by,
        "buckets": [{"start": to_iso_ms(start), "counts": counts} for start, counts in buckets.items()],
    }


@router.get("/patterns", summary="Templates behind the records (as `loglens patterns --json`)")
def patterns(
    request: Request,
    scope: RequestScope,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    service: Annotated[list[str] | None, Query()] = None,
    top: Annotated[int, Query(ge=1, le=10_000)] = 20,
) -> list[dict[str, Any]]:
    """The `top` templates by count, with share, trend, level, first/last and a sample."""
    daemon: Daemon = request.app.state.daemon
    where = record_filter(daemon.config.timezone, services=service or (), since=since, until=until)
    found = find_patterns(scope.store.pattern_stats(where.where, where.params, RECENT_SHARE))
    return [pattern_json(p) for p in found[:top]]


def _replayed(
    daemon: Daemon, scope: Scope, since: str | None, until: str | None
) -> tuple[Replay, dict[str, str]]:
    """`replay_scoped` with the text of the templates its findings name."""
    found = replay_scoped(daemon, scope, since, until)
    return found, replay_texts(scope.store, found)


@router.get("/anomalies", summary="What the detectors found unusual (as `loglens anomalies --json`)")
def anomalies(
    request: Request,
    scope: RequestScope,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    service: Annotated[list[str] | None, Query()] = None,
    min_severity: Annotated[str, Query(pattern="^(info|warning|critical)$")] = "warning",
) -> list[dict[str, Any]]:
    """Anomalies at or above `min_severity`, oldest first, each with its template's text."""
    daemon: Daemon = request.app.state.daemon
    found = replay_scoped(daemon, scope, since, until)
    return anomalies_view(scope.store, daemon.config, since, until, service or (), min_severity, found)


@router.get("/incidents", summary="Incidents with their ranked root cause (as `loglens incidents --json`)")
def incidents(
    request: Request,
    scope: RequestScope,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    service: Annotated[list[str] | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Every incident in the range touching one of `service` (all when none is given)."""
    found, templates = _replayed(request.app.state.daemon, scope, since, until)
    return [
        incident_json(i, templates) for i in found.incidents if not service or set(service) & set(i.services)
    ]


@router.get("/incidents/{incident_id}", summary="One incident")
def incident(request: Request, scope: RequestScope, incident_id: str) -> dict[str, Any]:
    """The incident with this id (404 when there is none)."""
    found, templates = _replayed(request.app.state.daemon, scope, None, None)
    for item in found.incidents:
        if item.id == incident_id:
            return incident_json(item, templates)
    raise HTTPException(404, f"no incident {incident_id!r}")


@router.get(
    "/incidents/{incident_id}/explain",
    summary="One incident explained (as `loglens explain --json`)",
    responses={404: {"description": "No incident has this id; the answer names the latest ones."}},
)
def explain(
    request: Request,
    scope: RequestScope,
    incident_id: str,
    context: Annotated[
        int, Query(ge=0, description="Lines of the root cause's service before and after.")
    ] = 5,
) -> dict[str, Any]:
    """The incident (found by replaying the whole store) with its evidence lines and, around the root
    cause's first sign, `context` lines of the same service before and after it. An unknown id is a
    404 whose `detail` is the sentence `loglens explain` prints."""
    daemon: Daemon = request.app.state.daemon
    try:
        return incident_report(scope.store, daemon.config, incident_id, context)
    except UnknownIncidentError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get(
    "/summary",
    summary="Per service: lines, levels, patterns, anomalies, health (as `loglens summary --json`)",
)
def service_summary(
    request: Request,
    scope: RequestScope,
    service: Annotated[list[str] | None, Query(description="Only these services.")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
) -> list[dict[str, Any]]:
    """Per service in the range, busiest first: lines, levels, error templates, anomalies, restarts,
    health score, last error and top patterns (definitions in docs/cli.md)."""
    daemon: Daemon = request.app.state.daemon
    return summary_view(scope.store, daemon.config, service or (), since, until)


@router.get("/diff", summary="Build A vs build B (as `loglens diff --json`, plus `totals`)")
def diff(
    request: Request,
    scope: RequestScope,
    a: Annotated[
        str | None, Query(description="A's time range START..END: '1h..', '..30m', 'T1..T2'.")
    ] = None,
    b: Annotated[str | None, Query(description="B's time range (same forms).")] = None,
    a_source: Annotated[
        str | None, Query(description="A's source: the path as ingested, or a glob with *.")
    ] = None,
    b_source: Annotated[str | None, Query(description="B's source (same forms).")] = None,
    service: Annotated[list[str] | None, Query(description="Only these services, both sides.")] = None,
    top: Annotated[int, Query(ge=0, description="How many templates per list.")] = 20,
) -> dict[str, Any]:
    """Templates new in B, gone from A and changed in frequency, and the level mix (rules in
    docs/cli.md); `totals` counts each list before `top`. Give `a` and `b`, or `a_source` and
    `b_source`: anything else, an unreadable range or a side without records is a 400 saying so.
    Relative ranges are taken from one `now` for both sides."""
    daemon: Daemon = request.app.state.daemon
    return diff_view(
        scope.store,
        daemon.config.timezone,
        a_range=a,
        b_range=b,
        a_source=a_source,
        b_source=b_source,
        services=service or (),
        top=top,
        now_ns=time.time_ns(),
    )


@router.get("/metrics/series", summary="The daemon's [[metrics]] as time series (as `loglens metrics`)")
def metric_series(
    request: Request,
    scope: RequestScope,
    name: Annotated[
        list[str] | None, Query(description="Only these metrics, in this order (all when none).")
    ] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
) -> list[dict[str, Any]]:
    """Per `[[metrics]]` rule of the daemon's loglens.toml: `{"rule", "description", "group_by",
    "points"}`, the points as `loglens metrics --json` prints them (oldest window first). No metrics
    defined, or a name that is not one, is a 400 saying what to do."""
    daemon: Daemon = request.app.state.daemon
    return metrics_view(scope.store, daemon.config, name or (), since, until)


class SqlRequest(BaseModel):
    """`POST /api/sql` body."""

    sql: str


@router.post("/sql", summary="A read-only SQL statement (as `loglens sql`)")
def run_sql(scope: RequestScope, body: SqlRequest) -> Response:
    """`{"columns", "rows", "text"}`: `rows` as JSON (what `loglens sql --json` prints), `text` each
    value as the table shows it (a time's own text, not its JSON form). A tenant's request is
    refused (403): raw SQL would see every tenant's records."""
    columns, rows = scope.store.sql(body.sql)
    text = [["" if v is None else str(v) for v in row] for row in rows]
    answer = {"columns": columns, "rows": rows, "text": text}
    return Response(orjson.dumps(answer, default=str), media_type="application/json")


@metrics_router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Ingest, refusals and drops by reason, inbox depth, store size (Prometheus text format)."""
    return metrics_text(request.app.state.daemon)


@router.get("/live/sse", summary="Records as they are stored, filtered (server-sent events)")
async def live_sse(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    level: Annotated[str | None, Query()] = None,
    service: Annotated[list[str] | None, Query()] = None,
    heartbeat: Annotated[float, Query(gt=0, le=300, description="Seconds between heartbeats.")] = 15.0,
    buffer: Annotated[int, Query(ge=1, le=SUBSCRIBER_BUFFER)] = SUBSCRIBER_BUFFER,
) -> StreamingResponse:
    """`event: record` per matching record, `event: anomaly` / `event: incident` as the detectors
    find them, `event: missed` when this reader fell behind. A tenant's reader gets its own records
    only, and no detector events (the live detectors watch every tenant's records together)."""
    daemon: Daemon = request.app.state.daemon
    matcher = live_matcher(q, level, service or ())
    events = sse_events(daemon.hub, matcher, heartbeat, buffer, service or (), scope.tenant)
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.websocket("/live")
async def live_websocket(
    websocket: WebSocket,
    scope: RequestScope,
    q: str = "",
    level: str | None = None,
    service: Annotated[list[str] | None, Query()] = None,
    heartbeat: float = 15.0,
    buffer: int = SUBSCRIBER_BUFFER,
    batch: bool = False,
) -> None:
    """JSON messages: `{"type": "record", "record": …}` (with `batch=true`, one `{"type": "records",
    "records": […]}` per group of records that arrived together: what a screen wants at thousands of
    lines a second), `{"type": "anomaly", "anomaly": …}`, `{"type": "incident", "state":
    "opened"|"closed", "incident": …}`, `{"type": "missed", "missed": N}`, `{"type": "heartbeat"}` —
    the same channel as /api/live/sse (a tenant's: its records only, no detector events)."""
    daemon: Daemon = websocket.app.state.daemon
    await websocket.accept()
    try:
        matcher = live_matcher(q, level, service or ())
    except LoglensError as exc:  # 1008 (policy violation) with the reason, as the SSE route's 400
        await websocket.close(code=1008, reason=str(exc)[:120])
        return
    limit = max(1, min(buffer, SUBSCRIBER_BUFFER))

    async def pump() -> None:
        messages = live_messages(
            daemon.hub, matcher, max(0.1, heartbeat), limit, service or (), batch, scope.tenant
        )
        async for message in messages:
            await websocket.send_bytes(orjson.dumps(message))

    async def closed() -> None:
        # A client that goes away is noticed at once, not at the next heartbeat: until then its
        # handler held the server's shutdown (15 s with the default heartbeat).
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(closed())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
