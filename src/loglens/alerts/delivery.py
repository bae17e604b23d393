"""Delivers notifications to channels off the caller's thread, retrying failures with backoff, and
reports each final outcome, so that a slow or dead channel is recorded and never blocks ingest.

Each channel has its own worker thread and bounded queue: a mail server that hangs for its whole
timeout delays only mail. `submit` never blocks; when a channel's queue is full the notification is
dropped and that is reported like any other outcome, so the loss is visible rather than silent.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from loglens.alerts.channels.base import Channel, ChannelError, Notification, alert_ids

log = logging.getLogger("loglens.alerts")

QUEUE_FULL = "queue full: dropped"
CLOSED = "delivery closed: dropped"
JITTER = 0.2
"""Retry waits vary by ±20%, so channels that failed together do not retry in lockstep."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What finally became of one notification on one channel: sent (after `attempts` tries), failed
    after the last retry, or dropped (`attempts` 0) because the queue was full or delivery closed."""

    channel: str
    kind: str
    event: str
    alert_ids: tuple[str, ...]
    ok: bool
    attempts: int
    error: str | None
    elapsed_s: float
    finished_at_ns: int


def retry_delay(retry: int, backoff: float, max_backoff: float, jitter: float) -> float:
    """Seconds to wait before retry number `retry` (0 for the first): `backoff * 2**retry`, capped at
    `max_backoff`, then scaled by 0.8–1.2 as `jitter` goes over [0, 1)."""
    return min(backoff * 2.0**retry, max_backoff) * (1.0 - JITTER + 2 * JITTER * jitter)


@dataclass(slots=True)
class _Worker:
    """One channel's queue, thread and counters; everything but `channel` is guarded by `lock`."""

    channel: Channel
    capacity: int
    lock: threading.Condition = field(default_factory=threading.Condition)
    queue: deque[Notification] = field(default_factory=deque)
    busy: bool = False
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    thread: threading.Thread | None = None


class Delivery:
    """Sends notifications to named channels in the background (module docstring).

    Args:
        channels: the channels, each with a name of its own.
        on_outcome: called with each final Outcome, from a worker thread (or from `submit` for a drop);
            what it raises is logged and does not stop delivery.
        queue_size: notifications that may wait per channel before new ones are dropped.
        retries: further attempts after a failed one.
        backoff, max_backoff: seconds before the first retry, doubled each retry up to the maximum.
        clock: a monotonic clock, for `elapsed_s`.
        sleep: how to wait between attempts; by default a wait that `close()` cuts short.
        jitter: a source of numbers in [0, 1) for the retry waits' jitter.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        on_outcome: Callable[[Outcome], None],
        *,
        queue_size: int = 256,
        retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        names = [channel.name for channel in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"alert channel names must be unique: {names}")
        if queue_size < 1 or retries < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("queue_size must be ≥ 1, and retries, backoff and max_backoff ≥ 0")
        self._on_outcome = on_outcome
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._stop = threading.Event()
        self._closing = False
        self._workers = {channel.name: _Worker(channel, queue_size) for channel in channels}
        for worker in self._workers.values():
            worker.thread = threading.Thread(
                target=self._run, args=(worker,), name=f"loglens-alerts-{worker.channel.name}", daemon=True
            )
            worker.thread.start()

    def submit(self, channel_name: str, notification: Notification) -> bool:
        """Queues `notification` for the channel and returns at once: True when queued, False (and a
        dropped Outcome reported) when the channel's queue is full or delivery is closed. KeyError for
        a channel that does not exist. The notification must not be changed after it is submitted."""
        worker = self._workers.get(channel_name)
        if worker is None:
            raise KeyError(f"no alert channel named {channel_name!r}; known: {', '.join(self._workers)}")
        with worker.lock:
            if self._closing:
                reason = CLOSED
            elif len(worker.queue) >= worker.capacity:
                reason = QUEUE_FULL
            else:
                worker.queue.append(notification)
                worker.lock.notify()
                return True
            worker.dropped += 1
        log.warning("alert channel %s: %s (event %s)", channel_name, reason, notification.get("event"))
        self._report(self._outcome(worker.channel, notification, False, 0, reason, 0.0))
        return False

    def pending(self) -> dict[str, int]:
        """Per channel, notifications queued or being sent."""
        return self._snapshot(lambda w: len(w.queue) + w.busy)

    @property
    def sent(self) -> dict[str, int]:
        """Per channel, notifications delivered."""
        return self._snapshot(lambda w: w.sent)

    @property
    def failed(self) -> dict[str, int]:
        """Per channel, notifications that failed on every attempt."""
        return self._snapshot(lambda w: w.failed)

    @property
    def dropped(self) -> dict[str, int]:
        """Per channel, notifications never attempted: the queue was full, or delivery closed first."""
        return self._snapshot(lambda w: w.dropped)

    def close(self, timeout: float = 5.0) -> None:
        """Stops accepting, lets what is queued be sent (retries included) for up to `timeout`
        seconds, then stops: waits between retries end at once, and what is still queued is reported
        dropped. A send already under way cannot be cut short; its outcome is reported when it ends."""
        for worker in self._workers.values():
            with worker.lock:
                self._closing = True
                worker.lock.notify_all()
        deadline = time.monotonic() + timeout
        for worker in self._workers.values():
            assert worker.thread is not None
            worker.thread.join(max(deadline - time.monotonic(), 0.0))
        self._stop.set()
        for worker in self._workers.values():
            with worker.lock:
                worker.lock.notify_all()

    def _snapshot(self, read: Callable[[_Worker], int]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, worker in self._workers.items():
            with worker.lock:
                counts[name] = read(worker)
        return counts

    def _run(self, worker: _Worker) -> None:
        while True:
            with worker.lock:
                while not worker.queue and not self._closing and not self._stop.is_set():
                    worker.lock.wait()
                if self._stop.is_set() or not worker.queue:
                    break
                notification = worker.queue.popleft()
                worker.busy = True
            outcome = self._deliver(worker.channel, notification)
            with worker.lock:
                worker.busy = False
                if outcome.ok:
                    worker.sent += 1
                else:
                    worker.failed += 1
            self._report(outcome)
        with worker.lock:
            left = list(worker.queue)
            worker.queue.clear()
            worker.dropped += len(left)
        for notification in left:
            self._report(self._outcome(worker.channel, notification, False, 0, CLOSED, 0.0))

    def _deliver(self, channel: Channel, notification: Notification) -> Outcome:
        """Attempts the send until it succeeds, the retries run out or delivery stops."""
        started = self._clock()
        attempts = 0
        while True:
            attempts += 1
            try:
                channel.send(notification)
            except ChannelError as exc:
                error = str(exc)
            except Exception as exc:  # a bug in a channel: recorded like a failure, never fatal
                log.exception("alert channel %s raised unexpectedly", channel.name)
                error = f"{type(exc).__name__}: {exc}"
            else:
                return self._outcome(channel, notification, True, attempts, None, self._clock() - started)
            if attempts > self._retries:
                break
            if self._stop.is_set():
                error += " (not retried: delivery closed)"
                break
            delay = retry_delay(attempts - 1, self._backoff, self._max_backoff, self._jitter())
            log.info(
                "alert channel %s: attempt %d failed, retrying in %.2f s: %s",
                channel.name,
                attempts,
                delay,
                error,
            )
            if self._wait(delay):
                error += " (not retried: delivery closed)"
                break
        log.warning("alert channel %s: giving up after %d attempts: %s", channel.name, attempts, error)
        return self._outcome(channel, notification, False, attempts, error, self._clock() - started)

    def _wait(self, seconds: float) -> bool:
        """Waits between attempts; True when delivery stopped meanwhile."""
        if self._sleep is None:
            return self._stop.wait(seconds)
        self._sleep(seconds)
        return self._stop.is_set()

    def _outcome(
        self,
        channel: Channel,
        notification: Notification,
        ok: bool,
        attempts: int,
        error: str | None,
        elapsed: float,
    ) -> Outcome:
        return Outcome(
            channel=channel.name,
            kind=channel.kind,
            event=str(notification.get("event", "")),
            alert_ids=alert_ids(notification),
            ok=ok,
            attempts=attempts,
            error=error,
            elapsed_s=elapsed,
            finished_at_ns=time.time_ns(),
        )

    def _report(self, outcome: Outcome) -> None:
        try:
            self._on_outcome(outcome)
        except Exception:
            log.exception("recording the outcome of alert channel %s failed", outcome.channel)
