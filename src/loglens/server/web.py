"""The dashboard: static files from `loglens/web/`, served at `/` to browsers, with a strict CSP.

`GET /` is asked by two kinds of client: a browser (it accepts `text/html`) gets the dashboard; an
Elasticsearch client or shipper probing the server gets the ES-shaped info it insists on. The files
hold no data and need no token; the dashboard sends the token (when auth is on) with every API call.

The Content-Security-Policy allows scripts, styles and connections from this origin only, and no
inline script at all: even if log text ever reached the page as markup, it could not run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loglens.server.shippers import ELASTIC

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ES_INFO = {"name": "loglens", "tagline": "You Know, for Logs", "version": {"number": "9.0.0"}, "api": "/docs"}

router = APIRouter()


def wants_html(request: Request) -> bool:
    """True for a browser's navigation (it lists text/html among what it accepts)."""
    return "text/html" in request.headers.get("accept", "")


@router.get("/", include_in_schema=False, response_model=None)
async def home(request: Request) -> Response:
    """The dashboard for a browser; the Elasticsearch info for a client probing the server."""
    if wants_html(request):
        return FileResponse(
            WEB_ROOT / "index.html", media_type="text/html", headers={"cache-control": "no-cache"}
        )
    return JSONResponse(ES_INFO, headers=ELASTIC)


class SecurityHeaders:
    """ASGI middleware adding the CSP and its companions to the dashboard's responses (`/` and
    `/ui/…`); the API's JSON needs none, and /docs loads its own scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in SECURITY_HEADERS
                ]
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
