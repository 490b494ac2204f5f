"""The store on the real PostgreSQL and on SQLite: migrations, single use across instances, expiry."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, inspect, select, text

from haven.cli.main import main
from haven.store import (
    Store,
    StoreConsumedAssignments,
    StoreSchemaUnknown,
    StoreSettings,
    StoreSettingsError,
    StoreUnavailable,
    UsedTickets,
    migrate,
    schema_differences,
)
from haven.store.assignments import nonce_hash
from haven.store.migrate import downgrade
from haven.store.schema import consumed_assignments, used_tickets
from haven.store.tickets import ticket_hash
from tests.conftest import postgres_database


@pytest.fixture
def fresh_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database for one test: its own on PostgreSQL, a new file on SQLite."""
    if request.param == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'fresh.sqlite3'}"


@pytest.fixture
def store(any_store_url: str) -> Iterator[Store]:
    store = Store(StoreSettings(url=any_store_url))
    migrate(store)
    yield store
    store.close()


@pytest.mark.parametrize("fresh_url", ["postgresql", "sqlite"], indirect=True)
def test_the_migrations_give_the_schema_of_the_models(fresh_url: str) -> None:
    store = Store(StoreSettings(url=fresh_url))
    try:
        assert not store.ready()  # reachable, but not migrated: not ready
        migrate(store)
        assert schema_differences(store) == []
        assert store.ready()
        migrate(store)  # every instance runs it at start: twice changes nothing
        assert schema_differences(store) == []
        downgrade(store, "0001")  # a router release rolled back: the intake's table stays
        tables = inspect(store.engine()).get_table_names()
        assert "used_tickets" in tables and "consumed_assignments" not in tables
        downgrade(store, "base")
        assert "used_tickets" not in inspect(store.engine()).get_table_names()
        migrate(store)
        assert schema_differences(store) == []
    finally:
        store.close()


def _migrate_when_all_are_ready(url: str, start: Any, outcomes: Any) -> None:
    """One instance starting: migrate at the same moment as the others; what it got."""
    store = Store(StoreSettings(url=url))
    start.wait()
    try:
        migrate(store)
        outcomes.put("migrated")
    except StoreUnavailable as exc:
        outcomes.put(f"{exc}: {exc.__cause__}")
    finally:
        store.close()


@pytest.mark.parametrize("fresh_url", ["postgresql", "sqlite"], indirect=True)
def test_instances_migrating_at_once_all_succeed(fresh_url: str) -> None:
    # The intake and the router migrate at start, often at the same moment
    # (`make run` starts both on one SQLite file; compose, on one PostgreSQL).
    # Processes, not threads: Alembic's context is one per process.
    store = Store(StoreSettings(url=fresh_url))
    try:
        # The file exists (in WAL mode) before the race: what is raced is the migration.
        assert not store.ready()
        spawn = multiprocessing.get_context("spawn")
        start, outcomes = spawn.Barrier(3), spawn.Queue()
        instances = [
            spawn.Process(target=_migrate_when_all_are_ready, args=(fresh_url, start, outcomes))
            for _ in range(3)
        ]
        for instance in instances:
            instance.start()
        got = [outcomes.get(timeout=60) for _ in instances]
        for instance in instances:
            instance.join(timeout=60)
        assert got == ["migrated"] * 3
        assert schema_differences(store) == []
    finally:
        store.close()


def test_a_ticket_is_used_once_across_two_instances(any_store_url: str, store: Store) -> None:
    other = Store(StoreSettings(url=any_store_url))  # a second intake instance's own handle
    try:
        first = UsedTickets(store, clock=time.time)
        second = UsedTickets(other, clock=time.time)
        ticket_id = b"\x01" * 16
        expires = int(time.time()) + 3600
        assert not second.seen(ticket_id)
        assert first.claim(ticket_id, expires_at=expires) == "fresh"
        assert second.seen(ticket_id)
        assert second.claim(ticket_id, expires_at=expires) == "reused"
        assert first.claim(ticket_id, expires_at=expires) == "reused"
    finally:
        other.close()


def test_of_many_claims_at_once_exactly_one_passes(any_store_url: str, store: Store) -> None:
    stores = [Store(StoreSettings(url=any_store_url)) for _ in range(4)]
    ticket_id = b"\x02" * 16
    answers: list[str] = []
    start = threading.Barrier(len(stores))

    def claim(handle: Store) -> None:
        start.wait()
        answers.append(
            UsedTickets(handle, clock=time.time).claim(ticket_id, expires_at=int(time.time()) + 60)
        )

    threads = [threading.Thread(target=claim, args=(handle,)) for handle in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for handle in stores:
        handle.close()
    assert sorted(answers) == ["fresh", "reused", "reused", "reused"]


def test_only_a_hash_and_an_expiry_are_kept_and_expired_rows_go(store: Store) -> None:
    now = [time.time()]
    tickets = UsedTickets(store, clock=lambda: now[0])
    old, young = b"\x03" * 16, b"\x04" * 16
    tickets.claim(old, expires_at=int(now[0]) + 10)
    tickets.claim(young, expires_at=int(now[0]) + 1000)
    assert [column.name for column in used_tickets.columns] == ["ticket_hash", "expires_at"]
    with store.begin() as connection:
        kept = set(connection.execute(select(used_tickets.c.ticket_hash)).scalars())
    assert {ticket_hash(old), ticket_hash(young)} <= kept
    assert old not in kept  # the id itself is never stored
    now[0] += 11
    assert tickets.purge() >= 1
    assert not tickets.seen(old)
    assert tickets.seen(young)
    # A claim sweeps expired rows by itself, at most once a minute per process.
    now[0] += 1000
    tickets.claim(b"\x05" * 16, expires_at=int(now[0]) + 10)
    assert not tickets.seen(young)


def test_an_assignment_is_consumed_once_across_two_routers_and_a_restart(
    any_store_url: str, store: Store
) -> None:
    nonce = secrets.token_bytes(16)
    first = StoreConsumedAssignments(store, retention=3600, clock=time.time)
    other = Store(StoreSettings(url=any_store_url))  # a second router's own handle
    try:
        second = StoreConsumedAssignments(other, retention=3600, clock=time.time)
        assert first.consume(nonce) == "new"
        assert second.consume(nonce) == "unsettled"
    finally:
        other.close()
    store.close()  # the first router restarts: nothing of it is left in memory
    again = Store(StoreSettings(url=any_store_url))
    try:
        restarted = StoreConsumedAssignments(again, retention=3600, clock=time.time)
        assert restarted.consume(nonce) == "unsettled"
    finally:
        again.close()


def test_consumed_nonces_are_kept_as_hashes_until_the_retention_and_swept_in_batches(
    store: Store,
) -> None:
    now = [time.time() + 10_000_000]  # past any row another test left in this run's database
    record = StoreConsumedAssignments(
        store, retention=100, clock=lambda: now[0], purge_every=60, purge_batch=3
    )
    while record.purge():  # what other tests left in this run's database, all expired by now
        pass
    old = [secrets.token_bytes(16) for _ in range(5)]
    for nonce in old:
        assert record.consume(nonce) == "new"  # the first consume also sweeps (nothing left)
    assert [column.name for column in consumed_assignments.columns] == [
        "nonce_hash",
        "expires_at",
        "settled",
    ]
    hashes = [nonce_hash(nonce) for nonce in old]
    with store.begin() as connection:
        rows = connection.execute(
            select(consumed_assignments).where(consumed_assignments.c.nonce_hash.in_(hashes))
        ).all()
    # One row per nonce, keyed by its hash; the nonce a seal carries is in no column.
    assert sorted(row.nonce_hash for row in rows) == sorted(hashes)
    assert not any(nonce in bytes(row.nonce_hash) for row in rows for nonce in old)
    now[0] += 50
    young = secrets.token_bytes(16)
    assert record.consume(young) == "new"
    # Within the retention a replay is still refused, and nothing is swept.
    assert record.purge() == 0
    assert record.consume(old[0]) == "unsettled"
    now[0] += 51  # the old ones are past their retention, the young one is not
    # One sweep deletes a bounded batch, never the whole table at once.
    assert record.purge() == 3
    assert record.purge() == 2
    assert record.purge() == 0
    assert record.consume(young) == "unsettled"
    # A consume sweeps by itself, at most once a minute per router.
    now[0] += 100
    assert record.consume(secrets.token_bytes(16)) == "new"
    assert record.consume(young) == "new"  # gone with the sweep: remembered no longer


def test_a_sweep_that_fails_does_not_fail_the_consume(postgres_url: str) -> None:
    # Another router's sweep holds the expired rows (here: an open
    # transaction that locked one) past the statement timeout: this sweep
    # gives up, and the decline that triggered it is still decided.
    now = [time.time() + 20_000_000]  # past any row another test left in this database
    store = Store(StoreSettings(url=postgres_url, timeout=1))
    other = Store(StoreSettings(url=postgres_url))
    try:
        migrate(other)
        record = StoreConsumedAssignments(store, retention=100, clock=lambda: now[0])
        while record.purge():
            pass
        expired = secrets.token_bytes(16)
        assert record.consume(expired) == "new"
        now[0] += 101
        with other.begin() as holder:
            holder.execute(
                select(consumed_assignments.c.nonce_hash)
                .where(consumed_assignments.c.nonce_hash == nonce_hash(expired))
                .with_for_update()
            )
            assert record.consume(secrets.token_bytes(16)) == "new"
    finally:
        other.close()
        store.close()


def test_an_unreachable_store_is_an_outage_not_a_crash() -> None:
    store = Store(StoreSettings(url="postgresql://postgres@127.0.0.1:1/haven", timeout=1))
    try:
        assert not store.ready()
        with pytest.raises(StoreUnavailable):
            UsedTickets(store, clock=time.time).claim(b"\x06" * 16, expires_at=0)
        with pytest.raises(StoreUnavailable):
            StoreConsumedAssignments(store, retention=60, clock=time.time).consume(b"\x07" * 16)
        with pytest.raises(StoreUnavailable):
            migrate(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({}, "HAVEN_STORE_URL is not set"),
        ({"HAVEN_STORE_URL": "mysql://db/haven"}, "postgresql://"),
        ({"HAVEN_STORE_URL": "not a url"}, "postgresql://"),
        # A port that is not a number: SQLAlchemy says only "invalid literal for int()".
        ({"HAVEN_STORE_URL": "postgresql://h:port/d"}, "HAVEN_STORE_URL must be"),
        ({"HAVEN_STORE_URL": "sqlite://"}, "needs a file path"),
        ({"HAVEN_STORE_URL": "sqlite:///:memory:"}, "needs a file path"),
        (
            {"HAVEN_STORE_URL": "postgresql://h/d", "HAVEN_STORE_PASSWORD_FILE": "/nonexistent"},
            "HAVEN_STORE_PASSWORD_FILE: cannot read",
        ),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], words: str) -> None:
    with pytest.raises(StoreSettingsError, match=words):
        StoreSettings.from_env(environ)


def test_an_unusable_password_file_is_named_in_the_words_every_setting_uses(
    tmp_path: Path,
) -> None:
    large = tmp_path / "large"
    large.write_bytes(b"p" * 4097)
    for path, says in (
        (large, f"HAVEN_STORE_PASSWORD_FILE: {large} is larger than 4096 bytes"),
        (
            tmp_path / "absent",
            f"HAVEN_STORE_PASSWORD_FILE: cannot read {tmp_path / 'absent'}: "
            "No such file or directory",
        ),
    ):
        with pytest.raises(StoreSettingsError) as raised:
            StoreSettings.from_env(
                {"HAVEN_STORE_URL": "postgresql://h/d", "HAVEN_STORE_PASSWORD_FILE": str(path)}
            )
        assert str(raised.value) == says


def test_the_password_comes_from_a_file_and_stays_out_of_sight(
    tmp_path: pytest.TempPathFactory,
) -> None:
    secret = tmp_path / "pw"  # type: ignore[operator]
    secret.write_text("s3cret-Pw\n")
    settings = StoreSettings.from_env(
        {"HAVEN_STORE_URL": "postgresql://haven@db/haven", "HAVEN_STORE_PASSWORD_FILE": str(secret)}
    )
    assert settings.sqlalchemy_url().password == "s3cret-Pw"
    assert settings.sqlalchemy_url().drivername == "postgresql+psycopg"
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.sqlalchemy_url())


def test_haven_store_migrate(any_store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "migrate"], {"HAVEN_STORE_URL": any_store_url}) == 0
    assert capsys.readouterr().out == "store migrated\n"
    assert main(["store", "migrate"], {"HAVEN_STORE_URL": "sqlite://"}) == 1
    assert capsys.readouterr().err == (
        "haven: error: HAVEN_STORE_URL: sqlite:/// needs a file path\n"
    )
    unreachable = {"HAVEN_STORE_URL": "postgresql://postgres@127.0.0.1:1/haven"}
    assert main(["store", "migrate"], unreachable) == 1
    err = capsys.readouterr().err
    assert err.startswith("haven: error: the store is not reachable") and err.count("\n") == 1


def test_a_failed_statement_does_not_carry_its_parameters(any_store_url: str) -> None:
    # What a statement was given (a hash of a ticket or nonce) must not
    # reach a log through the error's text or its chained cause.
    canary = "canary-" + secrets.token_hex(8)
    store = Store(StoreSettings(url=any_store_url))
    try:
        with pytest.raises(StoreUnavailable) as caught, store.begin() as connection:
            connection.execute(text("SELECT :canary FROM no_such_table"), {"canary": canary})
    finally:
        store.close()
    assert canary not in str(caught.value)
    assert canary not in str(caught.value.__cause__)


@pytest.mark.parametrize("fresh_url", ["postgresql", "sqlite"], indirect=True)
def test_a_store_a_newer_release_migrated_is_a_store_error_not_a_crash(fresh_url: str) -> None:
    # A rolling upgrade: the new intake migrated to a revision this release
    # has never heard of. Migrating again refuses in words, and the tables
    # this release knows still answer.
    store = Store(StoreSettings(url=fresh_url))
    try:
        migrate(store)
        with store.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        with pytest.raises(StoreSchemaUnknown, match="revision this release does not know"):
            migrate(store)
        with pytest.raises(StoreUnavailable):  # what the intake and the router catch
            migrate(store)
        assert store.ready()
    finally:
        store.close()


def test_a_settled_nonce_is_answered_from_memory_and_an_unsettled_one_never(
    any_store_url: str, store: Store
) -> None:
    # A partner's replays of a settled decline cost no round trip: the
    # router remembers what it settled, or what the store said was settled.
    first = StoreConsumedAssignments(store, retention=3600, clock=time.time, settled_cache=2)
    other = Store(StoreSettings(url=any_store_url))  # a second router
    try:
        second = StoreConsumedAssignments(other, retention=3600, clock=time.time)
        mine, theirs = secrets.token_bytes(16), secrets.token_bytes(16)
        assert first.consume(mine) == "new"
        first.settle(mine)
        assert second.consume(theirs) == "new"
        # Unsettled is never remembered: it may still become settled.
        assert first.consume(theirs) == "unsettled"
        second.settle(theirs)
        assert first.consume(theirs) == "settled"
        with store.begin() as connection:  # the rows go (the store is not asked)
            connection.execute(delete(consumed_assignments))
        assert first.consume(mine) == "settled"
        assert first.consume(theirs) == "settled"
        # Bounded: past its size the oldest is asked of the store again.
        newest = secrets.token_bytes(16)
        first.consume(newest)
        first.settle(newest)
        assert first.consume(mine) == "new"
    finally:
        other.close()
