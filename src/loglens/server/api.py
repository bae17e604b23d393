"""The query API: the CLI's views over HTTP, as JSON (the same objects as `--json`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request

from loglens.output import record_json
from loglens.query.filters import record_filter

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api")

MAX_LIMIT = 1_000_000


@router.get("/health", summary="Liveness and the daemon's vital figures")
async def health(request: Request) -> dict[str, Any]:
    """`ok` while the pipeline runs; records stored, the inbox depth and refusals, uptime."""
    daemon: Daemon = request.app.state.daemon
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
        "uptime_s": round(time.time() - daemon.started, 1),
    }


@router.get("/logs", summary="Records matching a query, oldest first (the last `limit`)")
def logs(
    request: Request,
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    grep: Annotated[str | None, Query(description="Regular expression on the message.")] = None,
    level: Annotated[str | None, Query(description="error,warning or >=warning.")] = None,
    service: Annotated[list[str] | None, Query(description="Only these services.")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT, description="The last N; 0: all.")] = 100,
) -> dict[str, Any]:
    """`{"records": [...], "count": N}` with records as in `loglens logs --json`, plus their `id`
    and `raw` text."""
    daemon: Daemon = request.app.state.daemon
    where = record_filter(daemon.config.timezone, q, grep, level, service or (), since, until)
    found = daemon.store.search(where.where, where.params, limit or None)
    records = [{**record_json(r), "id": r.id, "raw": r.raw} for r in found]
    return {"records": records, "count": len(records)}
