"""Real time for a line stream: lines handed over in batches as the wall clock reaches their stamps.

`follow` writes these batches to files; a daemon can feed them to its pipeline the same way. The
stream itself is never paced (a corpus is written as fast as it is drawn); only this layer waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

from loglens.demo.stream import DemoLine

TICK_S = 0.2
"""How often a batch is handed over (an empty one when nothing is due), so a consumer can flush."""


def realtime(
    lines: Iterable[DemoLine],
    stop: threading.Event | None = None,
    tick_s: float = TICK_S,
    now_ns: Callable[[], int] = time.time_ns,
) -> Iterator[list[DemoLine]]:
    """Every `tick_s`, the lines whose stamp has come (possibly none), until the lines end or `stop`
    is set. Lines already due (a consumer that fell behind) come at once, without waiting."""
    stopping = stop or threading.Event()
    iterator = iter(lines)
    waiting = next(iterator, None)
    while waiting is not None and not stopping.is_set():
        now = now_ns()
        batch = []
        while waiting is not None and waiting.ts_ns <= now:
            batch.append(waiting)
            waiting = next(iterator, None)
        yield batch
        if waiting is not None and waiting.ts_ns > now_ns():
            stopping.wait(tick_s)
