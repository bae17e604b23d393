"""`loglens monit` driven headless with Textual's pilot at 80×24 and 120×40 on a store ingested
from the shared generator corpus (no daemon): keys in, and what the screen and panes hold checked
against the API's own answers; problems (no store, a daemon that does not answer) in the status
line; the help. SVG snapshots of each pane land in tests/artifacts/tui/. The daemon's side (live
lines, pause, commands, a real terminal) is in test_app_daemon.py."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from alert_receivers import free_port
from conftest import REPO, LoglensCli
from loglens.access import LogAccess
from loglens.config import Config
from loglens.tui import MonitApp
from loglens.tui.app import KEYS, PATTERN_TOP
from loglens.tui.data import window_for
from tui.monit_pilot import drive, screen_text, snapshot, type_text, until


def api_window_params(access: LogAccess, length_s: float = 3600) -> dict[str, str]:
    """The window the dashboard uses, computed here the same way from the API's newest record."""
    newest = access.get("/api/logs", {"limit": 1})["records"][-1]["ts"]
    return window_for(newest, time.time_ns(), int(length_s * 1e9)).params()


@pytest.fixture(scope="module")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 30k-line corpus ingested through the real CLI; no daemon holds it."""
    path = tmp_path_factory.mktemp("monit") / "s.duckdb"
    LoglensCli.run("ingest", "--store", str(path), "-q", str(corpus))
    return path


@pytest.fixture(scope="module")
def access(store: Path) -> LogAccess:
    return LogAccess(store, Config())


class TestServicesPane:
    def test_figures_match_the_api(self, store: Path, access: LogAccess) -> None:
        """At 80×24 the services table holds the API's services, busiest first, with its lines,
        errors, health and restarts over the last hour of the data; the screen shows them."""
        summary = access.get("/api/summary", api_window_params(access))

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            rows = await until(pilot, lambda: app.services_pane.rows, "the services table")
            assert [r.service for r in rows] == [s["service"] for s in summary]
            for row, entry in zip(rows, summary, strict=True):
                errors = sum(entry["levels"].get(level, 0) for level in ("error", "critical", "fatal"))
                assert (row.lines, row.errors, row.health, row.restarts) == (
                    entry["total"], errors, entry["health"], entry["restarts"],
                )  # fmt: skip
            await pilot.pause(0.2)
            screen = screen_text(app).splitlines()
            assert screen[0].startswith(
                "loglens store s.duckdb (read-only, no daemon) · 1h to 11-21 05:59 UTC"
            )
            for entry in summary[:8]:
                line = next(li for li in screen if li.startswith(f" {entry['service']} "))
                assert re.search(rf"\s{entry['health']}\s+{entry['restarts']}\s", line), line
            assert len(screen) == 24 and all(len(li) == 80 for li in screen)
            assert "store read" in screen[-2]
            snapshot(app, "services-80x24")

        drive(MonitApp(store, Config()), (80, 24), scenario)

    def test_wide_terminal_shows_every_service(self, store: Path, access: LogAccess) -> None:
        """At 120×40 every service of the hour fits, with wider sparklines."""
        summary = access.get("/api/summary", api_window_params(access))

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: app.services_pane.rows, "the services table")
            await pilot.pause(0.2)
            screen = screen_text(app)
            assert all(f" {s['service'][:11]}" in screen for s in summary)
            busiest = next(li for li in screen.splitlines() if li.startswith(f" {summary[0]['service']} "))
            assert len(re.findall("[▁▂▃▄▅▆▇█]", busiest)) > 25  # a 30-cell volume sparkline
            snapshot(app, "services-120x40")

        drive(MonitApp(store, Config()), (120, 40), scenario)


class TestIncidentsPane:
    def test_incidents_with_their_explanation(self, store: Path, access: LogAccess) -> None:
        """`3` lists the API's incidents newest first; the highlighted one's explanation names its
        failure signature, and `↓` moves to the next incident and its signature."""
        incidents = access.get("/api/incidents", api_window_params(access, 86_400))
        ids = [i["id"] for i in sorted(incidents, key=lambda i: i["start"], reverse=True)]
        assert len(ids) >= 2
        names = {
            i: access.get(f"/api/incidents/{i}/explain", {"context": 0})["explanation"]["signature"]["name"]
            for i in ids[:2]
        }

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("3")
            rows = await until(pilot, lambda: app.incidents_pane.rows, "the incidents table")
            assert [r.id for r in rows] == ids
            await until(
                pilot, lambda: f"Signature  {names[ids[0]]}" in screen_text(app), "the first signature"
            )
            assert ids[0] in screen_text(app)
            snapshot(app, "incidents-80x24")
            await pilot.press("down")
            await until(
                pilot, lambda: f"Signature  {names[ids[1]]}" in screen_text(app), "the next signature"
            )
            assert app.incidents_pane.selected() is not None
            assert app.incidents_pane.selected().id == ids[1]  # type: ignore[union-attr]

        drive(MonitApp(store, Config()), (80, 24), scenario)


class TestPatternsPane:
    def test_patterns_match_the_api(self, store: Path, access: LogAccess) -> None:
        """`4` lists the hour's templates in the API's order, with their counts on screen."""
        patterns = access.get("/api/patterns", {**api_window_params(access), "top": PATTERN_TOP})

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("4")
            rows = await until(pilot, lambda: app.patterns_pane.rows, "the patterns table")
            assert [r.template_id for r in rows] == [p["template_id"] for p in patterns]
            await pilot.pause(0.2)
            first = next(li for li in screen_text(app).splitlines() if patterns[0]["template"][:20] in li)
            assert f" {patterns[0]['count']} " in first
            snapshot(app, "patterns-80x24")

        drive(MonitApp(store, Config()), (80, 24), scenario)


class TestLogPane:
    def test_filter_narrows_the_lines(self, store: Path, access: LogAccess) -> None:
        """`2` shows the newest lines; `f level:error` leaves only the error lines the API finds; a
        query that does not parse is said in the status line."""
        errors = access.get("/api/logs", {"q": "level:error", "limit": 2000})["records"]

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("2")
            before = await until(pilot, lambda: app.logs_pane.lines, "log lines")
            assert any(" INFO " in line for line in before)
            snapshot(app, "logs-80x24")
            await pilot.press("f")
            await type_text(pilot, "level:error")
            await pilot.press("enter")
            await until(pilot, lambda: len(app.logs_pane.lines) == len(errors), "the filtered lines")
            assert all(line.split()[1] == "ERROR" for line in app.logs_pane.lines)
            assert app.logs_pane.lines[-1].endswith(errors[-1]["msg"].split("\n")[0][:40]) or (
                errors[-1]["msg"][:20] in app.logs_pane.lines[-1]
            )
            assert "filter level:error" in screen_text(app)
            await pilot.press("f", "ctrl+u")
            await type_text(pilot, "service:api (level:error")
            await pilot.press("enter")
            await until(pilot, lambda: "log pane: " in app.status.text, "the query's error")
            assert "⚠ log pane: " in screen_text(app) and app.is_running

        drive(MonitApp(store, Config()), (80, 24), scenario)

    def test_l_switches_to_the_selected_service(self, store: Path) -> None:
        """On the services pane, `↓ l` shows the logs of the second service only; `l` on the logs
        pane moves on to the next service."""

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            rows = await until(pilot, lambda: app.services_pane.rows, "the services table")
            await pilot.press("down", "l")
            second, third = rows[1].service, rows[2].service
            await until(pilot, lambda: app.logs_pane.lines, "the service's lines")
            assert app.active_pane == "logs"
            assert {line[19:29].strip() for line in app.logs_pane.lines} == {second}
            assert f"service {second}" in screen_text(app)
            await pilot.press("l")
            await until(pilot, lambda: f"service {third}" in screen_text(app), "the next service")

        drive(MonitApp(store, Config()), (80, 24), scenario)

    def test_search_shows_matches_then_goes_back(self, store: Path) -> None:
        """`/ deadlock` shows only stored lines with that word; `esc` brings the live lines back."""

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("2")
            live = await until(pilot, lambda: app.logs_pane.lines, "log lines")
            await pilot.press("slash")
            await type_text(pilot, "deadlock")
            await pilot.press("enter")
            await until(pilot, lambda: app.searching == "deadlock", "the search")
            found = app.logs_pane.lines
            assert found and all("deadlock" in line.lower() for line in found)
            assert "search “deadlock”" in screen_text(app)
            await pilot.press("escape")
            assert app.searching is None and app.logs_pane.lines[-5:] == live[-5:]

        drive(MonitApp(store, Config()), (80, 24), scenario)


class TestProblems:
    def test_a_missing_store_is_a_status_line(self, tmp_path: Path) -> None:
        """No store: the status line says to ingest first, every pane opens, nothing crashes."""

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: "no loglens store at" in app.status.text, "the status line")
            for key in ("2", "3", "4", "1"):
                await pilot.press(key)
                await pilot.pause(0.1)
            assert "⚠ no loglens store at" in screen_text(app).splitlines()[-2]

        drive(MonitApp(tmp_path / "none.duckdb", Config()), (80, 24), scenario)

    def test_a_daemon_that_does_not_answer_is_a_status_line(self, tmp_path: Path) -> None:
        """daemon.json names a live process whose port is closed: the status line says the daemon
        did not answer and asks whether `loglens up` runs."""
        port = free_port()
        (tmp_path / "daemon.json").write_text(
            json.dumps(
                {"pid": os.getpid(), "url": f"http://127.0.0.1:{port}", "store": str(tmp_path / "s.duckdb")}
            )
        )

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: "did not answer" in app.status.text, "the status line")
            assert "is `loglens up` running?" in app.status.text
            await pilot.press("2")
            await pilot.pause(0.2)
            assert app.is_running

        drive(MonitApp(tmp_path / "s.duckdb", Config()), (80, 24), scenario)


class TestHelp:
    def test_question_mark_lists_the_keys(self, tmp_path: Path) -> None:
        """`?` shows every key with what it does; `esc` closes it; `q` quits."""

        async def scenario(app: MonitApp, pilot: Pilot[None]) -> None:
            await pilot.press("question_mark")
            await until(pilot, lambda: "loglens monit — keys" in screen_text(app), "the help")
            screen = screen_text(app)
            assert all(what in screen for _, what in KEYS)
            snapshot(app, "help-80x24")
            await pilot.press("escape")
            await until(pilot, lambda: "loglens monit — keys" not in screen_text(app), "the help to close")
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, "the app to quit")

        drive(MonitApp(tmp_path / "none.duckdb", Config()), (80, 24), scenario)

    def test_docs_list_every_key(self) -> None:
        """docs/tui.md has a row for every key the help shows."""
        docs = (REPO / "docs" / "tui.md").read_text()
        for key, _ in KEYS:
            assert f"| `{key}` |" in docs, key
