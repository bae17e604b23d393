"""The FastAPI application of `loglens up` (routes in `ingest.py` and `api.py`).

Routes get the running daemon from `request.app.state.daemon`; nothing here owns state of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from loglens.errors import LoglensError
from loglens.server.auth import Authenticator, require

if TYPE_CHECKING:
    from loglens.daemon import Daemon


def create_app(daemon: Daemon) -> FastAPI:
    """The application serving `daemon`."""
    from loglens.server.api import metrics_router
    from loglens.server.api import router as api_router
    from loglens.server.ingest import router as ingest_router
    from loglens.server.shippers import router as shippers_router

    app = FastAPI(
        title="loglens",
        summary="Logs in from any shipper; search, patterns, anomalies and incidents out.",
        version="0.1.0",
    )
    app.state.daemon = daemon
    app.state.authenticator = Authenticator(daemon.config.server.tokens)
    ingest, read = [Depends(require("ingest"))], [Depends(require("read"))]
    app.include_router(ingest_router, dependencies=ingest)
    app.include_router(api_router, dependencies=read)
    app.include_router(metrics_router, dependencies=read)
    app.include_router(shippers_router, dependencies=ingest)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        # Until the dashboard is served here: the API's own pages.
        return RedirectResponse("/docs")

    @app.exception_handler(LoglensError)
    async def loglens_error(request: Request, exc: LoglensError) -> JSONResponse:
        # A bad query, range or option is the caller's to fix: 400 with the sentence saying how.
        return JSONResponse({"error": str(exc)}, status_code=400)

    return app
