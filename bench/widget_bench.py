"""The website widget as a visitor meets it: bundle size, and the time from page load to a usable widget.

    .venv/bin/python bench/widget_bench.py [--loads 20] [--redis-url redis://127.0.0.1:6379/9]

Serves the shipped companies (benova's seed documents) on a free loopback port, opens benova's demo page
(GET /demo/benova, the one-tag snippet under a strict CSP) in headless Chromium, and for each fresh visitor
(a new browser context, empty cache) measures:
  script     navigation start -> misy.js executed (window.misy exists)
  usable     navigation start -> branding and session loaded (misy.getSession() is set) and the launcher in
             the page, read on every animation frame inside the page
  first reply  launcher click -> the answer to "¿cuánto cuesta la limpieza facial profunda?" on screen
Prints minified and gzip sizes of sdk/dist/misy.js and p50/p95 of each figure.
"""
from __future__ import annotations

import argparse
import gzip
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench._shipped import pct, shipped_app  # noqa: E402

QUESTION = "¿Cuánto cuesta la limpieza facial profunda?"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=20)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = ap.parse_args()
    print("command:", " ".join(sys.argv), "| cpus:", os.cpu_count())
    bundle = (ROOT / "sdk" / "dist" / "misy.js").read_bytes()
    print(f"misy.js: {len(bundle):,} B minified, {len(gzip.compress(bundle, 9)):,} B gzip")
    redis.Redis.from_url(args.redis_url).flushdb()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        app = shipped_app(Path(tmp), args.redis_url, environment="development", port=port,
                          auth_attempts_per_minute=10_000)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{port}/demo/benova"
        script, usable, reply = [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for i in range(args.loads + 1):          # the first load warms the server's caches: not counted
                context = browser.new_context()
                page = context.new_page()
                # Timed inside the page, on every animation frame: when the session is set and the launcher is
                # in the document (Playwright's own polling would add its round trips).
                page.add_init_script("""(() => { const tick = () => {
                    const host = document.getElementById('misy-widget');
                    const launcher = host && host.shadowRoot && host.shadowRoot.querySelector('[data-misy=launcher]');
                    if (window.misy && window.misy.getSession() && launcher) { window.__misyUsable = performance.now(); }
                    else { requestAnimationFrame(tick); } }; requestAnimationFrame(tick); })()""")
                page.goto(url)
                page.wait_for_function("() => window.__misyUsable !== undefined", timeout=15000)
                page.locator("[data-misy=launcher]").wait_for(state="visible")
                timing = page.evaluate("""() => ({nav: performance.timeOrigin,
                    script: performance.getEntriesByType('resource').find(e => e.name.includes('misy.js')).responseEnd,
                    usable: window.__misyUsable})""")
                started = time.perf_counter()
                page.locator("[data-misy=launcher]").click()
                page.locator("[data-misy=input]").fill(QUESTION)
                page.keyboard.press("Enter")
                page.locator("[data-misy=msg][data-role=bot]").filter(has_text="$").first.wait_for(timeout=15000)
                if i:
                    script.append(timing["script"])
                    usable.append(timing["usable"])
                    reply.append((time.perf_counter() - started) * 1000)
                context.close()
            browser.close()
        server.shutdown()
        app.extensions["misybot"].vectors.close()
    for name, values in (("script loaded", script), ("widget usable", usable), ("first reply shown", reply)):
        print(f"{name:18s} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms   (n={len(values)})")


if __name__ == "__main__":
    main()
