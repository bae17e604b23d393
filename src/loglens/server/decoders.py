"""Big push bodies are decoded in worker processes, beside the pipeline instead of under its lock.

The event loop, the pipeline thread (mining, detectors, the store's Arrow batches) and the writer share
one interpreter lock. Decoding a 1,000-line JSON body is ~11 µs a line of Python, and on the event
loop it held that lock for ~10 ms a request, during which the pipeline waited and no other request
was answered. A worker process decodes it on the other core and sends the records back pickled, which
costs the daemon ~3 µs a line instead. Small bodies (a shipper's trickle, a live tail) are decoded in
place: a round trip to a worker would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

DEFAULT_MAX_WORKERS = 4
POOL_MIN_BYTES = 32 * 1024
"""Bodies smaller than this are decoded on the event loop (about 150 JSON lines)."""
D = TypeVar("D")


def default_workers() -> int:
    """One worker per core, at most `DEFAULT_MAX_WORKERS`."""
    return min(os.cpu_count() or 1, DEFAULT_MAX_WORKERS)


def _worker_started() -> None:
    # The worker's own imports live as long as it does: the collector need not rescan them.
    gc.freeze()


class DecodePool:
    """Runs decoders (pure functions of a body) in `workers` processes; 0 decodes every body in place.

    The processes are started on first use (spawned, not forked: the daemon has threads and an open
    database by then) and live until `close`.
    """

    def __init__(self, workers: int, min_bytes: int = POOL_MIN_BYTES) -> None:
        self.workers = workers
        self.min_bytes = min_bytes
        self._executor: ProcessPoolExecutor | None = None
        self.pooled = 0
        self.in_place = 0

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_started,
            )
        return self._executor

    async def run(self, decode: Callable[..., D], body: bytes, *args: Any, **kwargs: Any) -> D:
        """`decode(body, *args, **kwargs)`, in a worker when the body is big enough; a decoder's
        exception (PayloadError …) is raised here as it was there."""
        if self.workers < 1 or len(body) < self.min_bytes:
            self.in_place += 1
            return decode(body, *args, **kwargs)
        self.pooled += 1
        call = functools.partial(decode, body, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    def close(self) -> None:
        """Stops the workers (a decode still running is waited for)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
