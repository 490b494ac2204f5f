"""How fast the committed proof-of-work worker hashes in Chromium, at full speed and 4 times throttled.

Not a test: it prints figures. It serves intake/static/haven-pow-worker.js
(the very bundle the intake serves) from a local page, starts it in
Debian's chromium (Playwright, as tests/web does) on a challenge too hard
to finish (30 bits), and reads the worker's own progress messages (tried
so far, about every 50 ms) for a few seconds. Then the same with the
DevTools CPU throttling a low-end phone is commonly emulated with
(Emulation.setCPUThrottlingRate 4). Chromium applies it to the page's
thread only (it refuses it on a worker target), so the bundle's code is
also run on the page's thread, unthrottled and throttled: that pair is the
measured 4x figure; the worker's pair shows whether the page's throttling
reaches the worker at all.

From the throttled rate it prints the ceiling a requester's phone can
reach in about 10 seconds of expected work (2^bits hashes on average):
docs/intake-api.md, "What honest requesters pay", gives the figures.

    .venv/bin/python bench/pow_browser.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import math
import shutil
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parent.parent
WORKER = REPO / "intake" / "static" / "haven-pow-worker.js"
THROTTLE = 4
PHONE_SECONDS = 10.0

PAGE = """<!doctype html><meta charset="utf-8"><title>pow bench</title>
<script>
window.progress = [];
window.startWorker = (token, digestHex) => {
  window.progress = [];
  const worker = new Worker("haven-pow-worker.js");
  worker.onmessage = (event) => {
    if (typeof event.data.tried === "number" && !("nonce" in event.data)) {
      window.progress.push([performance.now(), event.data.tried]);
    }
  };
  worker.postMessage({ token, digestHex, difficulty: 30 });
  window.worker = worker;
};
</script>"""


def hard_token() -> str:
    """A token in the intake's layout asking for 30 bits; the worker checks no HMAC, it only solves."""
    body = struct.pack(">BQQB16s", 1, 0, 2**40, 30, bytes(16))
    return base64.urlsafe_b64encode(body + bytes(32)).decode().rstrip("=")


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        return


def measure_worker(browser: Browser, base: str, seconds: float, throttle: int) -> float:
    """Hashes per second of the worker bundle in its Web Worker, as the form runs it.

    The throttling is set on the page: Chromium refuses it on a worker
    target ("Operation is only supported for pages, not workers"), so this
    figure shows how far, if at all, the page's emulation reaches the worker.
    """
    context = browser.new_context()
    page = context.new_page()
    if throttle > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(f"{base}/index.html")
    page.evaluate("([t, d]) => window.startWorker(t, d)", [hard_token(), "ab" * 32])
    page.wait_for_timeout(1000)
    first = page.evaluate("window.progress[window.progress.length - 1]")
    page.wait_for_timeout(seconds * 1000)
    last = page.evaluate("window.progress[window.progress.length - 1]")
    page.evaluate("window.worker.terminate()")
    context.close()
    return float((last[1] - first[1]) / ((last[0] - first[0]) / 1000))


def measure_in_page(browser: Browser, base: str, seconds: float, throttle: int) -> float:
    """Hashes per second of the same bundle's code run on the page's own thread, where the
    DevTools throttling certainly applies: the bundle is evaluated with a stand-in `self`
    whose postMessage records the solver's progress and stops it after `seconds`."""
    context = browser.new_context()
    page = context.new_page()
    if throttle > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(f"{base}/index.html")
    source = WORKER.read_text()
    rate = page.evaluate(
        """([source, token, seconds]) => {
          const marks = [];
          const fake = {
            postMessage(message) {
              if (typeof message.tried !== "number" || "nonce" in message) return;
              marks.push([performance.now(), message.tried]);
              if (marks[marks.length - 1][0] - marks[0][0] > seconds * 1000) {
                throw new Error("enough");  // ends the solver's loop: the bundle catches it
              }
            },
          };
          new Function("self", source)(fake);
          fake.onmessage({ data: { token, digestHex: "ab".repeat(32), difficulty: 30 } });
          // The first second is warm-up (the JIT), as in the worker's measurement.
          const start = marks.find((mark) => mark[0] - marks[0][0] >= 1000) ?? marks[0];
          const end = marks[marks.length - 1];
          return (end[1] - start[1]) / ((end[0] - start[0]) / 1000);
        }""",
        [source, hard_token(), seconds + 1],
    )
    context.close()
    return float(rate)


def ceiling_bits(rate: float) -> float:
    """log2(PHONE_SECONDS x rate): expected work 2^bits in about PHONE_SECONDS."""
    return math.log2(PHONE_SECONDS * rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        print("Debian's chromium is not installed: run scripts/ensure-chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        shutil.copy(WORKER, folder / WORKER.name)
        (folder / "index.html").write_text(PAGE)
        server, base = serve(folder)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox"]
                )
                try:
                    version = browser.version
                    worker_full = measure_worker(browser, base, args.seconds, 1)
                    worker_slow = measure_worker(browser, base, args.seconds, THROTTLE)
                    full = measure_in_page(browser, base, args.seconds, 1)
                    slow = measure_in_page(browser, base, args.seconds, THROTTLE)
                finally:
                    browser.close()
        finally:
            server.shutdown()
    print(f"chromium {version}, {WORKER.relative_to(REPO)} ({WORKER.stat().st_size} bytes)")
    print(f"in its Web Worker, unthrottled:            {worker_full:10,.0f} hashes/s")
    print(
        f"in its Web Worker, page throttled {THROTTLE}x:      {worker_slow:10,.0f} hashes/s  "
        f"({worker_full / worker_slow:.2f} times slower)"
    )
    print(f"on the page's thread, unthrottled:         {full:10,.0f} hashes/s")
    print(
        f"on the page's thread, {THROTTLE}x CPU throttling: {slow:10,.0f} hashes/s  "
        f"({full / slow:.2f} times slower)"
    )
    print("expected solving time (2^bits hashes), worker unthrottled / page thread throttled:")
    for bits in (16, 18, 20, 22, 24):
        print(
            f"  {bits} bits (2^{bits} = {2**bits:>10,} hashes expected): "
            f"{2**bits / worker_full:6.2f} s / {2**bits / slow:6.2f} s"
        )
    print(
        f"ceiling for ~{PHONE_SECONDS:.0f} s on the throttled figure: "
        f"log2({PHONE_SECONDS:.0f} x {slow:,.0f}) = {ceiling_bits(slow):.2f} bits"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
