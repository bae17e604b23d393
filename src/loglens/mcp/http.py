"""MCP over streamable HTTP inside the daemon: an ASGI app for the `/mcp` route of `loglens up`,
checking loglens's own access tokens and starting the SDK's session manager on first use (the
daemon's server runs without ASGI lifespan events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from urllib.parse import parse_qsl

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from loglens.config import Config
from loglens.mcp.server import build_server
from loglens.server.auth import (
    Authenticator,
    TenantRefused,
    presented_secrets,
    requested_tenant,
    resolve_tenant,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class McpHttpApp:
    """The MCP endpoint as an ASGI app, whatever path it is routed at. With `[[server.tokens]]`
    configured, a request needs a token with the `read` scope (as the query API does); the tools then
    call the API with that same token, so `alert_create` needs one with `admin`. A tenant header is
    checked as the API checks it (400 for a name that is not one, 403 for another tenant than the
    token's) and passed on with every call, so an agent of a tenant reads that tenant's logs only."""

    def __init__(self, manager: StreamableHTTPSessionManager, authenticator: Authenticator) -> None:
        self.manager = manager
        self.authenticator = authenticator
        self._running: asyncio.Event | None = None
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        await self.start()
        await self.manager.handle_request(scope, receive, send)

    async def start(self) -> None:
        """Runs the session manager in a task of this event loop, once, until `stop`."""
        if self._running is None:
            self._running = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run(self._running))
        await self._running.wait()
        if self._runner is not None and self._runner.done():
            self._runner.result()  # the manager failed to start (or was stopped): say why

    async def stop(self) -> None:
        """Ends every MCP session (their live subscriptions with them)."""
        self._stop.set()
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _run(self, running: asyncio.Event) -> None:
        try:
            async with self.manager.run():
                running.set()
                await self._stop.wait()
        finally:
            running.set()  # requests waiting for a manager that failed must not wait forever

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when tokens are on and the request lacks one with the read scope, or
        when the tenant it names cannot be granted."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = None
        if self.authenticator.enabled:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            token = self.authenticator.identify(presented_secrets(headers, query))
            if token is None:
                return 401, "a token with the read scope is required (docs/api.md, Access)"
            if not token.allows("read"):
                return 403, f"the token {token.name!r} does not have the read scope"
        try:
            resolve_tenant(token, requested_tenant(headers))
        except TenantRefused as exc:
            return exc.status, exc.reason
        return None


async def _answer(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"error": reason}).encode()
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="loglens"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mcp_http_app(store_path: Path, config: Config, host: str = "127.0.0.1") -> McpHttpApp:
    """The `/mcp` endpoint for the daemon serving `store_path` and listening on `host`: on loopback the
    SDK's DNS-rebinding protection is on (Host and Origin must be local)."""
    server = build_server(store_path, config)
    # Building the SDK's own app makes its session manager; only the manager is served, so the route
    # can live at any path of the daemon's app. Off loopback, clients send the machine's own name as
    # Host, which the SDK's loopback-only check would refuse: there the tokens guard the endpoint.
    server.streamable_http_app(host=host if host in LOOPBACK else "0.0.0.0")
    return McpHttpApp(server.session_manager, Authenticator(config.server.tokens))
