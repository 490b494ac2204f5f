"""Seal and open times of envelope v1 against plain single-recipient HPKE.

Not a test: it prints figures. Absolute times on a shared machine are
noise, so every figure is also given as a ratio to the baseline measured in
the same run: `cryptography`'s own single-shot HPKE (X-Wing, HKDF-SHA256,
AES-256-GCM) of the same padded plaintext to one key.

    .venv/bin/python bench/envelope_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from haven.envelope import Labels, PrivateKey, open_envelope, seal
from haven.envelope.padding import pad
from haven.envelope.sealing import SUITE

CONTENT = ("Мобилизован в 2022, сейчас за границей, нужен юрист. " * 12).encode()
LABELS = Labels("desertion", "ru-central", "ru", "urgent")


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    keys = [PrivateKey.generate() for _ in range(20)]
    plaintext = pad(CONTENT)
    baseline_ct = SUITE.encrypt(plaintext, keys[0].public_key.hpke_key)
    base_seal = median_seconds(
        lambda: SUITE.encrypt(plaintext, keys[0].public_key.hpke_key), rounds
    )
    base_open = median_seconds(lambda: SUITE.decrypt(baseline_ct, keys[0].hpke_key), rounds)

    print(f"content {len(CONTENT)} bytes, padded to {len(plaintext)}; median of {rounds} rounds")
    print(
        f"{'recipients':>10} {'seal ms':>9} {'× base':>7} {'open ms':>9} {'× base':>7} {'bytes':>7}"
    )
    print(
        f"{'baseline':>10} {base_seal * 1e3:9.3f} {1.0:7.2f} {base_open * 1e3:9.3f} {1.0:7.2f} {len(baseline_ct):7d}"
    )
    for count in (1, 5, 20):
        recipients = [k.public_key for k in keys[:count]]
        envelope = seal(CONTENT, LABELS, recipients)
        # The last recipient in kid order: the opener scans every stanza before it.
        last = max(keys[:count], key=lambda k: k.kid)
        seal_s = median_seconds(
            lambda r=recipients: seal(CONTENT, LABELS, r), max(rounds // count, 20)
        )
        open_s = median_seconds(lambda e=envelope, k=last: open_envelope(e, [k]), rounds)
        print(
            f"{count:>10} {seal_s * 1e3:9.3f} {seal_s / base_seal:7.2f} "
            f"{open_s * 1e3:9.3f} {open_s / base_open:7.2f} {len(envelope):7d}"
        )


if __name__ == "__main__":
    main()
