"""Receipt-code derivation time: Python (native Argon2id) and Node (WebAssembly, pure JS).

Not a test: it prints figures. The baseline, measured in the same run, is
argon2-cffi's native C Argon2id with the same parameters (what the
no-JavaScript intake and the CLI run); the JavaScript figures come from
bench/receipt_derive.mjs in Node, with hash-wasm's WebAssembly Argon2id,
which the requester's browser runs, and @noble/hashes' pure-JavaScript
Argon2id, its fallback where WebAssembly is turned off. A phone cannot be measured here: the
last lines scale the Node figure by the slow-down assumed for a low-end
phone (docs/replies-v1.md section 1.7); bench/receipt_browser.py measures
Chromium with 4x CPU throttling.

    .venv/bin/python bench/receipt_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from haven.replies import ARGON2, ReceiptCode, derive
from haven.replies.derive import stretch

NODE_BENCH = Path(__file__).with_name("receipt_derive.mjs")
# Assumed: a low-end Android phone (Cortex-A53 class) runs WebAssembly
# Argon2 6 to 10 times slower than one core of this machine.
PHONE_SLOWDOWN = (6, 10)
BUDGET_SECONDS = 3.0


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    entropy = bytes([0x5A]) * 11

    native = median_seconds(lambda: stretch(entropy), rounds)
    python_derive = median_seconds(lambda: derive(ReceiptCode(entropy, "ru")), rounds)
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the JavaScript figures"
    # A fixed argument list: Node and this repository's own script, no shell.
    out = subprocess.run(  # noqa: S603
        [node, str(NODE_BENCH), str(rounds)], capture_output=True, text=True, check=True
    ).stdout
    js = json.loads(out)

    print(
        f"Argon2id m={ARGON2.memory_kib} KiB t={ARGON2.time_cost} p={ARGON2.parallelism}, "
        f"median of {rounds} rounds (Node {js['node']})"
    )
    rows = [
        ("Python argon2-cffi, Argon2id (baseline)", native),
        ("Python whole derivation", python_derive),
        ("Node hash-wasm, Argon2id", js["wasm"]),
        ("Node first derivation (compiles WebAssembly)", js["cold"]),
        ("Node whole derivation (receipt.js)", js["derive"]),
        ("Node @noble/hashes pure JS, Argon2id", js["pureJs"]),
        ("Node whole derivation, pure JS fallback", js["pureJsDerive"]),
    ]
    for label, seconds in rows:
        print(f"  {label:<44} {seconds * 1000:8.1f} ms   {seconds / native:5.2f}x baseline")
    # The page's fallback where WebAssembly is turned off: how much longer
    # its progress bar must expect (EXPECTED_MS in web/src/receipt-worker.js).
    print(
        f"  pure JS / WebAssembly: Argon2id {js['pureJs'] / js['wasm']:4.2f}x, "
        f"whole derivation {js['pureJsDerive'] / js['derive']:4.2f}x"
    )
    for factor in PHONE_SLOWDOWN:
        phone = js["cold"] * factor
        verdict = "within" if phone <= BUDGET_SECONDS else "OVER"
        print(
            f"  low-end phone if {factor}x slower than Node here: {phone:5.2f} s "
            f"({verdict} the {BUDGET_SECONDS:.0f} s budget)"
        )


if __name__ == "__main__":
    main()
