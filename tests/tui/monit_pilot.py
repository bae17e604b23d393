"""Driving `loglens monit` headless for the tests: run a scenario under Textual's pilot, wait for
what the app shows, read the screen as text, and save SVG snapshots to tests/artifacts/tui/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from conftest import REPO
from loglens.tui import MonitApp
from loglens.tui.fetch import finish_fetches

ARTIFACTS = REPO / "tests" / "artifacts" / "tui"
WAIT_S = 20.0
Scenario = Callable[[MonitApp, Pilot[None]], Awaitable[None]]


def drive(app: MonitApp, size: tuple[int, int], scenario: Scenario) -> None:
    """Runs the app headless at `size` through `scenario`, then lets its last reads finish."""

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(run())
    finish_fetches(10)


async def until(pilot: Pilot[None], what: Callable[[], Any], why: str) -> Any:
    """Waits (letting the app run) until `what()` is truthy; returns it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {why}")


def screen_text(app: MonitApp) -> str:
    """The characters on the screen, line by line, as a terminal would show them."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def snapshot(app: MonitApp, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.svg").write_text(app.export_screenshot(title=f"loglens monit — {name}"))


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)
