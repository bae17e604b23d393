"""The dashboard's reads: each pane's data through `LogAccess` (the daemon's API, or the store opened
read-only per call), shaped by `tui.data`, and a way to run them without blocking the screen."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from loglens.access import DaemonNeeded, LogAccess
from loglens.tui.data import (
    Header,
    LogFilter,
    ServiceRow,
    Window,
    command_rows,
    host_figures,
    service_rows,
    window_for,
)

T = TypeVar("T")
HOST_SPAN = "10m"
"""How much of the host's course the header's sparklines show."""


async def off_thread(call: Callable[[], T]) -> T:
    """`call()` on a daemon thread, awaited from the app's loop.

    Not `asyncio.to_thread`: its pool's threads are joined when Python exits, so quitting while a
    daemon is slow to answer (its client waits up to two minutes) would hang the terminal."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting task, which decides
            error = exc
            deliver: Callable[[], None] = lambda: settle(lambda: future.set_exception(error))  # noqa: E731
        else:
            deliver = lambda: settle(lambda: future.set_result(result))  # noqa: E731
        with contextlib.suppress(RuntimeError):  # the app closed its loop: nobody waits any more
            loop.call_soon_threadsafe(deliver)

    thread = threading.Thread(target=run, name="monit-fetch", daemon=True)
    _RUNNING.add(thread)
    thread.start()
    return await future


_RUNNING: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def finish_fetches(timeout_s: float) -> None:
    """Waits up to `timeout_s` in all for reads still running. Called once the app has closed:
    a thread still inside DuckDB when Python exits aborts the process with a C++ error, while one
    waiting on a daemon that does not answer may be left behind."""
    deadline = time.monotonic() + timeout_s
    for thread in list(_RUNNING):
        thread.join(max(0.0, deadline - time.monotonic()))


class MonitSource:
    """The dashboard's reads. On a store (no daemon), one call at a time: each opens the file
    read-only, and two readers in one process gain nothing but contention."""

    def __init__(self, access: LogAccess, window_s: float, incident_window_s: float) -> None:
        self.access = access
        self.window_ns = int(window_s * 1e9)
        self.incident_window_ns = int(incident_window_s * 1e9)
        self._store_lock = threading.Lock()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if self.access.daemon_url is not None:
            return self.access.get(path, params)
        with self._store_lock:
            return self.access.get(path, params)

    def newest(self) -> dict[str, Any] | None:
        """The newest record (None in an empty store)."""
        found = self.get("/api/logs", {"limit": 1})["records"]
        return found[-1] if found else None

    def window(self, newest: dict[str, Any] | None, length_ns: int | None = None) -> Window:
        return window_for(newest["ts"] if newest else None, time.time_ns(), length_ns or self.window_ns)

    def header(self) -> Header:
        """The daemon's health, host metrics and open alerts; only where the data is from when no
        daemon runs (those need one)."""
        url = self.access.daemon_url
        if url is None:
            return Header(None, None, None, None, None, [])
        try:
            health = self.get("/api/health")
            host = self.get("/api/host", {"since": HOST_SPAN})
            alerts = self.get("/api/alerts", {"state": "open"})
        except DaemonNeeded:  # it stopped between the check and the call
            return Header(None, None, None, None, None, [])
        return Header(
            url, health.get("records"), health.get("uptime_s"), host_figures(host),
            len(alerts.get("alerts", [])), command_rows(health),
        )  # fmt: skip

    def services(self, window: Window) -> list[ServiceRow]:
        bounds = window.params()
        summary = self.get("/api/summary", bounds)
        stats = {"by": "service", "bucket": window.bucket(), **bounds}
        volume = self.get("/api/stats", stats)
        errors = self.get("/api/stats", {**stats, "level": ">=error"})
        return service_rows(summary, volume, errors, window)

    def incidents(self, window: Window) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/incidents", window.params())
        return found

    def explain(self, incident_id: str) -> dict[str, Any]:
        path = f"/api/incidents/{quote(incident_id, safe='')}/explain"
        found: dict[str, Any] = self.get(path, {"context": 0})
        return found

    def patterns(self, window: Window, top: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/patterns", {**window.params(), "top": top})
        return found

    def logs(self, log_filter: LogFilter, limit: int, since: str | None = None) -> list[dict[str, Any]]:
        """The last `limit` records matching the filter (from `since` on, inclusive), oldest first."""
        params = {**log_filter.params(), "limit": limit}
        if since is not None:
            params["since"] = since
        found: list[dict[str, Any]] = self.get("/api/logs", params)["records"]
        return found
