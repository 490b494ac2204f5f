"""A team inbox for tests: the org key wrapped for one member at a cheap scrypt cost.

The real cost (N=2^17) is for members' passphrases on partners' machines;
tests make many inboxes and use N=2^10.
"""

from __future__ import annotations

from pathlib import Path

from haven.envelope import PrivateKey, ScryptParams
from haven.partner import db
from haven.partner.inbox import Entry, Inbox
from haven.partner.rows import item_record, put_item, record_key
from haven.partner.team import Unlocked, add_member, init_team, unlock

TEST_SCRYPT = ScryptParams(log2_n=10, r=8, p=1)
MEMBER = "alice"
MEMBER_PASSPHRASE = "test-only member passphrase"


def make_team(
    root: Path,
    key: PrivateKey,
    member: str = MEMBER,
    passphrase: str = MEMBER_PASSPHRASE,
) -> Unlocked:
    """A team inbox in `root` with one member; that member, unlocked."""
    init_team(root, key, member, passphrase, params=TEST_SCRYPT)
    return unlock(root, member, passphrase)


def open_inbox(root: Path, member: str = MEMBER, passphrase: str = MEMBER_PASSPHRASE) -> Inbox:
    return Inbox(root, unlock(root, member, passphrase))


def team_inbox(root: Path, key: PrivateKey) -> Inbox:
    """A new team inbox, unlocked by its first member."""
    return Inbox(root, make_team(root, key))


def add(root: Path, unlocked: Unlocked, member: str, passphrase: str) -> None:
    add_member(root, unlocked, member, passphrase, params=TEST_SCRYPT)


def store_content(inbox: Inbox, entry: Entry) -> str:
    """Keep an entry as a migrated one is kept: its content sealed, no envelope.

    For tests whose content no real envelope would carry through the pull's
    checks (a broken reply key, say): the outbox must still refuse it.
    """
    with db.transaction(inbox.root) as connection:
        key = record_key(connection, inbox.unlocked.key)
        put_item(connection, key, entry.request_id, item_record(entry, None, None))
    return entry.request_id
