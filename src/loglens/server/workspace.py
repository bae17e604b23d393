"""What the dashboard adds to the query API: records around a moment, the host's metrics, and the
notes and bookmarks people leave (stored, so everyone using this loglens sees them). The notes and
the host span every tenant: a tenant's request is refused them (403), and sees its own records only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from loglens.errors import QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.timerange import parse_time_bound
from loglens.server.discovery import api_record
from loglens.server.tenancy import RequestScope, operator_only
from loglens.store.base import ANNOTATION_KINDS, Annotation

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api")

MAX_CONTEXT = 200
MAX_ANNOTATION_CHARS = 2_000


def _bound(daemon: Daemon, text: str | None) -> int | None:
    return None if not text else parse_time_bound(text, tz=daemon.config.timezone)


@router.get("/context", summary="The records of a service just before and after a moment")
def context(
    request: Request,
    scope: RequestScope,
    ts: Annotated[str, Query(description="The moment (RFC 3339, or relative: now-5m).")],
    service: Annotated[str, Query(description="Whose records.")],
    before: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 10,
    after: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 10,
) -> dict[str, Any]:
    """`{"before": [...], "after": [...]}`: the records at `ts` and up to `before` before them, then up
    to `after` records after it, oldest first, as /api/logs returns them."""
    daemon: Daemon = request.app.state.daemon
    at = parse_time_bound(ts, tz=daemon.config.timezone)
    store = scope.store
    upto = store.search("service = ? AND ts <= make_timestamp_ns(?)", [service, at], before + 1)
    later = store.search("service = ? AND ts > make_timestamp_ns(?)", [service, at], after, oldest=True)
    return {
        "before": [api_record(r) for r in upto],
        "after": [api_record(r) for r in later],
    }


@router.get(
    "/host",
    summary="The daemon machine's CPU, memory, disk and network over time",
    dependencies=[Depends(operator_only)],
)
def host(
    request: Request,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """`{"every_s", "samples": [{"t", "cpu", "mem", "disk_read", "disk_write", "net_in", "net_out"}]}`
    (percent, and bytes per second), sampled by the daemon; kept for a day, in memory."""
    daemon: Daemon = request.app.state.daemon
    found = daemon.host.between(_bound(daemon, since), _bound(daemon, until))
    return {"every_s": daemon.host.every_s, "samples": [s.to_json(to_iso_ms(s.ts)) for s in found]}


class AnnotationIn(BaseModel):
    """A note on a time range (`until` omitted: a moment), or a bookmark on a record."""

    since: str = Field(description="RFC 3339 (or relative: now-5m).")
    until: str | None = None
    text: str = Field(min_length=1, max_length=MAX_ANNOTATION_CHARS)
    kind: str = "note"
    service: str | None = None
    record_id: int | None = None


def annotation_json(annotation: Annotation) -> dict[str, Any]:
    """An annotation as the API sends it."""
    return {
        "id": annotation.id,
        "created": to_iso_ms(annotation.created),
        "author": annotation.author,
        "kind": annotation.kind,
        "since": to_iso_ms(annotation.since),
        "until": None if annotation.until is None else to_iso_ms(annotation.until),
        "service": annotation.service,
        "record_id": annotation.record_id,
        "text": annotation.text,
    }


@router.get("/annotations", summary="Notes and bookmarks overlapping a time range")
def list_annotations(
    request: Request,
    scope: RequestScope,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Oldest first."""
    daemon: Daemon = request.app.state.daemon
    found = scope.store.annotations(_bound(daemon, since), _bound(daemon, until))
    return [annotation_json(a) for a in found]


@router.post("/annotations", summary="Leave a note on a time range, or bookmark a record", status_code=201)
def add_annotation(request: Request, scope: RequestScope, body: AnnotationIn) -> dict[str, Any]:
    """The stored annotation (with its id). The author is the token's name when auth is on."""
    daemon: Daemon = request.app.state.daemon
    if body.kind not in ANNOTATION_KINDS:
        raise QueryError(f"kind must be one of {', '.join(ANNOTATION_KINDS)}, not {body.kind!r}")
    since = parse_time_bound(body.since, tz=daemon.config.timezone)
    until = _bound(daemon, body.until)
    if until is not None and until < since:
        raise QueryError("until is before since")
    token = getattr(request.state, "token", None)
    annotation = Annotation(
        since=since, until=until, text=body.text, kind=body.kind, service=body.service,
        record_id=body.record_id, author=None if token is None else token.name,
    )  # fmt: skip
    new_id = scope.store.add_annotation(annotation)
    stored = [a for a in scope.store.annotations(since, None) if a.id == new_id]
    return annotation_json(stored[0])


@router.delete("/annotations/{annotation_id}", summary="Remove a note or bookmark", status_code=204)
def delete_annotation(scope: RequestScope, annotation_id: int) -> None:
    """404 when there is no such annotation."""
    if not scope.store.delete_annotation(annotation_id):
        raise HTTPException(404, f"no annotation {annotation_id}")
