"""The NATS JetStream connection a node keeps: one asyncio loop on a thread of its own, which the
pipeline's threads hand coroutines to (nats-py is asyncio-only; the pipeline is threads).

Also the stream and the lease bucket every node declares on start (idempotent: whichever node starts
first creates them, the others find them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from loglens.bus.settings import BusSettings
from loglens.errors import LoglensError

__all__ = ["BusError", "NatsBus", "follow_records", "lease_bucket"]

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10.0
DUPLICATE_WINDOW_S = 120.0
"""JetStream drops a message whose Nats-Msg-Id it saw this recently (a republished file chunk)."""


class BusError(LoglensError):
    """The bus cannot be reached or refused what loglens asked of it."""


def lease_bucket(settings: BusSettings) -> str:
    """The key-value bucket holding partition leases and node heartbeats."""
    return f"{settings.stream}_leases"


class NatsBus:
    """A connected node: `run` and `submit` execute coroutines on the bus loop."""

    def __init__(self, settings: BusSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="loglens-bus", daemon=True)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._leases: KeyValue | None = None

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "start() first"
        return self._js

    @property
    def leases(self) -> KeyValue:
        assert self._leases is not None, "start() first"
        return self._leases

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def start(self) -> None:
        """Connects and declares the stream and the lease bucket; raises BusError naming the URL."""
        self._thread.start()
        try:
            self.run(self._connect(), CONNECT_TIMEOUT_S * 2)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            self.close()
            raise BusError(f"cannot use the bus at {self.settings.url}: {exc or type(exc).__name__}") from exc

    async def _connect(self) -> None:
        servers = [url.strip() for url in self.settings.url.split(",") if url.strip()]
        self._nc = await nats.connect(
            servers,
            name=self.name,
            connect_timeout=CONNECT_TIMEOUT_S,
            max_reconnect_attempts=-1,  # a node outlives a restart of the server
            reconnect_time_wait=0.5,
            allow_reconnect=True,
        )
        self._js = self._nc.jetstream()
        await self._declare_stream()
        self._leases = await self._js.create_key_value(
            KeyValueConfig(
                bucket=lease_bucket(self.settings),
                ttl=self.settings.lease_ttl,
                history=1,
                storage=StorageType.FILE,
            )
        )

    async def _declare_stream(self) -> None:
        s = self.settings
        config = StreamConfig(
            name=s.stream,
            subjects=[f"{s.subject_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=s.max_age_days * 86_400 if s.max_age_days else None,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError as exc:  # exists with other limits: keep it as its operator set it
            if "already in use" not in str(exc.description or exc):
                raise

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Runs a coroutine on the bus loop and waits for its result (never from the loop itself)."""
        return self.submit(coro).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedules a coroutine on the bus loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        """Drains the connection (what was published is flushed) and stops the loop."""
        if self._thread.is_alive():
            if self._nc is not None and not self._nc.is_closed:
                with contextlib.suppress(Exception):
                    self.run(self._nc.drain(), 10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


async def follow_records(bus: NatsBus, wanted: Callable[[], bool], deliver: Callable[[bytes], None]) -> None:
    """Hands the payload of every record message published from now on to `deliver` while `wanted()`
    says someone is watching (a query node's live tail: no durable state, nothing acknowledged)."""

    async def on_message(message: Msg) -> None:
        if wanted():
            deliver(message.data)

    await bus.js.subscribe(
        f"{bus.settings.subject_prefix}.>",
        cb=on_message,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
    )
