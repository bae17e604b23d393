"""The live channel: records as they are read, and anomalies and incidents as the detectors find
them, pushed to subscribers (SSE at `/api/live/sse`, WebSocket at `/api/live`).

The pipeline thread publishes each batch to every subscriber's own bounded buffer and moves on: it
never waits for a subscriber and never filters for one. Each subscriber's task (in the server's event
loop) filters its buffer with its query and sends what matches. A subscriber that falls more than
its buffer behind loses the oldest records and is told how many it missed — a slow reader never
slows ingest. A heartbeat comment keeps idle connections (and proxies) alive.

A tenant's subscriber is offered its tenant's records only (so another tenant's flood can neither
reach it nor push its own records out of its buffer), and no detector or alert events: the live
detectors and alert rules watch every tenant's records together.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson

from loglens.analysis.live_watch import event_services
from loglens.output import record_json
from loglens.record import Record

SUBSCRIBER_BUFFER = 10_000
"""Records one subscriber may be behind before the oldest are dropped (and counted as missed)."""
EVENT_BUFFER = 1_000
"""Anomaly and incident messages one subscriber may be behind (they are rare; a reader this far
behind has missed the oldest, counted with the records it missed)."""


class Subscriber:
    """One live listener: its buffer, what it missed, how to wake its task, and its tenant (None:
    the operator's view of every tenant)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: int = SUBSCRIBER_BUFFER, tenant: str | None = None
    ) -> None:
        self._loop = loop
        self.tenant = tenant
        self._buffer: deque[Record] = deque()
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENT_BUFFER)
        self._limit = limit
        self._lock = threading.Lock()
        self.missed = 0
        self.ready = asyncio.Event()

    def offer(self, records: Sequence[Record]) -> None:
        """From the pipeline thread: keeps the newest `limit` records (of its tenant), counts what
        falls out."""
        if self.tenant is not None:
            tenant = self.tenant
            records = [record for record in records if record.tenant == tenant]
            if not records:
                return
        with self._lock:
            self._buffer.extend(records)
            overflow = len(self._buffer) - self._limit
            if overflow > 0:
                for _ in range(overflow):
                    self._buffer.popleft()
                self.missed += overflow
        self._loop.call_soon_threadsafe(self.ready.set)

    def offer_event(self, event: dict[str, Any]) -> None:
        """From the pipeline thread: an anomaly or incident message (the oldest falls out when full);
        none for a tenant's subscriber."""
        if self.tenant is not None:
            return
        with self._lock:
            if len(self._events) == EVENT_BUFFER:
                self.missed += 1
            self._events.append(event)
        self._loop.call_soon_threadsafe(self.ready.set)

    def take(self) -> tuple[list[Record], list[dict[str, Any]], int]:
        """The records and events that arrived since the last take, and how many were missed."""
        with self._lock:
            records, self._buffer = list(self._buffer), deque()
            events = list(self._events)
            self._events.clear()
            missed, self.missed = self.missed, 0
        self.ready.clear()
        return records, events, missed


class LiveHub:
    """Fans batches out to subscribers (thread-safe)."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def publish(self, records: list[Record]) -> None:
        """Hands a stored batch to every subscriber (called by the pipeline thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer(records)

    def publish_event(self, event: dict[str, Any]) -> None:
        """Hands an anomaly or incident message to every subscriber (called by the pipeline thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer_event(event)

    def subscribe(self, limit: int = SUBSCRIBER_BUFFER, tenant: str | None = None) -> Subscriber:
        """A new subscriber, fed from now on (with `tenant`, that tenant's records only)."""
        subscriber = Subscriber(asyncio.get_running_loop(), limit, tenant)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stops feeding `subscriber`."""
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def count(self) -> int:
        """Subscribers now."""
        return len(self._subscribers)


async def live_messages(
    hub: LiveHub,
    matcher: Callable[[Sequence[Record]], list[Record]],
    heartbeat_s: float,
    limit: int = SUBSCRIBER_BUFFER,
    services: Sequence[str] = (),
    batched: bool = False,
    tenant: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """What a subscriber is sent, as objects: `{"type": "record", "record": …}` (or, `batched`, one
    `{"type": "records", "records": […]}` for all the records that arrived together), `{"type":
    "anomaly", "anomaly": …}`, `{"type": "incident", "state": "opened"|"closed", "incident": …}`,
    `{"type": "missed", "missed": N}` and `{"type": "heartbeat"}` (the one source of both the SSE and
    WebSocket channels). `services`, when given, also filters anomalies and incidents (by the
    services they concern); the query and level filter records only. With `tenant`, only that
    tenant's records are sent, and no events."""
    wanted = set(services)
    subscriber = hub.subscribe(limit, tenant)
    try:
        yield {"type": "connected"}
        while True:
            try:
                await asyncio.wait_for(subscriber.ready.wait(), heartbeat_s)
            except TimeoutError:
                yield {"type": "heartbeat"}
                continue
            records, events, missed = subscriber.take()
            if missed:
                yield {"type": "missed", "missed": missed}
            matched = matcher(records)
            if batched:
                if matched:
                    yield {"type": "records", "records": [record_json(record) for record in matched]}
            else:
                for record in matched:
                    yield {"type": "record", "record": record_json(record)}
            for event in events:
                if not wanted or wanted & set(event_services(event)):
                    yield event
    finally:
        hub.unsubscribe(subscriber)


async def sse_events(
    hub: LiveHub,
    matcher: Callable[[Sequence[Record]], list[Record]],
    heartbeat_s: float,
    limit: int = SUBSCRIBER_BUFFER,
    services: Sequence[str] = (),
    tenant: str | None = None,
) -> AsyncIterator[bytes]:
    """Server-sent events: `event: record` with a record's JSON (as `logs --json`), `event: anomaly`
    and `event: incident` with the message as the WebSocket sends it, `event: missed` with
    `{"missed": N}` when the buffer overflowed, and a `: heartbeat` comment when idle. The records
    that arrived together go out in one write (one event each): a write per record cost more than
    encoding it."""
    async for message in live_messages(hub, matcher, heartbeat_s, limit, services, True, tenant):
        kind = message["type"]
        if kind in ("connected", "heartbeat"):
            yield b": " + kind.encode() + b"\n\n"
        elif kind == "missed":
            yield b"event: missed\ndata: " + orjson.dumps({"missed": message["missed"]}) + b"\n\n"
        elif kind == "records":
            yield b"".join(
                b"event: record\ndata: " + orjson.dumps(one) + b"\n\n" for one in message["records"]
            )
        else:
            yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(message) + b"\n\n"
