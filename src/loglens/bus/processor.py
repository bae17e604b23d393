"""The process node: consumes its partitions from JetStream, mines, stores, and runs the detectors.

Each partition the node holds (see leases.py) is read by a consumer starting right after the offset
the store holds for it, in stream order. A fetched run of messages is mined and appended, and the
store's offset for the partition is moved to the run's last sequence in the same transaction
(`Store.advance_offset`, a compare-and-set): a crash before the commit leaves the offset where it
was and the next holder reads the run again; a commit after another node took the partition fails.
So every acknowledged record is stored exactly once, and a service's records in the order its
ingest node published them.

Store work runs on one thread of its own (one transaction at a time, the bus loop stays free to
renew leases); the detectors and alert rules see each committed run there too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError, NotFoundError

from loglens.bus.codec import BusFormatError, decode_records
from loglens.bus.leases import NODE_PREFIX, node_key, wanted_partitions
from loglens.bus.nats import NatsBus
from loglens.bus.partition import (
    consumer_name,
    lease_key,
    offset_key,
    partition_filter,
    partition_key,
    partition_of,
)
from loglens.errors import StaleOffsetError
from loglens.mining.drain import TemplateMiner
from loglens.record import Record
from loglens.store.base import Store

__all__ = ["BusProcessor", "node_name"]

log = logging.getLogger(__name__)

FETCH_MESSAGES = 256
"""Messages fetched, mined and committed together (one transaction)."""
FETCH_WAIT_S = 0.5
ACK_WAIT_S = 120.0


def node_name() -> str:
    """A name unique to this process (host, pid and a random part: a restarted node is a new one)."""
    host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40]
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass
class _Held:
    """A partition this node holds: its lease revision, consumer task and stored offset."""

    revision: int
    offset: int
    task: asyncio.Task[None] | None = None
    stopping: bool = False


@dataclass
class ProcessorStats:
    """What /metrics and the tests read."""

    records: int = 0
    messages: int = 0
    skipped: int = 0
    bad_messages: int = 0
    stale_commits: int = 0
    failed_commits: int = 0
    failed_rounds: int = 0
    partitions: dict[int, int] = field(default_factory=dict)
    """Per partition held: its stored offset (last stream sequence committed)."""
    lag: dict[int, int] = field(default_factory=dict)
    """Per partition held: messages published and not yet consumed, as of the last fetch."""


class BusProcessor:
    """Holds partitions, consumes them into `store`, calls `on_records` after each commit."""

    def __init__(
        self,
        bus: NatsBus,
        store: Store,
        max_templates: int,
        on_records: Callable[[list[Record]], None] = lambda records: None,
        name: str | None = None,
    ) -> None:
        self._bus = bus
        self._store = store
        self._max_templates = max_templates
        self._on_records = on_records
        self.name = name or node_name()
        self._held: dict[int, _Held] = {}
        self._unclaimed_since: dict[int, float] = {}
        self._miner = TemplateMiner.from_changes([], max_templates)
        self._store_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="loglens-bus-store")
        self._main: concurrent.futures.Future[None] | None = None
        self._stop = False
        self.stats = ProcessorStats()

    @property
    def store_thread(self) -> concurrent.futures.Executor:
        """The one thread writing the store (others in this process hand it their writes)."""
        return self._store_thread

    @property
    def partitions(self) -> list[int]:
        """The partitions held now."""
        return sorted(p for p, held in self._held.items() if not held.stopping)

    def start(self) -> None:
        self._main = self._bus.submit(self._run())

    def call(self, work: Callable[[], None]) -> None:
        """Runs `work` on the store thread, after the runs queued before it (the detectors' ticks)."""
        with contextlib.suppress(RuntimeError):  # shut down
            self._store_thread.submit(self._guarded, work)

    @staticmethod
    def _guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("work on the bus store thread failed")

    def stop(self) -> None:
        """Stops consuming, releases the leases (others take over at once), waits for the last commit."""
        self._stop = True
        if self._main is not None:
            try:
                self._main.result(30)
            except Exception as exc:
                log.warning("bus processor stopped with %s", exc)
        self._store_thread.shutdown(wait=True)

    # The lease loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        settings = self._bus.settings
        period = settings.lease_ttl / 3
        try:
            while not self._stop:
                started = time.monotonic()
                try:
                    await self._rebalance()
                except Exception:
                    # The bus or the store failed this round (a restart, a cut connection): the leases
                    # not renewed lapse as they would for a dead node; the next round starts over.
                    self.stats.failed_rounds += 1
                    log.exception("bus processor: lease round failed")
                await asyncio.sleep(max(0.05, period - (time.monotonic() - started)))
        finally:
            for partition in list(self._held):
                await self._release(partition)
            with contextlib.suppress(Exception):
                await self._bus.leases.delete(node_key(self.name))

    async def _members(self) -> list[str]:
        try:
            keys = await self._bus.leases.keys()
        except NoKeysError:
            return []
        return [key[len(NODE_PREFIX) :] for key in keys if key.startswith(NODE_PREFIX)]

    async def _rebalance(self) -> None:
        kv = self._bus.leases
        await kv.put(node_key(self.name), b"1")
        for partition, held in list(self._held.items()):
            if held.task is not None and held.task.done():
                await self._release(partition)  # its consumer ended (lost the fence, failed)
                continue
            try:
                held.revision = await kv.update(lease_key(partition), self.name.encode(), last=held.revision)
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                log.warning("lease of partition %d lost; letting it go", partition)
                await self._release(partition, renounce=False)
        partitions = self._bus.settings.partitions
        wanted = wanted_partitions(self.name, await self._members(), partitions)
        for partition in list(self._held):
            if partition not in wanted:
                await self._release(partition)
        now = time.monotonic()
        for partition in range(partitions):
            if partition in self._held:
                continue
            long_free = now - self._unclaimed_since.get(partition, now) > 2 * self._bus.settings.lease_ttl
            if partition in wanted or long_free:
                await self._claim(partition)

    async def _claim(self, partition: int) -> None:
        try:
            revision = await self._bus.leases.create(lease_key(partition), self.name.encode())
        except KeyWrongLastSequenceError:
            self._unclaimed_since.pop(partition, None)
            return  # held by another node
        except Exception:
            self._unclaimed_since.setdefault(partition, time.monotonic())
            return
        self._unclaimed_since.pop(partition, None)
        loop = asyncio.get_running_loop()
        try:
            offset = await loop.run_in_executor(self._store_thread, self._take, partition)
        except Exception:
            log.exception("partition %d: its stored offset could not be read; let go", partition)
            with contextlib.suppress(Exception):
                await self._bus.leases.delete(lease_key(partition), last=revision)
            return
        held = self._held[partition] = _Held(revision, offset)
        self.stats.partitions[partition] = offset
        held.task = asyncio.create_task(self._consume(partition, held))
        log.info("partition %d claimed by %s from offset %d", partition, self.name, offset)

    async def _release(self, partition: int, renounce: bool = True) -> None:
        held = self._held.get(partition)
        if held is None:
            return
        held.stopping = True
        if held.task is not None:
            try:
                await held.task
            except Exception as exc:
                log.warning("partition %d consumer ended with %s", partition, exc)
        del self._held[partition]
        self.stats.partitions.pop(partition, None)
        self.stats.lag.pop(partition, None)
        if renounce:
            with contextlib.suppress(Exception):
                await self._bus.leases.delete(lease_key(partition), last=held.revision)

    # Consuming one partition ------------------------------------------------------------------

    async def _consume(self, partition: int, held: _Held) -> None:
        settings = self._bus.settings
        durable = consumer_name(settings.stream, partition)
        # The partition's durable consumer is made anew at the stored offset by each holder: the store,
        # not the consumer, says what is stored (a consumer's acks may lag a commit, or lead a commit that
        # failed). Deleting it also cuts off a stalled former holder still bound to it.
        with contextlib.suppress(NotFoundError):
            await self._bus.js.delete_consumer(settings.stream, durable)
        config = ConsumerConfig(
            durable_name=durable,
            filter_subject=partition_filter(settings.subject_prefix, partition),
            ack_policy=AckPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=FETCH_MESSAGES * 4,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if held.offset else DeliverPolicy.ALL,
            opt_start_seq=held.offset + 1 if held.offset else None,
        )
        await self._bus.js.add_consumer(settings.stream, config)
        sub = await self._bus.js.pull_subscribe_bind(durable=durable, stream=settings.stream)
        loop = asyncio.get_running_loop()
        try:
            while not held.stopping and not self._stop:
                try:
                    messages = await sub.fetch(FETCH_MESSAGES, timeout=FETCH_WAIT_S)
                except (TimeoutError, NatsTimeoutError):
                    continue
                if not messages:
                    continue
                try:
                    held.offset = await loop.run_in_executor(
                        self._store_thread, self._apply, partition, held.offset, messages
                    )
                except StaleOffsetError:
                    self.stats.stale_commits += 1
                    log.warning("partition %d was taken over; %s lets it go", partition, self.name)
                    return
                except Exception:
                    # The store refused the run (down, or a message it cannot take): nothing of it is
                    # stored, the offset did not move; the partition is let go and claimed again from
                    # the stored offset at the next lease round.
                    self.stats.failed_commits += 1
                    log.exception("partition %d: storing messages after %d failed", partition, held.offset)
                    raise
                await messages[-1].ack()
                self.stats.partitions[partition] = held.offset
                self.stats.lag[partition] = messages[-1].metadata.num_pending
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    # On the store thread ----------------------------------------------------------------------

    def _take(self, partition: int) -> int:
        """The partition's stored offset; the miner reloads the templates of the partition's
        services from the store (their numbering and texts continue where the last holder left)."""
        partitions = self._bus.settings.partitions
        held = set(self._held) | {partition}
        kept = [
            t
            for t in self._store.templates()
            if partition_of(partition_key(t.service, t.tenant), partitions) in held
        ]
        self._miner = TemplateMiner.from_changes(kept, self._max_templates)
        return self._store.applied_offset(offset_key(self._bus.settings.stream, partition))

    def _apply(self, partition: int, offset: int, messages: list[Msg]) -> int:
        """Mines and stores the records of `messages` not stored yet, moving the partition's offset in
        the same transaction; returns the new offset."""
        records: list[Record] = []
        last = offset
        for message in messages:
            seq = message.metadata.sequence.stream
            if seq <= last:
                self.stats.skipped += 1
                continue
            last = seq
            try:
                records.extend(decode_records(message.data))
            except BusFormatError as exc:
                self.stats.bad_messages += 1
                log.error("partition %d message %d skipped: %s", partition, seq, exc)
        if last == offset:
            return offset
        store = self._store
        try:
            if records:
                self._miner.label(records)
                store.save_templates(self._miner.take_changes())
                store.append(records)
            store.advance_offset(offset_key(self._bus.settings.stream, partition), last)
            store.commit()
        except BaseException:
            store.rollback()
            self._miner = TemplateMiner.from_changes(store.templates(), self._max_templates)
            raise
        self.stats.messages += len(messages)
        self.stats.records += len(records)
        if records:
            self._on_records(records)
        return last
