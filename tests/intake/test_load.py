"""The deployment's acceptance rate: shared through the real store, forgotten after its window."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select, update

from haven.store import Acceptances, Store, StoreSettings, migrate
from haven.store.schema import acceptances
from intake.load import SYNC_SECONDS, WINDOW_SECONDS, AcceptanceRate
from tests.intake.conftest import FakeClock


@pytest.fixture
def store(any_store_url: str) -> Iterator[Store]:
    store = Store(StoreSettings(url=any_store_url))
    migrate(store)
    with store.begin() as connection:
        connection.execute(delete(acceptances))  # other tests' rows of this run
    yield store
    store.close()


def test_two_instances_see_one_rate(store: Store) -> None:
    clock = FakeClock()
    first = AcceptanceRate(Acceptances(store), clock=clock)
    second = AcceptanceRate(Acceptances(store), clock=clock)
    for _ in range(5):
        first.accepted()
    assert first.per_minute() == 5  # its first sync: the store has its 5
    for _ in range(3):
        second.accepted()
    assert second.per_minute() == 8  # its first sync: 5 + 3
    # The first does not ask the store again before a sync period has passed ...
    assert first.per_minute() == 5
    # ... and then sees the deployment's.
    clock.advance(SYNC_SECONDS)
    assert first.per_minute() == 8
    # Between syncs an instance adds what it accepted since, without asking the store.
    second.accepted()
    assert second.per_minute() == 9


def age_rows(store: Store, seconds: int) -> None:
    """As if `seconds` had passed on the database's clock, the one the window is kept by."""
    with store.begin() as connection:
        connection.execute(update(acceptances).values(at=acceptances.c.at - seconds))


def test_the_window_forgets_and_its_rows_go(store: Store) -> None:
    clock = FakeClock()
    rate = AcceptanceRate(Acceptances(store), clock=clock)
    for _ in range(4):
        rate.accepted()
    clock.advance(SYNC_SECONDS)
    assert rate.per_minute() == 4
    age_rows(store, WINDOW_SECONDS + 1)
    clock.advance(WINDOW_SECONDS + 1)
    assert rate.per_minute() == 0
    with store.begin() as connection:
        # Nothing older than the window stays in the database.
        assert connection.execute(select(func.count()).select_from(acceptances)).scalar_one() == 0


@pytest.mark.parametrize("skew", [-600, 600])
def test_an_instance_with_a_skewed_clock_still_counts(store: Store, skew: int) -> None:
    """The window is kept by the database's clock: an instance ten minutes off is neither
    deleted by the others at once (behind) nor kept in everyone's window (ahead)."""
    right, off = FakeClock(), FakeClock()
    off.advance(skew)
    first = AcceptanceRate(Acceptances(store), clock=right)
    skewed = AcceptanceRate(Acceptances(store), clock=off)
    for _ in range(5):
        skewed.accepted()
    assert skewed.per_minute() == 5
    first.accepted()
    # The first instance's sync (insert, delete, sum) keeps the skewed one's rows.
    assert first.per_minute() == 6
    off.advance(SYNC_SECONDS)
    assert skewed.per_minute() == 6
    # And its rows leave the window a minute later on the database's clock, as everyone's do.
    age_rows(store, WINDOW_SECONDS + 1)
    right.advance(WINDOW_SECONDS + 1)
    assert first.per_minute() == 0


def test_without_the_store_an_instance_counts_its_own(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # A store with no tables (not migrated): every sync fails.
    away = Store(StoreSettings(url=f"sqlite:///{tmp_path_factory.mktemp('away') / 'none.db'}"))
    clock = FakeClock()
    rate = AcceptanceRate(Acceptances(away), clock=clock)
    for _ in range(3):
        rate.accepted()
    assert rate.per_minute() == 3
    clock.advance(SYNC_SECONDS)
    assert rate.per_minute() == 3
    # One warning per outage, not one per sync.
    assert len([r for r in caplog.records if "store is away" in r.getMessage()]) == 1
    away.close()


def test_a_clock_stepped_back_still_shares_the_count(store: Store) -> None:
    """NTP or a restored VM steps the clock back: the count must not stall for as long as the step."""
    clock = FakeClock()
    first = AcceptanceRate(Acceptances(store), clock=clock)
    for _ in range(10):
        first.accepted()
    assert first.per_minute() == 10
    clock.advance(-3600)
    for _ in range(5):
        first.accepted()
    clock.advance(SYNC_SECONDS)
    first.per_minute()
    with store.begin() as connection:
        # Everything this instance accepted is in the store, where the others read it.
        total = select(func.sum(acceptances.c.accepted))
        assert connection.execute(total).scalar_one() == 15


def test_a_clock_stepped_back_forgets_its_own_count_after_the_window(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    away = Store(StoreSettings(url=f"sqlite:///{tmp_path_factory.mktemp('away') / 'none.db'}"))
    clock = FakeClock()
    rate = AcceptanceRate(Acceptances(away), clock=clock)
    for _ in range(10):
        rate.accepted()
    assert rate.per_minute() == 10
    clock.advance(-3600)
    assert rate.per_minute() == 10  # still the last minute's, as far as anyone knows
    clock.advance(WINDOW_SECONDS + 1)
    # Not an hour more at the pre-step count (the ceiling's, after a flood).
    assert rate.per_minute() == 0
    away.close()


class CountedAcceptances(Acceptances):
    """The real store's count, and how many syncs reached it."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.syncs = 0

    def add_and_sum(self, *, accepted: int, window: int) -> int:
        self.syncs += 1
        return super().add_and_sum(accepted=accepted, window=window)


class LateLock:
    """A sync lock the second thread reaches only once the first thread's sync is over.

    The race it stages: a thread sees a sync is due, and before it takes the
    lock another thread syncs and lets go of it.
    """

    def __init__(self, first_done: threading.Event) -> None:
        self._lock = threading.Lock()
        self._first_done = first_done
        self._first = threading.get_ident()

    def acquire(self, blocking: bool = True) -> bool:
        if threading.get_ident() != self._first:
            assert self._first_done.wait(10)
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()
        if threading.get_ident() == self._first:
            self._first_done.set()


def test_two_threads_do_not_sync_back_to_back(store: Store) -> None:
    clock = FakeClock()
    counted = CountedAcceptances(store)
    rate = AcceptanceRate(counted, clock=clock)
    first_done = threading.Event()
    # Stages the race on the rate's own sync lock.
    rate._syncing = LateLock(first_done)  # type: ignore[assignment]
    results: list[int] = []
    second = threading.Thread(target=lambda: results.append(rate.per_minute()))
    second.start()  # sees the sync due, waits at the lock
    rate.accepted()
    results.append(rate.per_minute())  # syncs, lets go of the lock
    second.join(10)
    assert results == [1, 1]
    assert counted.syncs == 1
