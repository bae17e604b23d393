"""HTTP ingest: a push is acknowledged (2xx) only once its records are committed to the store.

`POST /ingest` takes raw text (one event per line, multi-line events framed as in a file, the format
detected or given with `?format=`), or JSON lines when sent as JSON (`?msg_field=`, `?time_field=`,
`?service_field=` map its keys, as VictoriaLogs' `_msg_field` … do), with `?service=` and `?source=`.
The stock shippers' endpoints are in `shippers.py`. Bodies may be compressed; bodies over the cap
get 413; a full inbox gets 429 with Retry-After; an undecodable body gets 400 saying why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from loglens.inbox import Inbox, IngestJob
from loglens.server.auth import request_tenant
from loglens.server.decode import FieldMapping, PayloadError, PayloadTooLarge, decode_ndjson, decompress

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter()

ACK_TIMEOUT_S = 60.0
MAX_ERRORS_SHOWN = 20
JSON_TYPES = ("application/json", "application/x-ndjson", "application/jsonlines", "application/x-jsonlines")
D = TypeVar("D")
RETRY_AFTER_S = 1


class Refused(Exception):
    """A push that is answered with an error status before it reaches the inbox."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


INBOX_FULL = "loglens is taking in more than it can store: retry shortly"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body as sent (compressed or not), refused (413) past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body of {int(declared):,} bytes is over the limit of {limit:,}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_decoded_body(request: Request, limit: int) -> bytes:
    """The body with its Content-Encoding (gzip, deflate, snappy, zstd) undone, at most `limit` bytes
    either way (a compression bomb is cut there: 413); an undecodable body is a 400. While the
    inbox is full, the push is refused (429) before anything is read or decoded: shedding load must
    cost less than taking it."""
    inbox: Inbox = request.app.state.daemon.inbox
    if not inbox.admits_more():
        raise Refused(429, INBOX_FULL)
    body = await read_body(request, limit)
    try:
        return decompress(body, request.headers.get("content-encoding"), limit)
    except PayloadTooLarge as exc:
        raise Refused(413, str(exc)) from None
    except PayloadError as exc:
        raise Refused(400, str(exc)) from None


async def acknowledge(daemon: Daemon, job: IngestJob) -> IngestJob:
    """Queues `job` and waits until its records are committed; raises Refused when the inbox is
    full (429), the commit does not come in time (503) or the records could not be stored (500):
    every endpoint answers 2xx only for records that are on disk."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[IngestJob] = loop.create_future()

    def settle() -> None:
        if not done.done():
            done.set_result(job)

    def finished(_: IngestJob) -> None:
        loop.call_soon_threadsafe(settle)

    job.on_done = finished
    if not daemon.ingests:
        raise Refused(503, f"this node's role is {daemon.role}: send logs to an ingest node")
    if not daemon.inbox.submit(job):
        raise Refused(429, INBOX_FULL)
    try:
        await asyncio.wait_for(done, ACK_TIMEOUT_S)
    except TimeoutError:
        raise Refused(503, "the push was queued but not committed in time; it may still be stored") from None
    if job.error is not None:
        raise Refused(500, f"not stored: {job.error}")
    return job


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in JSON_TYPES


def _param(request: Request, name: str) -> str | None:
    """A field-mapping parameter, by its name or VictoriaLogs' (`_msg_field`, …)."""
    return request.query_params.get(name) or request.query_params.get("_" + name)


def push_tenant(request: Request) -> str:
    """The tenant a push's records get: the request's ('' for none; docs/api.md, Tenants)."""
    return request_tenant(request) or ""


def push_limit(daemon: Daemon) -> int:
    """Records one push may hold: what the inbox can take at most."""
    return daemon.config.server.inbox_records


async def decode_body(daemon: Daemon, decode: Callable[..., D], body: bytes, *args: Any, **kwargs: Any) -> D:
    """Runs a decoder (in the daemon's decode pool when the body is big), turning an unreadable
    payload into 400 (413 when too large)."""
    try:
        return await daemon.decoders.run(decode, body, *args, **kwargs)
    except PayloadTooLarge as exc:
        raise Refused(413, str(exc)) from None
    except PayloadError as exc:
        raise Refused(400, str(exc)) from None


def refusal(exc: Refused) -> JSONResponse:
    """The error response of a refused push (with Retry-After on 429)."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 429 else None
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)


@router.post("/ingest", summary="Raw text lines (any format loglens reads)")
async def ingest_text(
    request: Request,
    service: Annotated[
        str | None, Query(description="Service of the records (default: from the source).")
    ] = None,
    source: Annotated[str, Query(description="Name of the sender, as a file name would be.")] = "http",
    format: Annotated[str | None, Query(description="Format name; default: detected.")] = None,
) -> JSONResponse:
    """Stores the body's lines; answers once they are committed: `{"accepted": N}`."""
    daemon: Daemon = request.app.state.daemon
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        if _is_json(request):
            mapping = FieldMapping(
                message_field=_param(request, "msg_field"),
                time_field=_param(request, "time_field"),
                service_field=_param(request, "service_field"),
                default_service=service or source,
            )
            limit = push_limit(daemon)
            decoded = await decode_body(
                daemon,
                decode_ndjson,
                body,
                mapping,
                time.time_ns(),
                max_records=limit,
                levels=daemon.ingestor.levels,
            )
            job = await acknowledge(
                daemon, IngestJob(records=decoded.records, source=source, tenant=push_tenant(request))
            )
            return JSONResponse({"accepted": job.stored, "errors": decoded.errors[:MAX_ERRORS_SHOWN]})
        text = body.decode("utf-8", "backslashreplace")
        # CRLF and a lone CR end lines, as in files (sources/lines.py).
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if format is not None:
            from loglens.formats import format_names

            if format not in format_names():
                raise Refused(400, f"unknown format {format!r}; choose one of: {', '.join(format_names())}")
        job = await acknowledge(
            daemon,
            IngestJob(
                lines=lines, source=source, service=service, format=format, tenant=push_tenant(request)
            ),
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({"accepted": job.stored})
