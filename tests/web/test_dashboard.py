"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against a real
daemon fed our demo corpus (4 incidents with a known cause) and live pushes.

Screenshots of each view go to tests/artifacts/dashboard/ (look at them after a change).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from daemon_helpers import Up

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "dashboard"
DEMO_RANGE = "since=2026-01-12T00:00:00Z&until=2026-01-12T06:00:00Z"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> & "quoted"'

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is a dev dependency (make test)"
)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make test installs it)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, dict[str, Any]]]:
    """A daemon whose store holds the demo corpus (ingested first, as `make run` does)."""
    folder = tmp_path_factory.mktemp("dashboard")
    corpus = folder / "corpus"
    subprocess.run(
        [sys.executable, "-m", "loglens", "demo", "--out", str(corpus)], check=True, capture_output=True
    )
    subprocess.run(
        [sys.executable, "-m", "loglens", "ingest", "--store", str(folder / "s.duckdb"), str(corpus)],
        check=True, capture_output=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    daemon = Up(folder)
    try:
        yield daemon, json.loads((corpus / "truth.json").read_text())
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Page:
    """A browser page on the daemon, recording console errors and uncaught exceptions."""

    def __init__(self, browser: Any, url: str, width: int = 1400, height: int = 900) -> None:
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.on(
            "console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(url)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def close(self) -> None:
        self.context.close()


ROWS = "[...document.querySelectorAll('[data-pane=live] .row')]"


def wait_until(page: Any, expression: str, timeout: float = 15.0, arg: Any = None) -> None:
    """Polls a JS expression (or a function of `arg`) until it is truthy. Playwright's own
    wait_for_function evaluates strings in the page, which the dashboard's CSP (rightly) forbids;
    page.evaluate goes through the DevTools protocol and is not affected."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.1)


def push(up: Up, service: str, lines: list[str]) -> None:
    now = time.time()
    body = "\n".join(
        json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{i % 1000:03d}Z",
                    "service": service, "level": "error" if i % 3 == 0 else "info", "message": line})
        for i, line in enumerate(lines)
    )  # fmt: skip
    answer = up.client.post("/ingest", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text


class TestServing:
    def test_browser_gets_the_dashboard_and_clients_the_es_info(
        self, demo: tuple[Up, dict[str, Any]]
    ) -> None:
        up, _ = demo
        page = up.client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 200 and "<title>loglens</title>" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        script = up.client.get("/ui/js/main.js")
        assert script.status_code == 200 and "content-security-policy" in script.headers
        es = httpx.get(up.url + "/", headers={"Accept": "application/json"})
        assert (
            es.json()["tagline"] == "You Know, for Logs"
            and es.headers["x-elastic-product"] == "Elasticsearch"
        )
        assert "content-security-policy" not in up.client.get("/api/health").headers

    def test_every_module_is_preloaded(self, demo: tuple[Up, dict[str, Any]]) -> None:
        """index.html asks for every module at once (a module missing there loads one level late)."""
        up, _ = demo
        page = up.client.get("/", headers={"Accept": "text/html"}).text
        web = Path(__file__).resolve().parents[2] / "src" / "loglens" / "web" / "js"
        for module in sorted(web.glob("*.js")):
            if module.name != "main.js":
                assert f'<link rel="modulepreload" href="/ui/js/{module.name}">' in page, module.name


class TestInTheBrowser:
    def test_live_lines_filter_and_hostile_text(self, demo: tuple[Up, dict[str, Any]], browser: Any) -> None:
        """Pushed lines appear live; the filter narrows them; a line holding markup stays text."""
        up, _ = demo
        view = Page(browser, up.url + "/#live")
        page = view.page
        wait_until(page, "document.getElementById('status').textContent === 'live'")
        push(up, "webtest", [f"request {i} served" for i in range(29)] + [HOSTILE])
        wait_until(page, f"{ROWS}.filter(r => r.textContent.includes('webtest')).length >= 20")
        rows = page.locator("[data-pane=live] .row")
        texts = rows.all_text_contents()
        assert any(HOSTILE in text for text in texts), texts[-3:]
        assert page.evaluate("window.__pwned") is None
        assert page.locator("[data-pane=live] .rows img, [data-pane=live] .rows script").count() == 0
        view.shot("live")

        page.fill("#filter", "service:webtest level:error")
        page.press("#filter", "Enter")
        wait_until(
            page,
            f"(rows => rows.length > 0 && rows.every(r => r.textContent.includes('webtest') "
            f"&& r.textContent.includes('error')))({ROWS})",
        )
        push(
            up,
            "webtest",
            ["after the filter: kept", "after the filter: also kept", "after the filter: dropped"],
        )
        wait_until(page, f"{ROWS}.some(r => r.textContent.includes('after the filter: kept'))")
        texts = page.locator("[data-pane=live] .row").all_text_contents()
        assert all("webtest" in t and "error" in t for t in texts)
        assert not any("dropped" in t for t in texts)  # message 2 of that push is info level
        view.shot("live-filtered")

        page.locator("[data-pane=live] .row").first.click()
        page.wait_for_selector("[data-role=detail] .context .row", timeout=15000)
        view.shot("live-detail")

        page.keyboard.press("m")  # the daemon machine's metrics under the timeline
        wait_until(page, "Number(document.getElementById('hostmetrics').dataset.samples || 0) >= 1", 20)
        assert page.is_visible("#hostmetrics")
        view.shot("host-metrics")
        view.close()
        assert view.errors == []

    def test_timeline_marks_incidents_and_detail_names_the_root_cause(
        self, demo: tuple[Up, dict[str, Any]], browser: Any
    ) -> None:
        up, truth = demo
        view = Page(browser, f"{up.url}/?{DEMO_RANGE}#incidents")
        page = view.page
        wait_until(page, "Number(document.getElementById('timeline').dataset.incidents || 0) >= 1", 30)
        total = int(page.eval_on_selector("#timeline", "c => c.dataset.total"))
        assert total == truth["totals"]["events"]
        listed = "Number(document.querySelector('[data-pane=incidents]').dataset.incidents || 0) >= 1"
        wait_until(page, listed, 30)
        view.shot("timeline-incidents")
        expected = {inc["root_cause"] for inc in truth["incidents"]}
        named: set[str] = set()
        items = page.locator("[data-pane=incidents] [data-incident]")
        for index in range(items.count()):
            items.nth(index).click()
            wait_until(
                page,
                "id => { const d = document.querySelector('[data-pane=incidents] [data-root-cause]');"
                " return d !== null && d.dataset.incident === id; }",
                arg=items.nth(index).get_attribute("data-incident"),
            )
            named.add(
                page.eval_on_selector("[data-pane=incidents] [data-root-cause]", "d => d.dataset.rootCause")
            )
        view.shot("incident-detail")
        assert "sshd" in named and len(named & expected) >= 3, (named, expected)
        view.close()
        assert view.errors == []

    def test_heatmap_cell_opens_its_records_and_replay_plays(
        self, demo: tuple[Up, dict[str, Any]], browser: Any
    ) -> None:
        """A heatmap cell opens that service's records of that bucket in Search; Replay plays records
        from the chosen moment forward, in order, at the chosen speed."""
        up, _ = demo
        view = Page(browser, f"{up.url}/?{DEMO_RANGE}#heatmap")
        page = view.page
        wait_until(
            page, "Number(document.querySelector('[data-pane=heatmap] canvas')?.dataset.rows || 0) >= 5", 30
        )
        canvas = page.locator("[data-pane=heatmap] canvas")
        box = canvas.bounding_box()
        assert box is not None
        canvas.click(position={"x": box["width"] * 0.6, "y": 10})  # the first (busiest) row
        page.wait_for_selector("[data-pane=search]:not([hidden])", timeout=10000)
        wait_until(
            page, "Number(document.querySelector('[data-role=search-info]').dataset.count || 0) > 0", 20
        )
        query = page.input_value("[data-pane=search] input[type=search]")
        assert query.startswith("service:"), query
        service = query.split()[0].split(":", 1)[1]
        wait_until(page, "document.querySelectorAll('[data-pane=search] .row .svc').length > 0")  # next frame
        services = page.locator("[data-pane=search] .row .svc").all_text_contents()
        assert services and set(services) == {service}
        view.shot("heatmap-to-search")

        page.keyboard.press("7")
        page.wait_for_selector("[data-pane=replay]:not([hidden])")
        page.fill("[data-pane=replay] input[type=datetime-local]", "2026-01-12T01:00:00")
        page.dispatch_event("[data-pane=replay] input[type=datetime-local]", "change")
        page.select_option("[data-pane=replay] select", "10")
        page.click("[data-role=play]")
        wait_until(page, "document.querySelectorAll('[data-pane=replay] .row').length >= 5", 20)
        clock = float(page.eval_on_selector("[data-role=clock]", "c => c.dataset.ms"))
        times = page.locator("[data-pane=replay] .row .ts").all_text_contents()
        assert times == sorted(times) and all(t >= "2026-01-12 01:00:00" for t in times), times[:5]
        assert clock > 1_768_179_600_000  # the replayed moment moved past 01:00:00
        view.shot("replay")
        view.close()
        assert view.errors == []

    def test_keys_pause_select_and_hide_and_saved_searches(
        self, demo: tuple[Up, dict[str, Any]], browser: Any
    ) -> None:
        """space holds new records back and shows them on resume; j selects; t hides the timeline;
        a search saved under a name comes back from the list; a note left through the API is listed."""
        up, _ = demo
        view = Page(browser, up.url + "/#live")
        page = view.page
        wait_until(page, "document.getElementById('status').textContent === 'live'")
        page.keyboard.press(" ")
        assert page.get_attribute("#pause", "aria-pressed") == "true"
        push(up, "held", [f"held back {i}" for i in range(5)])
        wait_until(page, "document.querySelector('[data-role=live-info]').dataset.held === '5'")
        assert not any("held back" in t for t in page.locator("[data-pane=live] .row").all_text_contents())
        page.keyboard.press(" ")
        wait_until(page, f"{ROWS}.filter(r => r.textContent.includes('held back')).length === 5")
        page.keyboard.press("j")
        wait_until(page, "document.querySelectorAll('[data-pane=live] .row.selected').length === 1")
        page.keyboard.press("t")
        assert page.is_hidden("#timeline-wrap")
        page.keyboard.press("t")
        assert page.is_visible("#timeline")

        page.keyboard.press("2")
        page.fill("[data-pane=search] input[type=search]", "held back")
        page.press("[data-pane=search] input[type=search]", "Enter")
        wait_until(page, "document.querySelector('[data-role=search-info]').dataset.count === '5'")
        # The words searched for are marked in each row (rows are drawn at the next frame).
        wait_until(page, "document.querySelectorAll('[data-pane=search] .row mark').length >= 5")
        page.once("dialog", lambda dialog: dialog.accept("held lines"))
        page.click("[data-pane=search] button:has-text('Save')")
        options = page.locator("[data-pane=search] select option").all_text_contents()
        assert "held lines" in options

        note = {"since": "now-1m", "text": "checked the held lines", "kind": "note"}
        assert up.client.post("/api/annotations", json=note).status_code == 201
        page.keyboard.press("8")
        wait_until(page, "Number(document.querySelector('[data-pane=notes] table')?.dataset.rows || 0) >= 1")
        assert "checked the held lines" in page.inner_text("[data-pane=notes]")
        view.shot("notes")
        view.close()
        assert view.errors == []

    def test_every_view_opens_without_errors(self, demo: tuple[Up, dict[str, Any]], browser: Any) -> None:
        """Keys 1–8 open each view on the demo range; themes switch; a narrow screen still works."""
        up, _ = demo
        view = Page(browser, f"{up.url}/?{DEMO_RANGE}#live")
        page = view.page
        page.wait_for_selector("[data-pane=live] .row", timeout=15000)
        names = page.locator("nav#tabs button").evaluate_all("bs => bs.map(b => b.dataset.tab)")
        assert names[:4] == ["live", "search", "patterns", "incidents"]
        for number, name in enumerate(names[:8], start=1):
            page.keyboard.press(str(number))
            page.wait_for_selector(f"[data-pane={name}]:not([hidden])", timeout=5000)
            page.wait_for_timeout(700)
            view.shot(f"view-{number}-{name}")
        page.keyboard.press("Control+k")
        page.wait_for_selector("#palette:not([hidden])")
        page.keyboard.type("light theme")
        page.keyboard.press("Enter")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        view.shot("light-theme")
        view.close()
        narrow = Page(browser, f"{up.url}/?{DEMO_RANGE}#live", width=400, height=800)
        narrow.page.wait_for_selector("[data-pane=live] .row", timeout=15000)
        narrow.shot("narrow")
        narrow.close()
        assert view.errors == [] and narrow.errors == []


class TestWithTokens:
    def test_the_page_asks_for_a_token_and_then_uses_it(self, tmp_path: Path, browser: Any) -> None:
        """With tokens on, the page without one asks for it; with `#token=` it reads and streams live."""
        config = '[[server.tokens]]\nname = "oncall"\ntoken = "read-secret-0123456789"\n'
        config += 'scopes = ["read", "ingest"]\n'
        up = Up(tmp_path, config)
        try:
            bare = Page(browser, up.url + "/#live")
            bare.page.wait_for_selector("#token-dialog[open]", timeout=15000)
            bare.shot("token-dialog")
            bare.close()
            view = Page(browser, up.url + "/#token=read-secret-0123456789")
            page = view.page
            wait_until(page, "document.getElementById('status').textContent === 'live'")
            assert page.evaluate("location.hash") == "#live"  # the secret does not stay in the address
            headers = {
                "Authorization": "Bearer read-secret-0123456789",
                "Content-Type": "application/x-ndjson",
            }
            line = json.dumps({"service": "secure", "level": "info", "message": "seen with a token"})
            assert up.client.post("/ingest", content=line, headers=headers).status_code == 200
            wait_until(page, f"{ROWS}.some(r => r.textContent.includes('seen with a token'))")
            view.close()
            # The 401s of the page without a token are expected; the one with it logged nothing.
            assert view.errors == []
        finally:
            up.stop()
