"""Reply mailboxes on the real PostgreSQL and on SQLite: every write outcome, fetch, delete, expiry."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from haven.store import Mailboxes, Store, StoreSettings, WriteOutcome, migrate
from haven.store.mailboxes import deleted_marker
from haven.store.schema import deleted_mailboxes, mailbox_messages, mailboxes

RETENTION = 30 * 86_400


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(any_store_url: str) -> Iterator[Store]:
    store = Store(StoreSettings(url=any_store_url))
    migrate(store)
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def boxes(store: Store, clock: Clock) -> Mailboxes:
    return Mailboxes(store, retention_seconds=RETENTION, max_messages=5, clock=clock)


def wire(text: str = "") -> tuple[str, bytes]:
    """A message id and wire bytes (the store keeps them as given: it reads neither)."""
    sealed = (text or secrets.token_hex(16)).encode()
    body = json.dumps({"partner": "lawyers", "sealed": sealed.decode(), "signature": "c2ln"})
    return hashlib.sha256(sealed).hexdigest(), body.encode()


def new_mailbox() -> tuple[bytes, bytes]:
    return secrets.token_bytes(32), secrets.token_bytes(32)


def test_every_write_outcome(boxes: Mailboxes) -> None:
    mailbox, access = new_mailbox()
    first_id, first = wire()
    # No mailbox, no access hash: nothing is made.
    assert boxes.write(mailbox, None, first_id, first) is WriteOutcome.UNKNOWN
    assert boxes.fetch(mailbox, access) == []
    # The first write with the hash makes it.
    assert boxes.write(mailbox, access, first_id, first) is WriteOutcome.STORED
    assert boxes.write(mailbox, access, first_id, first) is WriteOutcome.ALREADY
    assert boxes.write(mailbox, None, first_id, first) is WriteOutcome.ALREADY
    second_id, second = wire()
    # A later write may leave the hash out; a different hash is a conflict.
    assert boxes.write(mailbox, secrets.token_bytes(32), second_id, second) is (
        WriteOutcome.CONFLICT
    )
    assert boxes.write(mailbox, None, second_id, second) is WriteOutcome.STORED
    assert boxes.fetch(mailbox, access) == [first, second]
    for _ in range(3):
        assert boxes.write(mailbox, access, *wire()) is WriteOutcome.STORED
    # The cap (5 here, 100 by default): the sixth is refused, a repeat still answered.
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.FULL
    assert boxes.write(mailbox, access, first_id, first) is WriteOutcome.ALREADY
    assert len(boxes.fetch(mailbox, access)) == 5
    boxes.delete(mailbox, access)
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.GONE
    assert boxes.write(mailbox, None, *wire()) is WriteOutcome.GONE
    assert boxes.fetch(mailbox, access) == []


def test_the_default_cap_is_a_hundred(store: Store) -> None:
    boxes = Mailboxes(store, retention_seconds=RETENTION)
    mailbox, access = new_mailbox()
    for _ in range(100):
        assert boxes.write(mailbox, access, *wire()) is WriteOutcome.STORED
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.FULL


def test_a_wrong_secret_an_unknown_and_an_empty_mailbox_read_alike(
    boxes: Mailboxes, store: Store
) -> None:
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    assert len(boxes.fetch(mailbox, access)) == 1
    assert boxes.fetch(mailbox, secrets.token_bytes(32)) == []
    assert boxes.fetch(secrets.token_bytes(32), access) == []
    # A wrong secret deletes nothing.
    boxes.delete(mailbox, secrets.token_bytes(32))
    assert len(boxes.fetch(mailbox, access)) == 1
    unknown = secrets.token_bytes(32)
    boxes.delete(unknown, access)  # unknown: nothing, no marker
    assert not _marked(store, unknown)
    assert not _marked(store, mailbox)


def test_only_hashes_sealed_messages_and_expiry_are_kept(boxes: Mailboxes, store: Store) -> None:
    assert [c.name for c in mailboxes.columns] == ["mailbox_id", "access_hash", "expires_at"]
    assert [c.name for c in mailbox_messages.columns] == [
        "id",
        "mailbox_id",
        "message_id",
        "wire",
        "expires_at",
    ]
    assert [c.name for c in deleted_mailboxes.columns] == ["marker_hash", "expires_at"]
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    boxes.delete(mailbox, access)
    # The marker is a hash of the id, not the id.
    assert _marked(store, mailbox)
    assert deleted_marker(mailbox) != mailbox
    with store.begin() as connection:
        for table, column in (
            (mailboxes, mailboxes.c.mailbox_id),
            (mailbox_messages, mailbox_messages.c.mailbox_id),
            (deleted_mailboxes, deleted_mailboxes.c.marker_hash),
        ):
            assert connection.execute(select(table).where(column == mailbox)).first() is None


def test_each_write_moves_the_whole_thread_s_expiry_and_the_sweep_deletes_it(
    boxes: Mailboxes, store: Store, clock: Clock
) -> None:
    mailbox, access = new_mailbox()
    kept, kept_access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    clock.now += RETENTION - 10
    boxes.write(kept, kept_access, *wire())
    boxes.write(mailbox, access, *wire())  # the thread lives on, its first message too
    clock.now += 20
    assert len(boxes.fetch(mailbox, access)) == 2
    clock.now += RETENTION
    # Expired: not answered, even before the sweep.
    assert boxes.fetch(mailbox, access) == []
    assert boxes.fetch(kept, kept_access) == []
    assert boxes.purge() >= 2
    with store.begin() as connection:
        for table in (mailboxes, mailbox_messages):
            left = connection.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.mailbox_id.in_([mailbox, kept]))
            )
            assert left.scalar_one() == 0
    # Gone for good: a partner's write with the hash makes a new, empty mailbox.
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.STORED
    assert len(boxes.fetch(mailbox, access)) == 1


def test_an_expired_mailbox_not_yet_swept_is_made_anew(boxes: Mailboxes, clock: Clock) -> None:
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    clock.now += RETENTION + 1
    other = secrets.token_bytes(32)
    assert boxes.write(mailbox, other, *wire()) is WriteOutcome.STORED  # no conflict with the old
    assert len(boxes.fetch(mailbox, other)) == 1
    assert boxes.fetch(mailbox, access) == []


def test_the_deletion_marker_lasts_the_retention(
    boxes: Mailboxes, store: Store, clock: Clock
) -> None:
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    boxes.delete(mailbox, access)
    clock.now += RETENTION - 1
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.GONE
    clock.now += 2
    # Past it, the marker no longer counts (swept or not) ...
    assert boxes.write(mailbox, None, *wire()) is WriteOutcome.UNKNOWN
    assert boxes.purge() >= 1
    assert not _marked(store, mailbox)
    # ... and the mailbox can be made again.
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.STORED


def test_deleting_twice_and_after_expiry_is_harmless(boxes: Mailboxes, clock: Clock) -> None:
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    boxes.delete(mailbox, access)
    boxes.delete(mailbox, access)
    clock.now += RETENTION + 1
    boxes.write(mailbox, access, *wire())  # the marker expired: a new mailbox
    boxes.delete(mailbox, access)  # an unswept expired marker of it is replaced
    assert boxes.write(mailbox, access, *wire()) is WriteOutcome.GONE


@pytest.mark.parametrize("same_hash", [True, False])
def test_two_instances_making_the_same_mailbox_at_once(
    any_store_url: str, store: Store, same_hash: bool
) -> None:
    # Two partners (or one partner's retry reaching two intakes) write the
    # first message of one mailbox at the same moment: one makes it, the
    # other finds it made and is answered from it.
    mailbox, access = new_mailbox()
    hashes = [access, access if same_hash else secrets.token_bytes(32)]
    handles = [Store(StoreSettings(url=any_store_url)) for _ in hashes]
    start = threading.Barrier(len(handles))
    outcomes: list[WriteOutcome] = []

    def write(handle: Store, access_hash: bytes) -> None:
        boxes = Mailboxes(handle, retention_seconds=RETENTION)
        start.wait()
        outcomes.append(boxes.write(mailbox, access_hash, *wire()))

    threads = [
        threading.Thread(target=write, args=pair) for pair in zip(handles, hashes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for handle in handles:
        handle.close()
    stored = Mailboxes(store, retention_seconds=RETENTION)
    if same_hash:
        assert outcomes == [WriteOutcome.STORED, WriteOutcome.STORED]
        assert len(stored.fetch(mailbox, access)) == 2
    else:
        assert sorted(o.value for o in outcomes) == ["conflict", "stored"]
        assert len(stored.fetch(mailbox, access) + stored.fetch(mailbox, hashes[1])) == 1


def test_writes_at_once_never_pass_the_cap(any_store_url: str, store: Store) -> None:
    mailbox, access = new_mailbox()
    Mailboxes(store, retention_seconds=RETENTION, max_messages=3).write(mailbox, access, *wire())
    handles = [Store(StoreSettings(url=any_store_url)) for _ in range(4)]
    start = threading.Barrier(len(handles))
    outcomes: list[WriteOutcome] = []

    def write(handle: Store) -> None:
        boxes = Mailboxes(handle, retention_seconds=RETENTION, max_messages=3)
        start.wait()
        outcomes.append(boxes.write(mailbox, None, *wire()))

    threads = [threading.Thread(target=write, args=(handle,)) for handle in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for handle in handles:
        handle.close()
    assert sorted(o.value for o in outcomes) == ["full", "full", "stored", "stored"]
    assert len(Mailboxes(store, retention_seconds=RETENTION).fetch(mailbox, access)) == 3


def _marked(store: Store, mailbox: bytes) -> bool:
    with store.begin() as connection:
        found = connection.execute(
            select(deleted_mailboxes).where(
                deleted_mailboxes.c.marker_hash == deleted_marker(mailbox)
            )
        )
        return found.first() is not None


def _file_bytes(database: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


def test_a_deleted_mailbox_leaves_no_bytes_in_the_sqlite_files(tmp_path: Path) -> None:
    database = tmp_path / "store.sqlite3"
    store = Store(StoreSettings(url=f"sqlite:///{database}"))
    try:
        migrate(store)
        boxes = Mailboxes(store, retention_seconds=RETENTION)
        mailbox, access = new_mailbox()
        other, other_access = new_mailbox()
        canary = "canary-" + secrets.token_hex(8)
        # Messages large enough to take overflow pages, and small ones.
        for text in (canary, canary * 400, canary + "-second"):
            boxes.write(mailbox, access, *wire(text))
        boxes.write(other, other_access, *wire("kept-" + secrets.token_hex(8)))
        before = _file_bytes(database)
        assert canary.encode() in before and mailbox in before
        boxes.delete(mailbox, access)
        after = _file_bytes(database)
        assert canary.encode() not in after
        assert mailbox not in after
        assert access not in after
        assert b"kept-" in after  # the other mailbox is untouched
        # The sweep of an expired mailbox forgets it as thoroughly.
        sweeper = Mailboxes(
            store, retention_seconds=RETENTION, clock=lambda: time.time() + 2 * RETENTION
        )
        assert sweeper.purge() >= 1
        swept = _file_bytes(database)
        assert b"kept-" not in swept and other not in swept
    finally:
        store.close()


def test_bad_arguments_are_refused(boxes: Mailboxes) -> None:
    mailbox, access = new_mailbox()
    for call in (
        lambda: boxes.write(mailbox[:31], access, *wire()),
        lambda: boxes.write(mailbox, access[:31], *wire()),
        lambda: boxes.write(mailbox, access, "X" * 64, b"{}"),
        lambda: boxes.fetch(mailbox, b""),
        lambda: boxes.delete(b"", access),
    ):
        with pytest.raises(ValueError, match="must be"):
            call()


def test_a_sweep_runs_at_most_once_a_period_and_never_fails_its_caller(
    store: Store, clock: Clock
) -> None:
    boxes = Mailboxes(store, retention_seconds=10, clock=clock, purge_every=60)
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    boxes.purge_now_and_then()  # the first sweep, at once
    clock.now += 11
    boxes.purge_now_and_then()  # within the period: nothing
    with store.begin() as connection:
        row = connection.execute(
            select(mailboxes.c.mailbox_id).where(mailboxes.c.mailbox_id == mailbox)
        )
        assert row.first() is not None
    clock.now += 60
    boxes.purge_now_and_then()
    with store.begin() as connection:
        row = connection.execute(
            select(mailboxes.c.mailbox_id).where(mailboxes.c.mailbox_id == mailbox)
        )
        assert row.first() is None
    away = Store(StoreSettings(url="postgresql://postgres@127.0.0.1:1/haven", timeout=1))
    try:
        Mailboxes(away, retention_seconds=10).purge_now_and_then()  # logged, not raised
    finally:
        away.close()


def test_a_fetch_runs_the_same_statements_whatever_the_secret(
    boxes: Mailboxes, store: Store
) -> None:
    # A wrong secret or an unknown mailbox must not answer faster, or by
    # another path, than the right secret: one statement, the same one.
    mailbox, access = new_mailbox()
    boxes.write(mailbox, access, *wire())
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = store.engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        runs = []
        for mailbox_id, access_hash in (
            (mailbox, access),
            (mailbox, secrets.token_bytes(32)),
            (secrets.token_bytes(32), access),
        ):
            seen.clear()
            boxes.fetch(mailbox_id, access_hash)
            runs.append(list(seen))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(runs[0]) == 1
    assert runs[0] == runs[1] == runs[2]
