"""The record of consumed assignments: the contract every implementation keeps.

Written against the `ConsumedAssignments` interface only: the in-process
record and the deployment's store (on PostgreSQL and on SQLite) pass the
same tests. A new implementation joins IMPLEMENTATIONS.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

import pytest

from haven.store import (
    Store,
    StoreConsumedAssignments,
    StoreSettings,
    StoreUnavailable,
    migrate,
)
from tests.conftest import store_url
from worker.consumed import ConsumedAssignments, MemoryConsumedAssignments
from worker.main import ROUTER_STORE_POOL
from worker.settings import DEFAULT_CONSUMED_RETENTION


def on_store(
    request: pytest.FixtureRequest, backend: str, *, pool_size: int = 0
) -> ConsumedAssignments:
    """The record every router of a deployment shares, on a migrated store."""
    store = Store(StoreSettings(url=store_url(request, backend), pool_size=pool_size))
    request.addfinalizer(store.close)
    migrate(store)
    return StoreConsumedAssignments(store, retention=DEFAULT_CONSUMED_RETENTION, clock=time.time)


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest], ConsumedAssignments]] = {
    "memory": lambda _request: MemoryConsumedAssignments(10_000),
    "store-postgresql": lambda request: on_store(request, "postgresql"),
    # As worker.main runs it: a few pooled connections.
    "store-postgresql-pooled": lambda request: on_store(
        request, "postgresql", pool_size=ROUTER_STORE_POOL
    ),
    "store-sqlite": lambda request: on_store(request, "sqlite"),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def consumed(request: pytest.FixtureRequest) -> ConsumedAssignments:
    return IMPLEMENTATIONS[request.param](request)


def test_a_nonce_is_consumed_once(consumed: ConsumedAssignments) -> None:
    nonce, other = secrets.token_bytes(16), secrets.token_bytes(16)
    assert consumed.consume(nonce) == "new"
    assert consumed.consume(nonce) == "unsettled"
    assert consumed.consume(nonce) == "unsettled"
    assert consumed.consume(other) == "new"


def test_a_consumed_nonce_is_unsettled_until_settled_and_settled_ever_after(
    consumed: ConsumedAssignments,
) -> None:
    nonce, other = secrets.token_bytes(16), secrets.token_bytes(16)
    assert consumed.consume(nonce) == "new"
    assert consumed.consume(nonce) == "unsettled"
    consumed.settle(nonce)
    assert consumed.consume(nonce) == "settled"
    assert consumed.consume(nonce) == "settled"
    assert consumed.consume(other) == "new"  # settling one settles no other
    assert consumed.consume(other) == "unsettled"


def test_racing_consumers_see_exactly_one_first_use(consumed: ConsumedAssignments) -> None:
    nonces = [secrets.token_bytes(16) for _ in range(200)]
    wins: list[bytes] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        for nonce in nonces:
            if consumed.consume(nonce) == "new":
                with lock:
                    wins.append(nonce)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(wins) == sorted(nonces)


def test_the_memory_record_is_bounded_and_forgets_the_oldest_first() -> None:
    record = MemoryConsumedAssignments(3)
    first, *rest = [bytes([i]) * 16 for i in range(4)]
    for nonce in (first, *rest):
        assert record.consume(nonce) == "new"
    assert len(record) == 3
    assert record.consume(rest[-1]) == "unsettled"
    # Beyond its capacity the per-router record no longer knows the oldest.
    assert record.consume(first) == "new"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_settle_the_store_missed_is_still_refused_here_and_written_with_the_next(
    request: pytest.FixtureRequest, backend: str
) -> None:
    """The store is away when a router settles: the request was handed on all the same.

    Left unsettled, a partner's replay of that decline, handed back during
    the outage and redelivered, would be honoured a second time. This
    router remembers it settled at once; the store learns it with the next
    settle that reaches it, so another router refuses it too.
    """
    url = store_url(request, backend)
    store = Store(StoreSettings(url=url))
    request.addfinalizer(store.close)
    migrate(store)
    here = StoreConsumedAssignments(store, retention=DEFAULT_CONSUMED_RETENTION, clock=time.time)
    elsewhere = StoreConsumedAssignments(
        store, retention=DEFAULT_CONSUMED_RETENTION, clock=time.time
    )
    missed, later = secrets.token_bytes(16), secrets.token_bytes(16)
    assert here.consume(missed) == "new"
    assert here.consume(later) == "new"
    # The store away for this router's statements: its table is not there.
    with store.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE consumed_assignments RENAME TO away")
    try:
        with pytest.raises(StoreUnavailable):
            here.settle(missed)
        assert here.consume(missed) == "settled"
    finally:
        with store.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE away RENAME TO consumed_assignments")
    assert elsewhere.consume(missed) == "unsettled"
    here.settle(later)
    assert elsewhere.consume(missed) == "settled"
    assert elsewhere.consume(later) == "settled"
