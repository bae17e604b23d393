"""`loglens monit` against a real `loglens up` supervising a command: lines pushed over HTTP appear
in the live log pane, the filter holds on the live channel, pause holds lines, the services pane
shows the command's pid, CPU and memory from /api/health and the host's figures; and the app run
once in a real terminal (tmux) — drawn, live, quit cleanly."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from conftest import REPO
from daemon_helpers import Up
from loglens.config import load_config
from loglens.tui import MonitApp
from tui.monit_pilot import WAIT_S, drive, screen_text, snapshot, type_text, until

TICKER = (
    "import time\nn = 0\nwhile True:\n    n += 1\n    print(f'tick {n}', flush=True)\n    time.sleep(0.3)"
)


def push(up: Up, service: str, messages: list[str], level: str = "info") -> None:
    """Lines stamped now, through the daemon's HTTP intake (as a shipper sends them)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    body = "\n".join(
        json.dumps({"time": stamp, "service": service, "level": level, "message": m}) for m in messages
    )
    answer = up.client.post("/ingest", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`loglens up` supervising a command that prints a line every 0.3 s, fed two services."""
    folder = tmp_path_factory.mktemp("monit-daemon")
    argv = json.dumps([sys.executable, "-c", TICKER])
    up = Up(folder, f'[[commands]]\nname = "ticker"\ncommand = {argv}\n')
    push(up, "checkout", [f"order {i} placed" for i in range(40)])
    push(up, "checkout", [f"payment {i} declined" for i in range(4)], "error")
    push(up, "api", [f"GET /items/{i} 200" for i in range(20)])
    yield up
    up.stop()


def daemon_app(up: Up) -> MonitApp:
    return MonitApp(up.store, load_config(str(up.folder / "loglens.toml")), refresh_s=1.0)


class TestWithDaemon:
    def test_pushed_lines_appear_live_and_the_filter_holds(self, daemon: Up) -> None:
        """Lines pushed to the daemon appear in the log pane as they are stored; with
        `f service:checkout` only checkout's lines do."""
        marker = uuid.uuid4().hex[:8]

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("2")
            await until(pilot, lambda: app.live_state == "live", "the live channel")
            push(daemon, "api", [f"live {marker} one", f"live {marker} two"], "warning")
            await until(
                pilot, lambda: any(f"live {marker} two" in li for li in app.logs_pane.lines), "pushed lines"
            )
            line = next(li for li in app.logs_pane.lines if f"live {marker} one" in li)
            assert line.split()[1:3] == ["WARN", "api"]
            snapshot(app, "logs-live-80x24")
            await pilot.press("f")
            await type_text(pilot, "service:checkout")
            await pilot.press("enter")
            await until(
                pilot, lambda: app.live_state == "live" and app.logs_pane.lines, "the filtered channel"
            )
            push(daemon, "api", [f"hidden {marker}"])
            push(daemon, "checkout", [f"shown {marker}"])
            await until(
                pilot, lambda: any(f"shown {marker}" in li for li in app.logs_pane.lines), "checkout's line"
            )
            await pilot.pause(0.3)
            assert not any(f"hidden {marker}" in li for li in app.logs_pane.lines)
            assert {line[19:29].strip() for line in app.logs_pane.lines} == {"checkout"}

        drive(daemon_app(daemon), (80, 24), scenario)

    def test_pause_holds_lines_until_resumed(self, daemon: Up) -> None:
        """`p` stops the pane: a pushed line is held (and counted in the title), not shown; `p`
        again shows it."""
        marker = uuid.uuid4().hex[:8]

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("2")
            await until(pilot, lambda: app.live_state == "live" and app.logs_pane.lines, "the live channel")
            await pilot.press("p")
            shown = app.logs_pane.lines
            push(daemon, "api", [f"held {marker}"])
            await until(pilot, lambda: any(f"held {marker}" in li for li in app.feed.held), "the held line")
            assert app.logs_pane.lines == shown
            title = re.compile(r"PAUSED, \d+ new held")
            await until(pilot, lambda: title.search(screen_text(app)), "the paused title")
            snapshot(app, "logs-paused-80x24")
            await pilot.press("p")
            await until(
                pilot, lambda: any(f"held {marker}" in li for li in app.logs_pane.lines), "the line shown"
            )
            assert not app.feed.held

        drive(daemon_app(daemon), (80, 24), scenario)

    def test_services_commands_and_host(self, daemon: Up) -> None:
        """At 120×40: the services the daemon stored, the supervised command with the pid, CPU and
        memory /api/health reports, and the host's CPU and memory in the top line."""
        health = daemon.client.get("/api/health").json()
        ticker = next(c for c in health["commands"] if c["name"] == "ticker")

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            rows = await until(
                pilot, lambda: {"checkout", "api", "ticker"} <= {r.service for r in app.services_pane.rows},
                "the daemon's services",
            )  # fmt: skip
            checkout = next(r for r in app.services_pane.rows if r.service == "checkout")
            assert checkout.errors >= 4 and rows
            command = await until(pilot, lambda: app.services_pane.commands, "the commands table")
            assert command[0].name == "ticker" and command[0].pid == ticker["pid"]
            assert command[0].rss_bytes and command[0].cpu_percent is not None
            await pilot.pause(0.2)
            screen = screen_text(app)
            line = next(
                li for li in screen.splitlines() if li.startswith(" ticker ") and str(ticker["pid"]) in li
            )
            assert " MB " in line and " up " in line
            assert re.search(r"loglens daemon 127\.0\.0\.1:\d+ · last 1h · cpu \d+%.* mem \d+%", screen)
            snapshot(app, "services-daemon-120x40")

        drive(daemon_app(daemon), (120, 40), scenario)

    def test_in_a_real_terminal(self, daemon: Up) -> None:
        """In tmux (100×30) against the daemon: the dashboard draws the services and the supervised
        command, `2` shows live lines, and `q` quits with status 0 and no traceback."""
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed")
        server = f"loglens-monit-test-{os.getpid()}"
        toml = str(daemon.folder / "loglens.toml")
        monit = [sys.executable, "-m", "loglens", "monit", "--store", str(daemon.store), "--config", toml,
                 "--refresh", "1s"]  # fmt: skip
        command = f"cd {shlex.quote(str(REPO))} && {shlex.join(monit)}; "
        command += "echo MONIT-EXIT=$?; sleep 30"
        tmux = ["tmux", "-L", server]
        env = {**os.environ, "TERM": "xterm-256color"}

        def capture() -> str:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "monit"], capture_output=True, text=True, env=env
            )
            return shown.stdout

        def wait_screen(what: Callable[[str], bool], why: str) -> str:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                screen = capture()
                if what(screen):
                    return screen
                time.sleep(0.2)
            raise AssertionError(f"timed out waiting for {why}:\n{capture()}")

        subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "30", "-s", "monit", command],
                       check=True, env=env)  # fmt: skip
        try:
            screen = wait_screen(lambda s: " checkout " in s and " ticker " in s, "the services pane")
            assert re.search(r"loglens daemon 127\.0\.0\.1:\d+", screen)
            subprocess.run([*tmux, "send-keys", "-t", "monit", "2"], check=True, env=env)
            wait_screen(
                lambda s: "· live" in s and re.search(r"INFO  ticker +tick \d+", s) is not None, "live lines"
            )
            subprocess.run([*tmux, "send-keys", "-t", "monit", "q"], check=True, env=env)
            screen = wait_screen(lambda s: "MONIT-EXIT=" in s, "the app to quit")
            assert "MONIT-EXIT=0" in screen and "Traceback" not in screen
        finally:
            subprocess.run([*tmux, "kill-server"], check=False, env=env, capture_output=True)


class TestDaemonGone:
    def test_a_killed_daemon_leaves_the_store_readable(self, tmp_path: Path) -> None:
        """The daemon is killed while the dashboard shows its live lines: the dashboard goes on
        with the store it left (top line `store … no daemon`, log pane polling, the status line
        clear once the store answers), its lines still there."""
        up = Up(tmp_path)
        marker = uuid.uuid4().hex[:8]
        push(up, "api", [f"before {marker}"])

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("2")

            def shown() -> bool:
                return any(f"before {marker}" in li for li in app.logs_pane.lines)

            await until(pilot, shown, "the line")
            assert app.live_state == "live"
            up.kill()
            await until(pilot, lambda: app.live_state.startswith("polling"), "polling the store")
            await until(pilot, lambda: "(read-only, no daemon)" in screen_text(app), "the top line")
            await until(pilot, lambda: not app.status.problems, "the status line to clear")
            assert shown()

        drive(daemon_app(up), (80, 24), scenario)
