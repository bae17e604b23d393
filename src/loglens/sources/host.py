"""The daemon's own machine as a source: CPU, memory, disk and network sampled every few seconds.

Shown under the log timeline, so that a memory climb lines up with the OOM kill it ends in. Samples
live in a bounded ring (a day at the default pace), not in the store: they describe the machine the
daemon runs on now, and are cheap to lose with a restart.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import psutil

DEFAULT_EVERY_S = 5.0
DEFAULT_KEEP_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class HostSample:
    """One sample: when (ns), CPU and memory in percent, disk and network in bytes per second since
    the sample before (0 for the first, and where the machine does not say)."""

    ts: int
    cpu: float
    mem: float
    disk_read: float
    disk_write: float
    net_in: float
    net_out: float

    def to_json(self, iso: str) -> dict[str, Any]:
        """As /api/host sends it (`iso`: the sample's time as text)."""
        return {
            "t": iso,
            "cpu": round(self.cpu, 1),
            "mem": round(self.mem, 1),
            "disk_read": round(self.disk_read),
            "disk_write": round(self.disk_write),
            "net_in": round(self.net_in),
            "net_out": round(self.net_out),
        }


def _io_totals() -> tuple[float, float, float, float]:
    disk = psutil.disk_io_counters()
    net = psutil.net_io_counters()
    return (
        float(disk.read_bytes) if disk else 0.0,
        float(disk.write_bytes) if disk else 0.0,
        float(net.bytes_recv) if net else 0.0,
        float(net.bytes_sent) if net else 0.0,
    )


class HostSampler:
    """Takes a sample when `tick` finds one due; keeps the last `keep_s` seconds of them."""

    def __init__(self, every_s: float = DEFAULT_EVERY_S, keep_s: float = DEFAULT_KEEP_S) -> None:
        self.every_s = every_s
        self.samples: deque[HostSample] = deque(maxlen=max(1, int(keep_s / every_s)))
        self._last_at: float | None = None
        self._last_io: tuple[float, float, float, float] | None = None
        psutil.cpu_percent(None)  # the first reading is since this call

    def tick(self, now: float) -> None:
        """Samples when `every_s` has passed since the last sample (`now`: monotonic seconds)."""
        if self._last_at is not None and now - self._last_at < self.every_s:
            return
        io = _io_totals()
        rates = [0.0, 0.0, 0.0, 0.0]
        if self._last_io is not None and self._last_at is not None and now > self._last_at:
            elapsed = now - self._last_at
            rates = [max(0.0, (b - a) / elapsed) for a, b in zip(self._last_io, io, strict=True)]
        disk_read, disk_write, net_in, net_out = rates
        self.samples.append(
            HostSample(
                time.time_ns(), psutil.cpu_percent(None), psutil.virtual_memory().percent,
                disk_read, disk_write, net_in, net_out,
            )
        )  # fmt: skip
        self._last_at, self._last_io = now, io

    def between(self, since_ns: int | None, until_ns: int | None) -> list[HostSample]:
        """The samples taken in [since, until)."""
        return [
            s
            for s in list(self.samples)
            if (since_ns is None or s.ts >= since_ns) and (until_ns is None or s.ts < until_ns)
        ]
