"""The router's store at start: migrated when it can be, never a crash when it cannot."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from haven.store import (
    Store,
    StoreConsumedAssignments,
    StoreSettings,
    StoreUnavailable,
    migrate,
)
from worker.store_record import MigratingRecord, migrate_or_warn


def test_a_router_whose_store_a_newer_release_migrated_warns_and_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A rolling upgrade where the intake, already on the next release,
    # migrated the store first: the router starts, says so, and routes.
    store = Store(StoreSettings(url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    try:
        migrate(store)
        with store.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        with caplog.at_level(logging.WARNING, logger="worker.store_record"):
            assert migrate_or_warn(store) is True  # nothing to try again
    finally:
        store.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "worker.store_record"]
    assert "revision this release does not know" in line
    assert "Traceback" not in caplog.text


def test_a_router_whose_store_is_away_warns_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(StoreSettings(url=f"sqlite:///{tmp_path / 'missing' / 'store.sqlite3'}"))
    try:
        with caplog.at_level(logging.WARNING, logger="worker.store_record"):
            assert migrate_or_warn(store) is False
    finally:
        store.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "worker.store_record"]
    assert line == "store not migrated now (OperationalError)"


def test_a_router_whose_store_was_away_at_start_migrates_it_when_it_is_back(
    tmp_path: Path,
) -> None:
    # The store's folder (its volume) is not there at start, then comes:
    # the next decline after a minute migrates the store and is decided.
    folder = tmp_path / "volume"
    store = Store(StoreSettings(url=f"sqlite:///{folder / 'store.sqlite3'}"))
    now = [1000.0]
    try:
        record = MigratingRecord(
            store,
            StoreConsumedAssignments(store, retention=3600, clock=time.time),
            migrated=migrate_or_warn(store),
            clock=lambda: now[0],
        )
        with pytest.raises(StoreUnavailable):
            record.consume(secrets.token_bytes(16))
        folder.mkdir()
        now[0] += 30  # back, but within the minute since the last try: not yet
        with pytest.raises(StoreUnavailable):
            record.consume(secrets.token_bytes(16))
        now[0] += 31
        nonce = secrets.token_bytes(16)
        assert record.consume(nonce) == "new"
        record.settle(nonce)
        assert record.consume(nonce) == "settled"
    finally:
        store.close()
