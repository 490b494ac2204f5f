"""What a router's decision on a decline or return costs in the shared record of used assignments.

Not a test: it prints figures: an honest decline (consume, then settle)
and a partner's replay of a settled one (consume again), each on the
store as a router runs it (ROUTER_STORE_POOL pooled connections, settled
nonces cached in memory) and "plain" (a connection per use, no cache: how
the store ran before, and how the intake runs it). The
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
from haven.store.assignments import SETTLED_CACHE
from worker.consumed import ConsumedAssignments, MemoryConsumedAssignments
from worker.main import ROUTER_STORE_POOL


def median_seconds(record: ConsumedAssignments, rounds: int) -> float:
    """An honest decline: a nonce never seen, consumed, then settled (as the router does)."""
    samples = []
    for _ in range(rounds):
        nonce = secrets.token_bytes(16)
        start = time.perf_counter()
        record.consume(nonce)
        record.settle(nonce)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def replay_median_seconds(record: ConsumedAssignments, rounds: int) -> float:
    """A partner's replay: the same settled nonce again (before the per-partner bound)."""
    nonce = secrets.token_bytes(16)
    record.consume(nonce)
    record.settle(nonce)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        record.consume(nonce)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def on_store(url: str, *, router: bool) -> tuple[Store, StoreConsumedAssignments]:
    """As a router runs it (a few pooled connections, settled nonces cached), or without either."""
    store = Store(StoreSettings(url=url, pool_size=ROUTER_STORE_POOL if router else 0))
    migrate(store)
    record = StoreConsumedAssignments(
        store,
        retention=30 * 86_400,
        clock=time.time,
        settled_cache=SETTLED_CACHE if router else 0,
    )
    return store, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure as well (a test database)")
    args = parser.parse_args()
    memory = MemoryConsumedAssignments(1_000_000)
    baseline = median_seconds(memory, args.rounds)
    replay_baseline = replay_median_seconds(memory, args.rounds)
    print(f"memory (baseline)  {baseline * 1e6:9.1f} µs per decline (consume + settle)")
    print(f"memory (baseline)  {replay_baseline * 1e6:9.1f} µs per replay")
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'store.sqlite3'}"}
        if args.postgres:
            urls["postgresql"] = args.postgres
        for name, url in urls.items():
            figures = {}
            for router in (False, True):
                store, record = on_store(url, router=router)
                try:
                    figures[router] = (
                        median_seconds(record, args.rounds),
                        replay_median_seconds(record, args.rounds),
                    )
                finally:
                    store.close()
            for router, (seconds, replay) in figures.items():
                label = f"{name} {'router' if router else 'plain'}"
                print(
                    f"{label:<18} {seconds * 1e6:9.1f} µs per decline, "
                    f"{seconds / baseline:8.0f}x the baseline, {1 / seconds:7.0f} declines/s"
                )
                print(
                    f"{label:<18} {replay * 1e6:9.1f} µs per replay, "
                    f"{replay / replay_baseline:8.0f}x the baseline, {1 / replay:7.0f} replays/s"
                )
            (plain, plain_replay), (routed, routed_replay) = figures[False], figures[True]
            print(
                f"{name}: the router's pool and cache make a decline {plain / routed:.1f}x "
                f"and a replay {plain_replay / routed_replay:.0f}x faster than plain"
            )


if __name__ == "__main__":
    main()
