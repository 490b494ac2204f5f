"""A page's first receipt-code derivation in Chromium, at full speed and 4 times throttled.

Not a test: it prints figures. It serves intake/static/haven-receipt-worker.js
(the very bundle the intake serves) from a local page and, in Debian's
chromium (Playwright, as tests/web does), times what the form does once a
requester sends: a fresh worker makes a code and derives its keys
({op: "generate"}: compiling the WebAssembly, Argon2id with the parameters
of docs/replies-v1.md section 1.7, HKDF, the X-Wing reply key). Every round
is a first derivation: a new browser context, a new worker, nothing cached.
The time runs from loading the bundle to the worker's answer.

Low-end phones are emulated, as in bench/pow_browser.py, with DevTools CPU
throttling (Emulation.setCPUThrottlingRate 4). Chromium applies it to the
page's thread only (it refuses it on a worker target), so the bundle is
also run on the page's thread, with a stand-in `self`: that unthrottled and
throttled pair is the measured 4x figure, and the worker's pair shows
whether the page's throttling reaches the worker at all.

    .venv/bin/python bench/receipt_browser.py [--rounds 7] [--no-wasm]

--no-wasm runs Chromium with `--js-flags=--jitless`: no WebAssembly and no
JIT, as iOS Lockdown Mode and Tor Browser's "Safer" level leave a browser,
so the worker takes its pure-JavaScript fallback. It also prints the time
the worker told the page to expect (its measured estimate) beside the real one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

# The page server of the proof-of-work bench, beside this script.
from pow_browser import serve

REPO = Path(__file__).resolve().parent.parent
WORKER = REPO / "intake" / "static" / "haven-receipt-worker.js"
THROTTLE = 4
BUDGET_SECONDS = 3.0

PAGE = """<!doctype html><meta charset="utf-8"><title>receipt bench</title>
<script>
// Milliseconds from starting a worker to its keys, as the form's send sees them.
window.expectedMs = [];
window.deriveInWorker = (language) => new Promise((resolve, reject) => {
  const start = performance.now();
  const worker = new Worker("haven-receipt-worker.js");
  worker.onmessage = (event) => {
    if (event.data.started) {
      window.expectedMs.push(event.data.expectedMs);
      return;
    }
    const elapsed = performance.now() - start;
    worker.terminate();
    if (event.data.mailboxId) resolve(elapsed);
    else reject(new Error(JSON.stringify(event.data.error)));
  };
  worker.postMessage({ op: "generate", language });
});
</script>"""

# The same bundle evaluated on the page's thread, where the throttling
# certainly applies: its `self` is a stand-in whose postMessage takes the
# worker's answer. Timed from evaluating the source, as a worker's load.
IN_PAGE = """async ([source, language]) => {
  const start = performance.now();
  const answer = await new Promise((resolve) => {
    const fake = {
      postMessage(message) {
        if (!message.started) resolve(message);
      },
    };
    new Function("self", source)(fake);
    fake.onmessage({ data: { op: "generate", language } });
  });
  const elapsed = performance.now() - start;
  if (!answer.mailboxId) throw new Error(JSON.stringify(answer.error));
  return elapsed;
}"""


def first_derivation(
    browser: Browser, base: str, throttle: int, *, in_page: bool, expected: list[float]
) -> float:
    """Seconds of one first derivation, in a context of its own (no compiled module kept).

    The worker's expected time, as it told the page, is appended to `expected`.
    """
    context = browser.new_context()
    try:
        page = context.new_page()
        if throttle > 1:
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        page.goto(f"{base}/index.html")
        if in_page:
            elapsed = page.evaluate(IN_PAGE, [WORKER.read_text(), "ru"])
        else:
            elapsed = page.evaluate("(language) => window.deriveInWorker(language)", "ru")
            expected.extend(float(ms) / 1000 for ms in page.evaluate("window.expectedMs"))
        return float(elapsed) / 1000
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-wasm", action="store_true", help="no WebAssembly and no JIT")
    arguments = parser.parse_args()
    rounds = arguments.rounds
    flags = ["--js-flags=--jitless"] if arguments.no_wasm else []
    chromium = shutil.which("chromium")
    if chromium is None:
        print("Debian's chromium is not installed: run scripts/ensure-chromium", file=sys.stderr)
        return 1
    cases = [
        ("in its Web Worker, unthrottled", 1, False),
        (f"in its Web Worker, page throttled {THROTTLE}x", THROTTLE, False),
        ("on the page's thread, unthrottled", 1, True),
        (f"on the page's thread, {THROTTLE}x CPU throttling", THROTTLE, True),
    ]
    samples: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    expected: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        shutil.copy(WORKER, folder / WORKER.name)
        (folder / "index.html").write_text(PAGE)
        server, base = serve(folder)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", *flags]
                )
                try:
                    version = browser.version
                    # Interleaved rounds: a burst of load on this shared machine
                    # slows every case alike rather than one of them.
                    for _ in range(rounds):
                        for label, throttle, in_page in cases:
                            samples[label].append(
                                first_derivation(
                                    browser,
                                    base,
                                    throttle,
                                    in_page=in_page,
                                    expected=expected[label],
                                )
                            )
                finally:
                    browser.close()
        finally:
            server.shutdown()
            server.server_close()
    medians = {label: statistics.median(values) for label, values in samples.items()}
    print(
        f"chromium {version}{' --js-flags=--jitless' if flags else ''}, "
        f"{WORKER.relative_to(REPO)} ({WORKER.stat().st_size} bytes)"
    )
    print(f"a first derivation (generate + derive, language ru), median of {rounds} rounds:")
    for label, values in samples.items():
        print(
            f"  {label:<42} {medians[label] * 1000:7.0f} ms   "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
        )
        if expected[label]:
            print(
                f"    the page was told to expect {statistics.median(expected[label]) * 1000:7.0f} ms"
            )
    worker_full, worker_slow, full, slow = (medians[label] for label, _, _ in cases)
    print(f"  worker: page-throttled / unthrottled = {worker_slow / worker_full:.2f}")
    print(f"  page's thread: throttled / unthrottled = {slow / full:.2f}")
    verdict = "within" if slow <= BUDGET_SECONDS else "OVER"
    print(
        f"throttled first derivation: {slow:.2f} s ({verdict} the {BUDGET_SECONDS:.0f} s budget "
        "of docs/replies-v1.md section 1.7)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
