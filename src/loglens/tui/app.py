"""`loglens monit`: the terminal dashboard — services, live logs, incidents and patterns of the store
or of the daemon holding it, refreshed every few seconds; keys and panes in docs/tui.md.

Everything is read through `LogAccess` on worker tasks (blocking calls on daemon threads), so the
screen never waits for the daemon or the store; a failure shows in the status line and the next
refresh tries again."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane
from websockets.exceptions import ConnectionClosed, WebSocketException

from loglens.access import LogAccess
from loglens.client import client_token
from loglens.config import Config
from loglens.errors import LoglensError, QueryError
from loglens.tui.data import (
    Header,
    LogFeed,
    LogFilter,
    Window,
    announcement,
    header_text,
    incident_rows,
    log_line,
    next_due,
    next_service,
    pattern_rows,
)
from loglens.tui.fetch import MonitSource, finish_fetches, off_thread
from loglens.tui.incidents import IncidentsPane, explanation_text
from loglens.tui.logs import LogPane
from loglens.tui.patterns import PatternsPane
from loglens.tui.services import ServicesPane
from loglens.tui.stream import live_messages

DEFAULT_REFRESH_S = 2.0
WINDOW_S = 3600.0
"""Services and patterns cover the last hour (of the data, when it ends earlier)."""
INCIDENT_WINDOW_S = 86_400.0
"""Incidents cover the last day: they are rarer, and an hour would often show none."""
MAX_LINES = 2000
"""Lines the log pane keeps (and holds while paused)."""
PATTERN_TOP = 50
STALE_S = 30.0
"""A pane whose data has not changed is fetched again after this long anyway (rates decay)."""
EXPLANATIONS_KEPT = 32
QUIT_WAIT_S = 10.0
"""How long quitting waits for reads still running (see `finish_fetches`)."""
PANES = ("services", "logs", "incidents", "patterns")

KEYS: tuple[tuple[str, str], ...] = (
    ("q", "quit"),
    ("↑ ↓", "move in a table; scroll the log pane"),
    ("1 2 3 4", "the services, logs, incidents, patterns pane"),
    ("l", "logs of the selected row's service (logs pane: next one)"),
    ("f", "filter the log pane (query language; empty: none)"),
    ("p", "pause the log pane; new lines wait until resumed"),
    ("/", "search the stored logs (esc: back to live lines)"),
    ("r", "refresh now"),
    ("esc", "close the prompt; leave a search"),
    ("?", "this help"),
)
"""The keys as the help screen and docs/tui.md list them (a test holds the two together)."""


def keys_text() -> Text:
    text = Text()
    text.append("loglens monit — keys\n\n", style="bold")
    for key, what in KEYS:
        text.append(f"{key:>9}  ", style="bold #ffa500")
        text.append(f"{what}\n")
    text.append("\nesc, q or ? closes this help", style="dim")
    return text


class HelpScreen(ModalScreen[None]):
    """The keys, over the dashboard."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: auto; max-width: 100%; height: auto; max-height: 100%;
                            border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen #help-text { width: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(keys_text(), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class StatusLine(Static):
    """The bottom line: the most basic standing problem (store missing, daemon gone, then a pane's
    own, a bad search, the live channel), else when the data was last read. Each source of
    problems clears its own when it works again."""

    ORDER = ("data", "services", "incidents", "patterns", "search", "logs")

    def __init__(self) -> None:
        super().__init__("", id="status")
        self.problems: dict[str, str] = {}
        self.note = ""

    def fail(self, where: str, message: str) -> None:
        self.problems[where] = message
        self._show()

    def clear(self, where: str) -> None:
        if self.problems.pop(where, None) is not None:
            self._show()

    def say(self, note: str) -> None:
        self.note = note
        self._show()

    @property
    def text(self) -> str:
        ranked = sorted(self.problems, key=lambda w: self.ORDER.index(w) if w in self.ORDER else 99)
        return self.problems[ranked[0]] if ranked else self.note

    def _show(self) -> None:
        if self.problems:
            self.update(Text(f"⚠ {self.text}", style="bold #ff6b6b", no_wrap=True, overflow="ellipsis"))
        else:
            self.update(Text(self.note, style="dim", no_wrap=True, overflow="ellipsis"))


def problem(exc: BaseException) -> str:
    """A sentence for the status line: loglens's own errors are written for users; anything else
    is named by its type so a report can say what happened. One line: a query error's drawing of
    the query with a caret under it does not fit a status line."""
    return one_line(str(exc) if isinstance(exc, LoglensError) else f"{type(exc).__name__}: {exc}")


def one_line(text: str) -> str:
    return " ".join(text.strip().split("\n", 1)[0].split())


class MonitApp(App[None]):
    """The dashboard of one store (see the module docstring)."""

    TITLE = "loglens monit"
    AUTO_FOCUS = "#services"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #header { height: 1; background: $panel; }
    #status { height: 1; }
    #header, #status, #service-detail, #log-title { text-wrap: nowrap; text-overflow: ellipsis; }
    TabbedContent { height: 1fr; }
    TabPane { padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help"),
        Binding("l", "logs", "logs"),
        Binding("f", "filter", "filter"),
        Binding("p", "pause", "pause"),
        Binding("slash", "search", "search"),
        Binding("r", "refresh_now", "refresh", show=False),
        Binding("escape", "leave", "back", show=False),
        *(Binding(str(i + 1), f"pane('{name}')", name, show=False) for i, name in enumerate(PANES)),
    ]

    def __init__(
        self,
        store_path: Path,
        config: Config,
        refresh_s: float = DEFAULT_REFRESH_S,
        *,
        window_s: float = WINDOW_S,
        incident_window_s: float = INCIDENT_WINDOW_S,
        max_lines: int = MAX_LINES,
    ) -> None:
        super().__init__()
        self.store_path = store_path
        self.access = LogAccess(store_path, config)
        self.source = MonitSource(self.access, window_s, incident_window_s)
        self.token = client_token(config)
        self.refresh_s = max(0.2, refresh_s)
        self.feed = LogFeed(max_lines)
        self.log_filter = LogFilter()
        self.user_paused = False
        self.searching: str | None = None
        self.search_count = 0
        self.live_state = "starting"
        self.missed = 0
        self.header_data: Header | None = None
        self.window: Window | None = None
        self.explanations: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._prompt_mode = ""
        self._ticking = False
        self._again = False
        self._force = False
        self._next: dict[str, float] = {}
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._loaded_at: dict[str, float] = {}

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("loglens", id="header")
        with TabbedContent(initial="pane-services"):
            with TabPane("1 Services", id="pane-services"):
                yield ServicesPane()
            with TabPane("2 Logs", id="pane-logs"):
                yield LogPane(self.feed.limit)
            with TabPane("3 Incidents", id="pane-incidents"):
                yield IncidentsPane()
            with TabPane("4 Patterns", id="pane-patterns"):
                yield PatternsPane()
        prompt = Input(id="prompt", compact=True, disabled=True)
        prompt.display = False
        yield prompt
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.services_pane.table.focus()
        self.status.say("reading…")
        self._log_title()
        self.set_interval(self.refresh_s, self.request_refresh)
        self.request_refresh()
        self.restart_feed()

    @property
    def services_pane(self) -> ServicesPane:
        return self.query_one(ServicesPane)

    @property
    def logs_pane(self) -> LogPane:
        return self.query_one(LogPane)

    @property
    def incidents_pane(self) -> IncidentsPane:
        return self.query_one(IncidentsPane)

    @property
    def patterns_pane(self) -> PatternsPane:
        return self.query_one(PatternsPane)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def active_pane(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("pane-")

    # --- refreshing the panes -------------------------------------------------------------------

    def request_refresh(self, force: bool = False) -> None:
        """Reads the header's figures and the visible pane's data; a request made while a refresh
        runs is served right after it, never by a second one alongside."""
        self._force = self._force or force
        if self._ticking:
            self._again = True
            return
        self._ticking = True
        self.run_worker(self._tick(), group="tick", exit_on_error=False)

    async def _tick(self) -> None:
        try:
            while True:
                self._again = False
                force, self._force = self._force, False
                await self._refresh_once(force)
                if not self._again:
                    break
        finally:
            self._ticking = False

    async def _refresh_once(self, force: bool) -> None:
        try:
            newest = await off_thread(self.source.newest)
            header = await off_thread(self.source.header)
        except Exception as exc:  # the screen stays up whatever went wrong; the status line says it
            self.status.fail("data", problem(exc))
            return
        self.status.clear("data")
        self.window = self.source.window(newest)
        self.header_data = header
        self.query_one("#header", Static).update(header_text(header, self.store_path.name, self.window))
        self.services_pane.show_commands(header.commands)
        pane = self.active_pane
        if pane != "logs" and self._due(pane, newest, force):
            started = time.monotonic()
            try:
                await self._load(pane, newest)
            except Exception as exc:  # as above
                self.status.fail(pane, problem(exc))
            else:
                self.status.clear(pane)
                self._seen[pane] = self._newest_key(newest)
                self._loaded_at[pane] = time.monotonic()
            finally:
                self._next[pane] = next_due(time.monotonic(), time.monotonic() - started, self.refresh_s)
        mode = "daemon" if header.daemon_url else "store"
        self.status.say(f"{mode} read {time.strftime('%H:%M:%S')} · every {self.refresh_s:g}s · ? for keys")

    @staticmethod
    def _newest_key(newest: dict[str, Any] | None) -> tuple[Any, ...]:
        return (None, None) if newest is None else (newest.get("id"), newest.get("ts"))

    def _due(self, pane: str, newest: dict[str, Any] | None, force: bool) -> bool:
        """Whether to fetch a pane's data now: when asked, else when its turn has come (see
        `next_due`) and something new was stored or it has grown stale."""
        now = time.monotonic()
        if force:
            return True
        if now < self._next.get(pane, 0.0):
            return False
        if pane not in self._loaded_at:
            return True
        unchanged = self._seen.get(pane) == self._newest_key(newest)
        return not unchanged or now - self._loaded_at[pane] >= STALE_S

    async def _load(self, pane: str, newest: dict[str, Any] | None) -> None:
        source = self.source
        if pane == "services":
            window = source.window(newest)
            self.services_pane.show(await off_thread(lambda: source.services(window)))
        elif pane == "incidents":
            window = source.window(newest, source.incident_window_ns)
            self.incidents_pane.show(incident_rows(await off_thread(lambda: source.incidents(window))))
            self.explain_selected()
        elif pane == "patterns":
            window = source.window(newest)
            found = await off_thread(lambda: source.patterns(window, PATTERN_TOP))
            self.patterns_pane.show(pattern_rows(found))

    # --- incidents ------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "incidents":
            self.explain_selected()

    def explain_selected(self) -> None:
        """Shows the highlighted incident's explanation (fetched once, then kept)."""
        row = self.incidents_pane.selected()
        if row is None:
            return
        if row.id in self.explanations:
            self.incidents_pane.explain(explanation_text(self.explanations[row.id]))
            return
        self.incidents_pane.explain(Text(f"explaining {row.id}…", style="dim"))
        self.run_worker(self._explain(row.id), group="explain", exclusive=True, exit_on_error=False)

    async def _explain(self, incident_id: str) -> None:
        try:
            explained = await off_thread(lambda: self.source.explain(incident_id))
        except Exception as exc:  # shown in the pane itself: it is about this incident only
            failed = f"cannot explain {incident_id}: {problem(exc)}"
            self.incidents_pane.explain(Text(failed, style="#ff6b6b"))
            return
        self.explanations[incident_id] = explained
        while len(self.explanations) > EXPLANATIONS_KEPT:
            self.explanations.popitem(last=False)
        selected = self.incidents_pane.selected()
        if selected is not None and selected.id == incident_id:
            self.incidents_pane.explain(explanation_text(explained))

    # --- the log pane ---------------------------------------------------------------------------

    def restart_feed(self) -> None:
        """Starts the log pane over with the current filter (the previous feed is cancelled)."""
        self.feed.reset()
        self.missed = 0
        self._leave_search(refill=False)
        self.logs_pane.replace([])
        self.live_state = "connecting"
        self._log_title()
        self.run_worker(self._feed(self.log_filter), group="feed", exclusive=True, exit_on_error=False)

    async def _feed(self, log_filter: LogFilter) -> None:
        """Lines into the log pane for as long as the filter stands: from the daemon's live channel
        while a daemon runs, else by reading the newest records every refresh. A channel that
        breaks is opened again (waiting longer each time, up to 10 s)."""
        delay = 1.0
        while True:
            url = self.access.daemon_url
            try:
                if url is None:
                    self.live_state = f"polling every {self.refresh_s:g}s"
                    await self._poll(log_filter)
                    self.status.clear("logs")
                    await asyncio.sleep(self.refresh_s)
                    continue
                await self._stream(url, log_filter)
                delay = 1.0
            except QueryError as exc:  # the filter itself is wrong: wait for another one
                self._feed_stopped(str(exc))
                return
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code == 1008:  # the daemon refused the filter
                    self._feed_stopped(exc.rcvd.reason)
                    return
                self.status.fail("logs", f"the live channel closed ({exc}); reconnecting")
            except (OSError, WebSocketException, TimeoutError) as exc:
                self.status.fail("logs", f"the daemon's live channel: {problem(exc)}; reconnecting")
            except Exception as exc:  # the screen stays up; the status line says what went wrong
                self.status.fail("logs", problem(exc))
            self.live_state = "reconnecting"
            self._log_title()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _feed_stopped(self, reason: str) -> None:
        self.live_state = "stopped"
        self.status.fail("logs", f"log pane: {one_line(reason)} (f to change the filter)")
        self._log_title()

    async def _poll(self, log_filter: LogFilter) -> None:
        since = self.feed.newest_ts
        records = await off_thread(lambda: self.source.logs(log_filter, self.feed.limit, since))
        self._take(records)

    async def _stream(self, url: str, log_filter: LogFilter) -> None:
        tls_cert = self.access.config.server.tls_cert
        async for message in live_messages(url, self.token, log_filter, tls_cert):
            kind = message.get("type")
            if kind == "connected":
                # Subscribed first, then the backlog: nothing stored in between is lost, and what
                # comes both ways is shown once (LogFeed).
                backlog = await off_thread(lambda: self.source.logs(log_filter, self.feed.limit))
                self.live_state = "live"
                self.status.clear("logs")
                self._take(backlog)
            elif kind == "records":
                self._take(message["records"])
            elif kind == "missed":
                self.missed += int(message.get("missed", 0))
                self._log_title()
            elif kind in ("incident", "alert"):
                self._announce(message)

    def _announce(self, message: dict[str, Any]) -> None:
        """An incident or alert from the live channel: a toast, and the panes read again."""
        toast = announcement(message)
        if toast is None:
            return
        self.notify(toast, severity="warning", timeout=6)
        self._next.clear()
        self.request_refresh(force=True)

    def _take(self, records: list[dict[str, Any]]) -> None:
        lines = self.feed.offer(records)
        if lines:
            self.logs_pane.write(lines)
        self._log_title()

    def _log_title(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.log_filter.describe()}", style="bold")
        text.append(f" · {self.live_state}")
        if self.searching is not None:
            searched = f" · search “{self.searching}”: {self.search_count} lines — esc: back"
            text.append(searched, style="bold #4a90e2")
        if self.user_paused:
            dropped = f", {self.feed.dropped:,} dropped" if self.feed.dropped else ""
            text.append(f" · PAUSED, {len(self.feed.held):,} new held{dropped}", style="bold #ffa500")
        if self.missed:
            text.append(f" · {self.missed:,} missed (too fast)", style="#ffa500")
        self.logs_pane.title(text)

    def _sync_pause(self) -> None:
        """The feed holds lines while the user paused it or a search result is shown."""
        if self.user_paused or self.searching is not None:
            self.feed.pause()
        elif self.feed.paused:
            self.logs_pane.write(self.feed.resume())
        self._log_title()

    async def _search(self, query: str) -> None:
        search_filter = LogFilter(self.log_filter.service, query)
        try:
            records = await off_thread(lambda: self.source.logs(search_filter, self.feed.limit))
        except Exception as exc:  # a bad query is the usual cause; the live lines stay
            self.status.fail("search", f"search: {problem(exc)}")
            return
        self.status.clear("search")
        self.searching = query
        self.search_count = len(records)
        self._sync_pause()
        self.logs_pane.replace(log_line(r) for r in records)
        self._log_title()

    def _leave_search(self, refill: bool = True) -> None:
        if self.searching is None:
            return
        self.searching = None
        if refill:
            self.logs_pane.replace(self.feed.shown)
        self._sync_pause()

    # --- actions --------------------------------------------------------------------------------

    def action_pane(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"pane-{name}"

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_pane()
        self.request_refresh()

    def _focus_pane(self) -> None:
        focus = {
            "services": self.services_pane.table,
            "logs": self.logs_pane.view,
            "incidents": self.incidents_pane.table,
            "patterns": self.patterns_pane.table,
        }
        focus[self.active_pane].focus()

    def action_logs(self) -> None:
        pane = self.active_pane
        service: str | None
        if pane == "services":
            service = self.services_pane.selected()
        elif pane == "incidents":
            row = self.incidents_pane.selected()
            service = row.cause_service if row else None
        elif pane == "patterns":
            selected = self.patterns_pane.selected()
            service = selected.service if selected else None
        else:
            service = next_service([r.service for r in self.services_pane.rows], self.log_filter.service)
        self.log_filter = replace(self.log_filter, service=service)
        self.action_pane("logs")
        self.restart_feed()

    def action_filter(self) -> None:
        self._prompt("filter", self.log_filter.query, "filter the log pane: level:>=warning -healthcheck …")

    def action_search(self) -> None:
        self._prompt("search", self.searching or "", 'search the stored logs: "timed out" service:api …')

    def _prompt(self, mode: str, value: str, placeholder: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self._prompt_mode = mode
        prompt.placeholder = placeholder
        prompt.value = value
        prompt.disabled = False
        prompt.display = True
        prompt.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        mode = self._prompt_mode
        self._hide_prompt()
        self.action_pane("logs")
        if mode == "filter":
            self.log_filter = replace(self.log_filter, query=value)
            self.restart_feed()
        elif mode == "search":
            if value:
                self.run_worker(self._search(value), group="search", exclusive=True, exit_on_error=False)
            else:
                self._leave_search()

    def _hide_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.display = False
        prompt.disabled = True
        self._prompt_mode = ""
        self._focus_pane()

    def action_pause(self) -> None:
        self.user_paused = not self.user_paused
        self._sync_pause()

    def action_leave(self) -> None:
        if self._prompt_mode:
            self._hide_prompt()
        elif self.searching is not None:
            self._leave_search()
            self.status.clear("search")

    def action_refresh_now(self) -> None:
        self._next.clear()
        self.request_refresh(force=True)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def run_monit(store_path: Path, config: Config, refresh_s: float = DEFAULT_REFRESH_S) -> None:
    """`loglens monit`: the dashboard of the store at `store_path` (through its daemon when one
    runs), until the user quits."""
    MonitApp(store_path, config, refresh_s).run()
    finish_fetches(QUIT_WAIT_S)
