"""The ingest node's writer: records go to JetStream instead of a store.

It stands where `StoreWriter` stands in the pipeline (`put`, `commit_then`, `commit`, `close`), so
every source and push endpoint works unchanged on an ingest node, and "committed" means what the push
endpoints promise: JetStream has acknowledged every message holding the records (written to its file
store). Template ids are not filled in: the process node owning the service mines.

Messages of one service leave in the order they were put (one publishing task, publish-async acks
awaited out of line), so a partition's consumer reads each service's records in order. A followed
file's position (its last checkpoint and the records published after it, as `StoreWriter` keeps it)
is saved in the shared store once everything before it is acknowledged: a crash of the ingest node
re-reads only what came after, and can publish twice only the records acknowledged in the moment
between the acknowledgement and the save.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from loglens.bus.codec import encode_messages
from loglens.bus.nats import NatsBus
from loglens.bus.partition import partition_key, partition_of, subject_for
from loglens.errors import LoglensError
from loglens.mining.drain import TemplateChange
from loglens.record import Record
from loglens.sources.file import Checkpoint
from loglens.store.base import Store

__all__ = ["BusPublisher"]

Committed = Callable[[BaseException | None], None]
MAX_PENDING_MESSAGES = 512
"""Messages published and not yet acknowledged, at most: past it `put` waits (backpressure)."""
ACK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class _Publish:
    subject: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Barrier:
    committed: Committed | None
    checkpoints: tuple[Checkpoint, ...]


def by_partition_key(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records grouped by partition key (their tenant's service), each group in the order given."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(partition_key(record.service, record.tenant), []).append(record)
    return groups


def save_checkpoints(store: Store, checkpoints: Sequence[Checkpoint]) -> None:
    """Saves file checkpoints in one transaction (no records with them: those went to the bus)."""
    store.append([])
    store.commit(checkpoints)


class BusPublisher:
    """Publishes put records to the bus; `commit_then` calls back once they are acknowledged."""

    def __init__(
        self, bus: NatsBus, store: Store | None = None, store_thread: Executor | None = None
    ) -> None:
        self._bus = bus
        self._store = store  # where file checkpoints are saved (the shared store); None: not saved
        # The thread that may write `store` (one writer per store object: with a process part in the
        # same daemon, its store thread), else the loop's default executor.
        self._store_thread = store_thread
        self._slots = threading.Semaphore(MAX_PENDING_MESSAGES)
        self._error: BaseException | None = None
        # Per followed file: its last checkpoint put and how many of its records were put after it.
        self._positions: dict[str, tuple[Checkpoint, int]] = {}
        self._moved: set[str] = set()
        self._queue: asyncio.Queue[_Publish | _Barrier | None] = bus.run(self._make_queue(), 10)
        self._tail: asyncio.Task[None] | None = None
        self._pump = bus.submit(self._run())
        self.published = 0
        self.commits = 0  # barriers settled (what /metrics counts as commits)

    @staticmethod
    async def _make_queue() -> asyncio.Queue[_Publish | _Barrier | None]:
        return asyncio.Queue()

    def _send(self, item: _Publish | _Barrier | None) -> None:
        self._bus.loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def begin(self, start: Checkpoint) -> None:
        """Says that a file is read from `start` on."""
        self._positions[start.path] = (start, 0)

    def put(
        self,
        batch: Sequence[Record],
        checkpoint: Checkpoint | None = None,
        templates: Sequence[TemplateChange] = (),
        source: str | None = None,
    ) -> None:
        """Publishes `batch`, a message per service and size limit; blocks while too many are
        unacknowledged."""
        if self._error is not None:
            raise self._error
        settings = self._bus.settings
        for key, records in by_partition_key(batch).items():
            partition = partition_of(key, settings.partitions)
            subject = subject_for(settings.subject_prefix, partition, key)
            for payload in encode_messages(records, settings.max_message_bytes):
                self._slots.acquire()
                self._send(_Publish(subject, payload))
        if checkpoint is not None:
            self._positions[checkpoint.path] = (checkpoint, 0)
            self._moved.add(checkpoint.path)
        elif source is not None and source in self._positions and batch:
            reached, after = self._positions[source]
            self._positions[source] = (reached, after + len(batch))
            self._moved.add(source)

    def flush(self) -> None:
        """Nothing is staged: `put` publishes at once."""

    def commit_then(self, committed: Committed) -> None:
        """Calls `committed` (from the bus thread) once everything put so far is acknowledged."""
        if self._error is not None:
            raise self._error
        checkpoints = []
        for moved in self._moved:
            reached, after = self._positions[moved]
            checkpoints.append(replace(reached, skip=reached.skip + after) if after else reached)
        self._moved.clear()
        self._send(_Barrier(committed, tuple(checkpoints)))

    def commit(self) -> None:
        """Waits until everything put so far is acknowledged (and its checkpoints saved)."""
        done = threading.Event()
        failure: list[BaseException | None] = [None]

        def settled(error: BaseException | None) -> None:
            failure[0] = error
            done.set()

        self.commit_then(settled)
        done.wait()
        if failure[0] is not None:
            raise failure[0]

    def close(self) -> None:
        """Waits for every acknowledgement, then stops publishing."""
        try:
            if self._error is None and not self._pump.done():
                self.commit()
        finally:
            self._send(None)
            with contextlib.suppress(Exception):
                self._pump.result(ACK_TIMEOUT_S)

    async def _run(self) -> None:
        pending: list[asyncio.Future[Any]] = []
        while (item := await self._queue.get()) is not None:
            if isinstance(item, _Publish):
                pending.append(await self._publish(item))
            else:
                waiting, pending = pending, []
                self._tail = asyncio.create_task(self._settle(self._tail, waiting, item))
        if self._tail is not None:
            await self._tail

    async def _publish(self, item: _Publish) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        try:
            future = await self._bus.js.publish_async(item.subject, item.payload)
        except Exception as exc:
            future = loop.create_future()
            future.set_exception(exc)
        # An acknowledgement lost with a connection never comes (the client does not time these out):
        # cancelled past ACK_TIMEOUT_S, the message counts as not taken and its slot is freed, or lost
        # acks would fill every slot and stop ingest for good.
        expiry = loop.call_later(ACK_TIMEOUT_S, future.cancel)

        def settled(_: asyncio.Future[Any]) -> None:
            expiry.cancel()
            self._slots.release()

        future.add_done_callback(settled)
        self.published += 1
        return future

    async def _settle(
        self, before: asyncio.Task[None] | None, waiting: list[asyncio.Future[Any]], barrier: _Barrier
    ) -> None:
        """Waits for the acks of a barrier's messages (after the barriers before it), saves its
        checkpoints, then calls back."""
        error: BaseException | None = None
        try:
            if before is not None:
                await before
            # Each future ends within ACK_TIMEOUT_S (acknowledged, refused, or cancelled by `_publish`).
            results = await asyncio.gather(*waiting, return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                lost = isinstance(failed[0], asyncio.CancelledError)
                why = "no acknowledgement in time" if lost else failed[0]
                error = LoglensError(f"the bus did not take {len(failed)} message(s): {why}")
                if barrier.checkpoints:
                    # Lines of a followed file were not taken: a later position must not be saved past
                    # them. The pipeline stops (the daemon exits and, restarted, reads from the last
                    # position saved); a push is only refused (its sender sends it again).
                    self._error = error
                raise error
            if self._error is not None:
                raise self._error
            if barrier.checkpoints and self._store is not None:
                store = self._store
                await asyncio.get_running_loop().run_in_executor(
                    self._store_thread, save_checkpoints, store, barrier.checkpoints
                )
        except Exception as exc:
            error = exc
        self.commits += 1
        if barrier.committed is not None:
            barrier.committed(error)
