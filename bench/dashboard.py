#!/usr/bin/env python3
"""The dashboard's first load on localhost (issue bar: under 1 s), in Debian's Chromium driven by
Playwright, against `loglens up` on a store holding the demo corpus (101k records, 6 h).

Per run, a fresh browser context (nothing cached) opens `/?since…until…#live` for the demo's span and
records: the navigation's DOMContentLoaded and load events, when the first log rows are on screen, and
when the timeline has drawn its buckets (polled every 10 ms through the DevTools protocol). Medians of
`--runs`.

Then the live stream under load: the page on the live view while a sender pushes `--rate` lines/s
(NDJSON, 100 lines every 20 ms) for 10 s; the page counts frames (requestAnimationFrame) and main-thread
tasks over 50 ms (PerformanceObserver "longtask"), and reports the records it shows. "Smooth" means the
frame rate stays near the display's and no task blocks input for long. Writes
bench/results/dashboard.json.

    python bench/dashboard.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
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


PROBE = """
window.__frames = 0; window.__long = [];
(function count() { window.__frames++; requestAnimationFrame(count); })();
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
  .observe({ type: "longtask", buffered: true });
"""


def send_at_rate(base: str, rate: int, seconds: float, sent: Any) -> None:
    """In a process of its own (Playwright's driver would slow a thread): `rate` lines/s of NDJSON,
    a batch every 10 ms, sent on time while earlier ones await their acknowledgement (bench/live.py's
    paced sender)."""
    import asyncio

    import orjson
    from live import paced_send

    tails = [
        orjson.dumps(
            {"level": "warning" if i % 10 == 0 else "info", "message": f"GET /items/{i} in {i % 97} ms"}
        )[1:]
        for i in range(5000)
    ]
    result = asyncio.run(paced_send(base, tails, rate, seconds, "dash"))
    sent.value = result.lines_acked


def live_under_load(browser: Any, base: str, rate: int, seconds: float = 10.0) -> dict[str, Any]:
    """The live view while `rate` lines/s are pushed (see the module docstring)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(base + "/#live")
    until_true(page, "document.getElementById('status').textContent === 'live'", time.perf_counter())
    ctx = multiprocessing.get_context("spawn")
    sent = ctx.Value("q", 0)
    page.evaluate("window.__frames = 0; window.__long = [];")
    sender = ctx.Process(target=send_at_rate, args=(base, rate, seconds, sent))
    started = time.perf_counter()
    sender.start()
    sender.join(seconds + 30)
    elapsed = time.perf_counter() - started
    frames = page.evaluate("window.__frames")
    long_tasks = page.evaluate("window.__long")
    time.sleep(1.0)
    shown = int(page.evaluate("document.querySelector('[data-pane=live] .vlist').dataset.total || 0"))
    rendered = int(page.evaluate("document.querySelector('[data-pane=live] .vlist').dataset.rendered || 0"))
    context.close()
    return {
        "rate_sent": round(sent.value / elapsed),
        "lines_sent": sent.value,
        "records_in_list": shown,
        "rows_in_dom": rendered,
        "frames_per_s": round(frames / elapsed, 1),
        "long_tasks": len(long_tasks),
        "long_task_max_ms": round(max(long_tasks), 1) if long_tasks else 0.0,
        "long_task_total_ms": round(sum(long_tasks), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rate", type=int, default=5000, help="Lines/s pushed during the live phase.")
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
                base = url.split("/?", 1)[0]
                live = live_under_load(browser, base, args.rate)
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
        "live_under_load": live,
    }
    verdict = "PASS" if median["timeline_drawn_s"] < BAR_S else "FAIL"
    print(
        f"first load (median of {args.runs}, fresh context each): DOMContentLoaded "
        f"{median['dom_content_loaded_s']} s, load {median['load_s']} s, "
        f"first rows {median['first_rows_s']} s, "
        f"timeline drawn {median['timeline_drawn_s']} s — bar {BAR_S} s: {verdict}"
    )
    print(
        f"live view at {live['rate_sent']:,} lines/s: {live['frames_per_s']} frames/s, "
        f"{live['long_tasks']} tasks over 50 ms (longest {live['long_task_max_ms']} ms), "
        f"{live['records_in_list']:,} of {live['lines_sent']:,} lines in the list, "
        f"{live['rows_in_dom']} rows in the DOM"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
