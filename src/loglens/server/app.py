"""The FastAPI application of `loglens up` (routes in `ingest.py` and `api.py`).

Routes get the running daemon from `request.app.state.daemon`; nothing here owns state of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from loglens.errors import LoglensError, TenantScopeError
from loglens.json_text import dumps_any
from loglens.server.audit import AUDIT_FILE, AuditLog, AuditMiddleware
from loglens.server.auth import Authenticator, require
from loglens.server.tenancy import operator_only

if TYPE_CHECKING:
    from loglens.daemon import Daemon


def create_app(daemon: Daemon) -> FastAPI:
    """The application serving `daemon`."""
    from loglens.server.alerts import router as alerts_router
    from loglens.server.api import metrics_router
    from loglens.server.api import router as api_router
    from loglens.server.discovery import router as discovery_router
    from loglens.server.ingest import router as ingest_router
    from loglens.server.knowledge import router as knowledge_router
    from loglens.server.shippers import router as shippers_router
    from loglens.server.web import WEB_ROOT, SecurityHeaders
    from loglens.server.web import router as web_router
    from loglens.server.workspace import router as workspace_router

    app = FastAPI(
        title="loglens",
        summary="Logs in from any shipper; search, patterns, anomalies and incidents out.",
        version="0.1.0",
    )
    app.state.daemon = daemon
    app.state.authenticator = Authenticator(daemon.config.server.tokens)
    ingest, read = [Depends(require("ingest"))], [Depends(require("read"))]
    # Alerts are raised over every tenant's records, and /metrics counts them all: the operator's.
    operator = [*read, Depends(operator_only)]
    app.include_router(ingest_router, dependencies=ingest)
    app.include_router(alerts_router, dependencies=operator)
    app.include_router(knowledge_router, dependencies=read)
    app.include_router(discovery_router, dependencies=read)
    app.include_router(api_router, dependencies=read)
    app.include_router(workspace_router, dependencies=read)
    app.include_router(metrics_router, dependencies=operator)
    app.include_router(shippers_router, dependencies=ingest)

    app.include_router(web_router)
    app.mount("/ui", StaticFiles(directory=WEB_ROOT), name="ui")
    app.add_middleware(SecurityHeaders)
    audit = daemon.config.server.audit_log
    if audit != "off":
        app.state.audit = AuditLog(Path(audit) if audit else daemon.store_path.parent / AUDIT_FILE)
        app.add_middleware(AuditMiddleware, log=app.state.audit)

    @app.exception_handler(duckdb.OutOfMemoryException)
    async def store_busy(request: Request, exc: duckdb.OutOfMemoryException) -> JSONResponse:
        # Queries share DuckDB's memory cap: a busy moment is worth a retry, not a 500.
        reason = "the store is at its memory limit ([store] memory_limit): retry, or narrow the range"
        return JSONResponse({"error": reason}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(TenantScopeError)
    async def out_of_scope(request: Request, exc: TenantScopeError) -> JSONResponse:
        # Asked for something that spans every tenant from a tenant's request: not a bad request.
        return JSONResponse({"error": str(exc)}, status_code=403)

    @app.exception_handler(LoglensError)
    async def loglens_error(request: Request, exc: LoglensError) -> JSONResponse:
        # A bad query, range or option is the caller's to fix: 400 with the sentence saying how.
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own handler echoes the failing input and itself fails (a 500) when that is a body
        # that is not UTF-8 or text with a lone surrogate (fastapi/fastapi#13111): 422 whatever was sent.
        detail = jsonable_encoder(
            exc.errors(), custom_encoder={bytes: lambda raw: raw.decode("utf-8", "replace")}
        )
        return Response(dumps_any({"detail": detail}), status_code=422, media_type="application/json")

    return app
