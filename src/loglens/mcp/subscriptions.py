"""Live subscriptions of an MCP session: the daemon's live channel (`/api/live`, a WebSocket) read
for a filter, its records coalesced and its anomalies, incidents and alerts passed on as MCP log
notifications to the session that asked, and kept for `logstream_poll`.

Each subscription is bounded: at most MAX_PER_SESSION per session, one record notification per
PUSH_INTERVAL_S holding at most MAX_RECORDS_PER_PUSH records (the rest counted, not sent), at most
MAX_EVENTS_PER_WINDOW anomalies per EVENT_WINDOW_S (incidents and alerts always pass: they are rare,
and the point), and POLL_BUFFER items kept for polling. All of a session's subscriptions end with the
session.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import anyio
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from loglens.client import tenant_headers, websocket_ssl
from loglens.formats.timestamp import to_iso_ms
from loglens.mcp.guardrails import GuardrailError, clip

log = logging.getLogger("loglens.mcp")

MAX_PER_SESSION = 3
PUSH_INTERVAL_S = 1.0
MAX_RECORDS_PER_PUSH = 20
EVENT_WINDOW_S = 10.0
MAX_EVENTS_PER_WINDOW = 20
POLL_BUFFER = 200
DAEMON_BUFFER = 1_000
"""Records the daemon holds for this reader before dropping the oldest (and saying how many): a
subscription pushes 20 a second, so holding more would only cost the daemon memory."""
MAX_MESSAGE_BYTES = 8 * 2**20
CONNECT_TIMEOUT_S = 10.0
PUSH_MESSAGE_CHARS = 500
LOGGER_NAME = "loglens.live"

Push = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Sends one MCP log notification (level, data) to the subscribing session."""


@dataclass(frozen=True, slots=True)
class LiveFilter:
    """What a subscription wants: records matching `query`, `level` and `services` (`records`), and
    the anomalies, incidents and alerts concerning `services`, all when none is given (`events`)."""

    query: str = ""
    level: str | None = None
    services: tuple[str, ...] = ()
    records: bool = True
    events: bool = True

    def describe(self) -> str:
        parts = [f"query={self.query!r}" if self.query else "every record"]
        if self.level:
            parts.append(f"level {self.level}")
        if self.services:
            parts.append("services " + ",".join(self.services))
        wanted = [kind for kind, on in (("records", self.records), ("events", self.events)) if on]
        return ", ".join(parts) + " → " + " and ".join(wanted)


def live_url(daemon_url: str, wanted: LiveFilter) -> str:
    """The daemon's `/api/live` WebSocket URL for `wanted` (records batched as they arrived)."""
    parts = urlsplit(daemon_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    params: list[tuple[str, str]] = [("batch", "true"), ("buffer", str(DAEMON_BUFFER)), ("q", wanted.query)]
    if wanted.level:
        params.append(("level", wanted.level))
    params += [("service", name) for name in wanted.services]
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/api/live", urlencode(params), ""))


def compact_record(record: dict[str, Any]) -> dict[str, Any]:
    """A live record (as `loglens logs --json`) as a push carries it: time, level, service, host and
    its message's first line, cut short."""
    out = {
        "ts": record["ts"],
        "lvl": record["lvl"],
        "svc": record["svc"],
        "msg": clip(record["msg"], PUSH_MESSAGE_CHARS),
    }
    if record.get("host"):
        out["host"] = record["host"]
    return out


def compact_alert(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "rule", "severity", "state", "title", "labels", "count", "first_ts", "last_ts")
    return {key: alert.get(key) for key in keys}


def compact_message(message: dict[str, Any]) -> dict[str, Any] | None:
    """An anomaly, incident or alert message of the live channel as a push carries it (None for what
    is not pushed: heartbeats and the like)."""
    kind = message.get("type")
    if kind == "anomaly":
        a = message["anomaly"]
        keys = ("kind", "service", "severity", "start", "detail", "template_id", "template")
        return {"type": "anomaly", "anomaly": {key: a.get(key) for key in keys}}
    if kind == "incident":
        i = message["incident"]
        root = i.get("root_cause") or {}
        incident = {key: i.get(key) for key in ("id", "severity", "services", "start", "end")}
        incident["root_cause"] = {"service": root.get("service"), "template": root.get("template")}
        return {"type": "incident", "state": message.get("state"), "incident": incident}
    if kind == "alert":
        alerts = [message["alert"]] if "alert" in message else message["notification"].get("alerts", [])
        return {
            "type": "alert",
            "change": message.get("change"),
            "alerts": [compact_alert(a) for a in alerts],
        }
    return None


def notification_level(item: dict[str, Any]) -> str:
    """The MCP log level of a pushed item: records are info; findings by their severity."""
    kind = item["type"]
    if kind == "records":
        return "info"
    if kind == "anomaly":
        return "error" if item["anomaly"].get("severity") == "critical" else "warning"
    if kind == "incident":
        return "notice" if item.get("state") == "closed" else "critical"
    if kind == "alert":
        if item.get("change") in ("resolved", "acknowledged"):
            return "notice"
        severe = any(a.get("severity") == "critical" for a in item["alerts"])
        return "alert" if severe else "warning"
    return "warning"


class RecordBatcher:
    """Coalesces records: at most one batch per `interval_s`, of at most `max_records` (the first ones);
    what did not fit is counted in `more` (so is what the daemon said this reader missed)."""

    def __init__(self, interval_s: float = PUSH_INTERVAL_S, max_records: int = MAX_RECORDS_PER_PUSH) -> None:
        self.interval_s = interval_s
        self.max_records = max_records
        self.pending: list[dict[str, Any]] = []
        self.more = 0
        self.last_flush = float("-inf")

    def add(self, records: Sequence[dict[str, Any]]) -> None:
        room = self.max_records - len(self.pending)
        self.pending.extend(records[: max(room, 0)])
        self.more += max(len(records) - max(room, 0), 0)

    def wait_s(self, now: float) -> float | None:
        """Seconds until the pending batch is due (0: now), or None when nothing waits."""
        if not self.pending and not self.more:
            return None
        return max(0.0, self.last_flush + self.interval_s - now)

    def take(self, now: float) -> tuple[list[dict[str, Any]], int]:
        records, more = self.pending, self.more
        self.pending, self.more, self.last_flush = [], 0, now
        return records, more


class EventGate:
    """Lets at most `limit` events through per `window_s` (fixed windows); counts the rest."""

    def __init__(self, limit: int = MAX_EVENTS_PER_WINDOW, window_s: float = EVENT_WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
        self.window_start = float("-inf")
        self.passed = 0
        self.dropped = 0

    def allow(self, now: float) -> bool:
        if now - self.window_start >= self.window_s:
            self.window_start, self.passed = now, 0
        if self.passed < self.limit:
            self.passed += 1
            return True
        self.dropped += 1
        return False


@dataclass
class Subscription:
    """One live subscription: its filter, its state, what it sent and what waits to be polled."""

    id: str
    wanted: LiveFilter
    started: str = field(default_factory=lambda: to_iso_ms(time.time_ns()))
    state: str = "starting"
    reason: str | None = None
    records_pushed: int = 0
    records_skipped: int = 0
    events_pushed: int = 0
    events_skipped: int = 0
    polled_overflow: int = 0
    inbox: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=POLL_BUFFER))
    ready: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    def keep(self, item: dict[str, Any]) -> None:
        """For logstream_poll (the oldest item falls out when the buffer is full, and is counted)."""
        if len(self.inbox) == self.inbox.maxlen:
            self.polled_overflow += 1
        self.inbox.append(item)

    def drain(self, limit: int) -> list[dict[str, Any]]:
        return [self.inbox.popleft() for _ in range(min(limit, len(self.inbox)))]

    def status(self) -> str:
        ended = f" ({self.reason})" if self.reason else ""
        return (
            f"{self.id}: {self.state}{ended}, since {self.started}, {self.wanted.describe()}; pushed "
            f"{self.records_pushed} records ({self.records_skipped} coalesced away) and "
            f"{self.events_pushed} events ({self.events_skipped} over the rate limit); "
            f"{len(self.inbox)} items waiting to be polled"
        )


class SessionSubscriptions:
    """The live subscriptions of one MCP session (at most MAX_PER_SESSION running at once)."""

    def __init__(self, push: Push) -> None:
        self.push = push
        self.subscriptions: dict[str, Subscription] = {}
        self._ids = itertools.count(1)

    def running(self) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.state in ("starting", "live")]

    def add(self, wanted: LiveFilter) -> Subscription:
        running = self.running()
        if len(running) >= MAX_PER_SESSION:
            names = ", ".join(s.id for s in running)
            raise GuardrailError(
                f"this session already has {MAX_PER_SESSION} live subscriptions ({names}): stop one first, "
                f"e.g. logstream_stop(subscription_id='{running[0].id}'), or widen one's filter"
            )
        sub = Subscription(f"live-{next(self._ids)}", wanted)
        self.subscriptions[sub.id] = sub
        return sub

    def get(self, subscription_id: str) -> Subscription:
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            known = ", ".join(self.subscriptions) or "none yet: start one with logstream_start"
            raise GuardrailError(f"no subscription {subscription_id!r} in this session (known: {known})")
        return sub

    def stop(self, sub: Subscription, reason: str | None = None) -> None:
        if sub.state in ("starting", "live"):
            sub.state, sub.reason = "stopped", reason
        sub.scope.cancel()

    async def close(self) -> None:
        """The session ended: every subscription stops."""
        for sub in self.subscriptions.values():
            self.stop(sub, "the session ended")


async def follow(
    sub: Subscription,
    url: str,
    token: str | None,
    push: Push,
    tenant: str | None = None,
    tls_cert: str | None = None,
) -> None:
    """Reads the daemon's live channel for `sub` (as `tenant`, when given) until it is stopped or the
    channel ends, pushing what arrives. Never raises (it runs in the server's task group, which one
    failure would end): a failure ends the subscription with its reason, pushed too."""
    headers = tenant_headers(token, tenant)
    with sub.scope:
        try:
            async with connect(
                url,
                ssl=websocket_ssl(url, tls_cert),
                additional_headers=headers,
                open_timeout=CONNECT_TIMEOUT_S,
                max_size=MAX_MESSAGE_BYTES,
            ) as socket:
                first = orjson.loads(await socket.recv())
                if first.get("type") != "connected":
                    raise WebSocketException(f"the daemon answered {str(first)[:200]}")
                sub.state = "live"
                sub.ready.set()
                await _pump(sub, socket, push)  # returns only by an error or a stop
        except ConnectionClosed as exc:
            _end(sub, _closed_reason(exc))
        except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
            _end(sub, f"the daemon's live channel failed: {exc}")
        except Exception as exc:  # the boundary: see the docstring
            log.exception("live subscription %s failed", sub.id)
            _end(sub, f"the subscription failed: {exc!r}")
    sub.ready.set()
    if sub.state == "ended":
        item = {"subscription": sub.id, "type": "ended", "reason": sub.reason}
        sub.keep(item)
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            await _safe_push(push, "warning", item)


def _closed_reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is not None and frame.code == 1008:
        return f"the daemon refused the filter: {frame.reason}"
    if frame is not None and frame.code in (1001, 1012):  # going away, service restart
        return "the daemon stopped: start a new subscription once `loglens up` runs again"
    return f"the daemon closed the live channel ({frame.code if frame else 'no close frame'})"


def _end(sub: Subscription, reason: str) -> None:
    if sub.state in ("starting", "live"):
        sub.state, sub.reason = "ended", reason


async def _pump(sub: Subscription, socket: Any, push: Push) -> None:
    batcher, gate = RecordBatcher(), EventGate()
    while True:
        wait = batcher.wait_s(time.monotonic())
        raw: Any = None
        with anyio.move_on_after(wait if wait is not None else 3600):
            raw = await socket.recv()
        if raw is not None:
            message = orjson.loads(raw)
            kind = message.get("type")
            if kind == "records" and sub.wanted.records:
                batcher.add([compact_record(r) for r in message["records"]])
            elif kind == "missed" and sub.wanted.records:
                batcher.more += int(message.get("missed", 0))
            elif sub.wanted.events:
                item = compact_message(message)
                if item is not None:
                    await _send_event(sub, item, gate, push)
        now = time.monotonic()
        if batcher.wait_s(now) == 0:
            records, more = batcher.take(now)
            sub.records_pushed += len(records)
            sub.records_skipped += more
            item = {"subscription": sub.id, "type": "records", "records": records, "more": more}
            sub.keep(item)
            await _safe_push(push, "info", item)


async def _send_event(sub: Subscription, item: dict[str, Any], gate: EventGate, push: Push) -> None:
    # Only anomalies are rationed: an incident or an alert is what the agent subscribed for, and a
    # storm of anomalies (a failing minute makes several) must not crowd it out.
    if item["type"] == "anomaly" and not gate.allow(time.monotonic()):
        sub.events_skipped += 1
        return
    item = {"subscription": sub.id, **item}
    sub.events_pushed += 1
    sub.keep(item)
    await _safe_push(push, notification_level(item), item)


async def _safe_push(push: Push, level: str, item: dict[str, Any]) -> None:
    """A push is advisory: a session that cannot take it loses it (it stays in the poll buffer)."""
    try:
        await push(level, item)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
        log.debug("live push dropped: %s", exc)
