"""The daemon's live channel for the log pane: `/api/live?batch=true` over a WebSocket, as decoded
messages (records, anomalies, incidents, alerts, missed counts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import connect

from loglens.client import websocket_ssl
from loglens.tui.data import LogFilter

MAX_MESSAGE_BYTES = 64 * 2**20
"""One batch of records that arrived together; bounded so a flood cannot take all memory."""
HEARTBEAT_S = 5.0
"""Asked of the daemon, so a channel that went quiet because the daemon died is noticed soon."""


def live_url(daemon_url: str, log_filter: LogFilter) -> str:
    """The WebSocket address of the daemon's live channel with the filter's parameters."""
    base = "ws" + daemon_url.removeprefix("http") if daemon_url.startswith("http") else daemon_url
    params = {**log_filter.params(), "batch": "true", "heartbeat": HEARTBEAT_S}
    return f"{base.rstrip('/')}/api/live?{urlencode(params, doseq=True)}"


async def live_messages(
    daemon_url: str, token: str | None, log_filter: LogFilter, tls_cert: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Messages until the daemon closes the channel (raises OSError or a websockets error when it
    cannot be reached or goes away; a refused query closes it with code 1008 and the reason)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = live_url(daemon_url, log_filter)
    async with connect(
        url,
        ssl=websocket_ssl(url, tls_cert),
        additional_headers=headers,
        proxy=None,  # the daemon is local or named directly: an HTTP proxy from the environment is not for it
        max_size=MAX_MESSAGE_BYTES,
        open_timeout=10,
    ) as channel:
        async for message in channel:
            yield orjson.loads(message)
