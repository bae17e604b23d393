"""The endpoints stock shippers push to, each answering the way its client expects.

Loki push (JSON and snappy protobuf), Elasticsearch `_bulk` (with the header the official client
insists on), OTLP/HTTP logs (protobuf and JSON), Splunk HEC (event and raw) and the Datadog logs
intake. Each decodes with `loglens.server.decode`, pushes the records through the inbox and answers
only once they are committed — or 429/413/400 as `ingest.py` says.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from loglens.inbox import IngestJob
from loglens.server.decode import (
    PayloadError,
    bulk_response,
    decode_datadog,
    decode_es_bulk,
    decode_hec_event,
    decode_hec_raw,
    decode_loki,
    decode_otlp,
    hec_error_response,
    hec_response,
    otlp_response,
)
from loglens.server.ingest import (
    Refused,
    acknowledge,
    decode_body,
    push_limit,
    push_tenant,
    read_body,
    read_decoded_body,
    refusal,
)

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter()
ELASTIC = {"X-Elastic-Product": "Elasticsearch"}


def limits(daemon: Daemon) -> dict[str, Any]:
    """What every decoder is given: the records one push may hold, and the level rules."""
    return {"max_records": push_limit(daemon), "levels": daemon.ingestor.levels}


def _daemon(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


@router.post("/loki/api/v1/push", summary="Loki push (JSON, or snappy protobuf as Promtail/Alloy send)")
async def loki_push(request: Request) -> Response:
    """204 once stored, as Loki answers."""
    daemon = _daemon(request)
    try:
        body = await read_body(request, daemon.config.server.max_body_bytes)
        headers = request.headers
        decoded = await decode_body(
            daemon,
            decode_loki,
            body,
            headers.get("content-type"),
            headers.get("content-encoding"),
            time.time_ns(),
            max_bytes=daemon.config.server.max_body_bytes,
            **limits(daemon),
        )
        await acknowledge(
            daemon, IngestJob(records=decoded.records, source="loki", tenant=push_tenant(request))
        )
    except Refused as exc:
        return refusal(exc)
    return Response(status_code=204)


@router.api_route("/_bulk", methods=["POST", "PUT"], summary="Elasticsearch bulk")
@router.api_route("/{index}/_bulk", methods=["POST", "PUT"], summary="Elasticsearch bulk into an index")
async def es_bulk(request: Request, index: str | None = None) -> Response:
    """An ES-shaped bulk answer, per item, with `X-Elastic-Product: Elasticsearch`."""
    daemon = _daemon(request)
    started = time.monotonic()
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        decoded = await decode_body(daemon, decode_es_bulk, body, time.time_ns(), index, **limits(daemon))
        await acknowledge(
            daemon,
            IngestJob(records=decoded.records, source=f"es:{index or '_bulk'}", tenant=push_tenant(request)),
        )
    except Refused as exc:
        answer = refusal(exc)
        answer.headers.update(ELASTIC)
        return answer
    took = round((time.monotonic() - started) * 1000)
    return JSONResponse(bulk_response(decoded, took), headers=ELASTIC)


@router.post("/v1/logs", summary="OTLP/HTTP logs (protobuf or JSON)")
async def otlp_logs(request: Request) -> Response:
    """An ExportLogsServiceResponse in the request's encoding (partial success when items failed)."""
    daemon = _daemon(request)
    content_type = request.headers.get("content-type", "application/x-protobuf")
    as_json = "json" in content_type
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        decoded = await decode_body(daemon, decode_otlp, body, content_type, time.time_ns(), **limits(daemon))
        await acknowledge(
            daemon, IngestJob(records=decoded.records, source="otlp", tenant=push_tenant(request))
        )
    except Refused as exc:
        return refusal(exc)
    media = "application/json" if as_json else "application/x-protobuf"
    return Response(otlp_response(decoded, as_json=as_json), media_type=media)


@router.post("/services/collector/event", summary="Splunk HEC events")
@router.post("/services/collector", summary="Splunk HEC events", include_in_schema=False)
async def hec_event(request: Request) -> JSONResponse:
    """`{"text": "Success", "code": 0}`, or HEC's error shape."""
    daemon = _daemon(request)
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        try:
            decoded = await daemon.decoders.run(decode_hec_event, body, time.time_ns(), **limits(daemon))
        except PayloadError as exc:  # HEC answers with its own error codes
            status, payload = hec_error_response(exc)
            return JSONResponse(payload, status_code=status)
        await acknowledge(
            daemon, IngestJob(records=decoded.records, source="hec", tenant=push_tenant(request))
        )
    except Refused as exc:
        return refusal(exc)
    status, payload = hec_response(decoded)
    return JSONResponse(payload, status_code=status)


@router.post("/services/collector/raw", summary="Splunk HEC raw lines")
async def hec_raw(request: Request) -> JSONResponse:
    """`{"text": "Success", "code": 0}`."""
    daemon = _daemon(request)
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        params = dict(request.query_params)
        decoded = await decode_body(daemon, decode_hec_raw, body, time.time_ns(), params, **limits(daemon))
        await acknowledge(
            daemon, IngestJob(records=decoded.records, source="hec", tenant=push_tenant(request))
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({"text": "Success", "code": 0})


@router.post("/api/v2/logs", summary="Datadog logs intake")
async def datadog_logs(request: Request) -> JSONResponse:
    """202 `{}` once stored, as the Datadog intake answers."""
    daemon = _daemon(request)
    try:
        body = await read_decoded_body(request, daemon.config.server.max_body_bytes)
        decoded = await decode_body(daemon, decode_datadog, body, time.time_ns(), **limits(daemon))
        await acknowledge(
            daemon, IngestJob(records=decoded.records, source="datadog", tenant=push_tenant(request))
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({}, status_code=202)
