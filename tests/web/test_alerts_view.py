"""The dashboard's alerts and incident explanations in a real browser (Debian's Chromium via
Playwright) against a real daemon with alert rules, fed a small demo corpus and live pushes.

Screenshots go to tests/artifacts/dashboard/ (alerts-*.png, incident-explanation.png).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from daemon_helpers import Up
from web.test_dashboard import CHROMIUM, CHROMIUM_FLAGS, DEMO_RANGE, Page, playwright_api, push, wait_until

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make test installs it)")

RULES = """
[alerts]
group_wait = "0s"
[[alerts.rules]]
name = "incidents"
type = "incident"
min_severity = "warning"
severity = "critical"
[[alerts.rules]]
name = "oom"
type = "match"
regex = "oom-killer|Out of memory"
severity = "critical"
"""
ALERT_ROWS = "[...document.querySelectorAll('[data-pane=incidents] tr[data-alert]')]"
DETAIL = "document.querySelector('[data-pane=incidents] .detail')"
ALERTS_BOX = "document.querySelector('[data-pane=incidents] .alerts-box')"
STATUS = "document.querySelector('[data-role=alert-status]')"


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """A daemon with the alert rules above, whose store holds a 20k-line demo corpus (its four
    incidents, found again on demand) — alerts only come from what is pushed while it runs."""
    folder = tmp_path_factory.mktemp("alerts-view")
    corpus = folder / "corpus"
    subprocess.run(
        [sys.executable, "-m", "loglens", "demo", "--out", str(corpus), "--lines", "20000", "-q"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "loglens", "ingest", "--store", str(folder / "s.duckdb"), str(corpus)],
        check=True, capture_output=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    daemon = Up(folder, RULES)
    try:
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def oom(pid: int) -> list[str]:
    return [
        f"java invoked oom-killer: gfp_mask=0x140cca, order=0, pid={pid}",
        f"Out of memory: Killed process {pid} (java) total-vm:4092551kB, anon-rss:3736162kB",
    ]


def row_state(page: Any, alert_id: str) -> str | None:
    state: str | None = page.evaluate(
        "id => document.querySelector(`[data-pane=incidents] tr[data-alert='${id}']`)?.dataset.state ?? null",
        alert_id,
    )
    return state


class TestAlertsInTheIncidentsPane:
    def test_a_pushed_alert_appears_live_and_its_buttons_act_on_the_server(
        self, alerting: Up, browser: Any
    ) -> None:
        """An alert raised while the page is open is listed and counted in the header without a
        reload; Acknowledge, Silence 2h and Resolve change it on screen and on the server; j/k and
        Enter open the next one."""
        up = alerting
        view = Page(browser, up.url + "/#incidents")
        page = view.page
        wait_until(page, "document.getElementById('status').textContent === 'live'")
        wait_until(page, f"{ALERTS_BOX}.dataset.alerts === '0'")
        assert page.is_hidden("#alert-badge")
        page.evaluate("window.__sameDocument = true")

        push(up, "kernel", oom(4242))
        wait_until(page, f"{ALERT_ROWS}.length === 1")
        alert_id = page.get_attribute("[data-pane=incidents] tr[data-alert]", "data-alert")
        assert alert_id is not None and row_state(page, alert_id) == "open"
        assert page.evaluate("window.__sameDocument") is True  # it came over the live channel
        assert page.get_attribute("#alert-badge", "data-count") == "1" and page.is_visible("#alert-badge")
        assert "oom" in page.inner_text(f"[data-pane=incidents] tr[data-alert='{alert_id}']")

        page.click(f"[data-pane=incidents] tr[data-alert='{alert_id}']")
        wait_until(page, f"{DETAIL}.dataset.alert === '{alert_id}' && {DETAIL}.dataset.state === 'open'")
        detail = page.locator("[data-pane=incidents] .detail")
        assert "Killed process 4242" in detail.inner_text() and "opened" in detail.inner_text()
        view.shot("alerts-open")

        page.click("[data-pane=incidents] [data-action=ack]")
        wait_until(page, f"{DETAIL}.dataset.state === 'acknowledged'")
        assert row_state(page, alert_id) == "acknowledged"
        assert page.get_attribute("#alert-badge", "data-count") == "0"
        served = up.client.get(f"/api/alerts/{alert_id}").json()
        assert served["state"] == "acknowledged"
        assert [step["kind"] for step in served["history"]][-1] == "acknowledged"
        assert page.is_disabled("[data-pane=incidents] [data-action=ack]")

        page.click("[data-pane=incidents] [data-action=silence]")
        wait_until(page, f"{STATUS}?.textContent.startsWith('silenced')")
        silences = up.client.get("/api/alerts/silences").json()
        assert [s["matchers"] for s in silences] == [{"rule": "oom", "service": "kernel"}]
        assert "rule=oom, service=kernel" in detail.inner_text()

        push(up, "db", oom(777))  # another service: a second alert
        wait_until(page, f"{ALERT_ROWS}.length === 2")
        order = page.evaluate(f"{ALERT_ROWS}.map(r => r.dataset.alert)")
        second = next(i for i in order if i != alert_id)
        assert page.get_attribute("#alert-badge", "data-count") == "1"
        towards, back = ("j", "k") if order.index(second) > order.index(alert_id) else ("k", "j")
        page.keyboard.press(towards)
        page.keyboard.press("Enter")
        wait_until(page, f"{DETAIL}.dataset.alert === '{second}'")
        page.keyboard.press(back)
        page.keyboard.press("Enter")
        wait_until(page, f"{DETAIL}.dataset.alert === '{alert_id}'")

        page.click("[data-pane=incidents] [data-action=resolve]")
        wait_until(page, f"{DETAIL}.dataset.state === 'resolved'")
        assert row_state(page, alert_id) == "resolved"
        assert up.client.get(f"/api/alerts/{alert_id}").json()["state"] == "resolved"
        view.shot("alerts-resolved")

        toggle = "[data-pane=incidents] .section-head button:has-text('Show resolved')"
        page.click(toggle)  # on: the reload lists the recent resolved ones too
        page.click(toggle)  # off: the active ones only
        wait_until(page, f"{ALERT_ROWS}.map(r => r.dataset.alert).join() === '{second}'")
        page.click(toggle)
        wait_until(page, f"{ALERT_ROWS}.filter(r => r.dataset.state === 'resolved').length === 1")
        assert page.get_attribute(toggle, "aria-pressed") == "true"
        assert row_state(page, alert_id) == "resolved"
        view.close()
        assert view.errors == []

    def test_the_incident_detail_leads_with_the_offline_explanation(self, alerting: Up, browser: Any) -> None:
        """The kernel incident's detail shows the explainer's signature and fix steps (commands in
        monospace) above the ranked candidates."""
        up = alerting
        since, until = (part.split("=", 1)[1] for part in DEMO_RANGE.split("&"))
        found = up.client.get("/api/incidents", params={"since": since, "until": until}).json()
        kernel = next(i["id"] for i in found if i["root_cause"]["service"] == "kernel")
        served = up.client.get(f"/api/incidents/{kernel}/explain").json()["explanation"]
        view = Page(browser, f"{up.url}/?{DEMO_RANGE}#incidents")
        page = view.page
        row = f"[data-pane=incidents] tr[data-incident='{kernel}']"
        page.wait_for_selector(row, timeout=30000)
        page.click(row)
        page.wait_for_selector("[data-pane=incidents] .detail [data-role=explanation]", timeout=30000)
        wait_until(page, f"{DETAIL}.dataset.incident === '{kernel}'")
        block = page.locator("[data-pane=incidents] .detail [data-role=explanation]")
        assert block.locator(".sig-name").inner_text() == served["signature"]["name"] == "Out-of-memory kill"
        steps = block.locator("ol[data-role=fix] > li")
        assert steps.count() == len(served["fix"]) >= 1
        command = steps.first.locator("code.cmd").inner_text()
        assert command and served["fix"][0].startswith(command)
        assert "mono" in block.locator("code.cmd").first.evaluate("c => getComputedStyle(c).fontFamily")
        above = page.evaluate(
            "() => { const d = document.querySelector('[data-pane=incidents] .detail');"
            " const e = d.querySelector('[data-role=explanation]');"
            " const c = [...d.querySelectorAll('h3')].find(h => h.textContent === 'Root-cause candidates');"
            " return Boolean(e.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING); }"
        )
        assert above
        view.shot("incident-explanation")
        view.close()
        assert view.errors == []
