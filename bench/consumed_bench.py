"""What a router's decision on a decline or return costs in the shared record of used assignments.

Not a test: it prints figures. Each consume is one insert in the
deployment's store (a new connection on PostgreSQL, NullPool); the
baseline, measured in the same run, is the per-router memory record it
replaces. A router consumes once per decline or dead-lettered return,
never for a request fresh from the intake.

    .venv/bin/python bench/consumed_bench.py [--rounds N] [--postgres URL]

Without --postgres only SQLite is measured (a file in a temporary folder).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from haven.store import Store, StoreConsumedAssignments, StoreSettings, migrate
from worker.consumed import ConsumedAssignments, MemoryConsumedAssignments


def median_seconds(record: ConsumedAssignments, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        nonce = secrets.token_bytes(16)
        start = time.perf_counter()
        record.consume(nonce)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def on_store(url: str) -> tuple[Store, StoreConsumedAssignments]:
    store = Store(StoreSettings(url=url))
    migrate(store)
    return store, StoreConsumedAssignments(store, retention=30 * 86_400, clock=time.time)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure as well (a test database)")
    args = parser.parse_args()
    baseline = median_seconds(MemoryConsumedAssignments(1_000_000), args.rounds)
    print(f"memory (baseline)  {baseline * 1e6:9.1f} µs per consume")
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'store.sqlite3'}"}
        if args.postgres:
            urls["postgresql"] = args.postgres
        for name, url in urls.items():
            store, record = on_store(url)
            try:
                seconds = median_seconds(record, args.rounds)
            finally:
                store.close()
            print(
                f"{name:<18} {seconds * 1e6:9.1f} µs per consume, "
                f"{seconds / baseline:8.0f}x the baseline, {1 / seconds:7.0f} consumes/s"
            )


if __name__ == "__main__":
    main()
