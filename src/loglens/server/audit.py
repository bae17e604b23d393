"""The audit log: one JSON line per request the daemon answers — who (the token's name, or the
client's address when no tokens are configured), what (method, path, query), when, the answer's
status and how long it took. Beside the store by default (`audit.jsonl`), rotated by size."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loglens.formats.timestamp import to_iso_ms

AUDIT_FILE = "audit.jsonl"
ROTATE_BYTES = 64 * 1024 * 1024
"""The log is moved to `audit.jsonl.1` (replacing the previous one) once it reaches this size: at most
two files, so an API hammered for months does not fill the disk."""
UNAUDITED = ("/ui/",)
"""The dashboard's static files: not queries."""


class AuditLog:
    """Appends audit lines to a file (thread-safe), rotating it by size."""

    def __init__(self, path: Path, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.path = path
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self.written = 0

    def write(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry) + b"\n"
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size + len(line) > self.rotate_bytes:
                    self.path.replace(self.path.with_name(self.path.name + ".1"))
                with self.path.open("ab") as fh:
                    fh.write(line)
                self.written += 1
            except OSError:
                pass  # an audit line must never fail the request it describes


class AuditMiddleware:
    """ASGI middleware writing one audit line per HTTP request or WebSocket session, once answered."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(UNAUDITED):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "websocket.accept":
                status["code"] = 101
            elif message["type"] == "websocket.close" and not status["code"]:
                status["code"] = 403
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            token = scope.get("state", {}).get("token")
            tenant = scope.get("state", {}).get("tenant")
            client = scope.get("client")
            self.log.write(
                {
                    "ts": to_iso_ms(time.time_ns()),
                    "who": token.name if token is not None else f"anonymous@{client[0] if client else '?'}",
                    "tenant": tenant if isinstance(tenant, str) else None,
                    "method": scope.get("method", "WS"),
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status["code"] or 500,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
