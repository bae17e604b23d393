#!/usr/bin/env python3
"""The dashboard's first load on localhost (issue bar: under 1 s), in Debian's Chromium driven by
Playwright, against `loglens up` on a store holding the demo corpus (101k records, 6 h).

Per run, a fresh browser context (nothing cached) opens `/?since…until…#live` for the demo's span and
records: the navigation's DOMContentLoaded and load events, when the first log rows are on screen, and
when the timeline has drawn its buckets (polled every 10 ms through the DevTools protocol). Medians of
`--runs`. Writes bench/results/dashboard.json.

    python bench/dashboard.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]  # fmt: skip
RANGE = "since=2026-01-12T00:00:00Z&until=2026-01-12T06:00:00Z"
BAR_S = 1.0


def until_true(page: Any, expression: str, started: float, timeout: float = 30.0) -> float:
    """Seconds from `started` until the expression holds in the page."""
    while not page.evaluate(expression):
        if time.perf_counter() - started > timeout:
            raise TimeoutError(expression)
        time.sleep(0.01)
    return time.perf_counter() - started


def one_load(browser: Any, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    rows = until_true(page, "document.querySelectorAll('[data-pane=live] .row').length > 0", started)
    timeline = until_true(
        page, "Number(document.getElementById('timeline').dataset.buckets || 0) > 0", started
    )
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
    )
    context.close()
    return {
        "dom_content_loaded_s": round(timing["dcl"] / 1000, 3),
        "load_s": round(timing["load"] / 1000, 3),
        "first_rows_s": round(rows, 3),
        "timeline_drawn_s": round(timeline, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "dashboard.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "TZ": "UTC"}
        loglens = [sys.executable, "-m", "loglens"]
        subprocess.run([*loglens, "demo", "--out", str(folder / "demo")], check=True, capture_output=True)
        store = str(folder / "s.duckdb")
        subprocess.run(
            [*loglens, "ingest", "--store", store, str(folder / "demo")],
            check=True,
            capture_output=True,
            env=env,
        )
        daemon = subprocess.Popen([*loglens, "up", "--store", store, "--listen", "127.0.0.1:0"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            info = folder / "daemon.json"
            while not info.exists():
                time.sleep(0.05)
            url = json.loads(info.read_text())["url"] + f"/?{RANGE}#live"
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                one_load(browser, url)  # warm-up: the daemon's first queries open its caches
                runs = [one_load(browser, url) for _ in range(args.runs)]
                browser.close()
        finally:
            daemon.terminate()
            daemon.wait(30)
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    result = {
        "bench": "dashboard",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "store": "demo corpus, 101,163 records over 6 h",
        "bar_first_load_s": BAR_S,
        "median": median,
        "runs": runs,
    }
    verdict = "PASS" if median["timeline_drawn_s"] < BAR_S else "FAIL"
    print(
        f"first load (median of {args.runs}, fresh context each): DOMContentLoaded "
        f"{median['dom_content_loaded_s']} s, load {median['load_s']} s, "
        f"first rows {median['first_rows_s']} s, "
        f"timeline drawn {median['timeline_drawn_s']} s — bar {BAR_S} s: {verdict}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
