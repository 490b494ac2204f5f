"""The team: the organisation's key wrapped once per member, each under their own passphrase.

The org key is the partner's X-Wing private key. Each member's row holds
`wrap_private_key(seed, passphrase)` (the key-file format, kind
"partner"): removing a member deletes their wrap, and nobody else's
passphrase changes. Handles are stored in clear, since a wrap must be found
before anything is unlocked: teams use pseudonyms.

What a member who left can still do: open a copy of the inbox folder they
made while a member, with their passphrase, or the removed wrap if its
bytes are recovered from the disk (the deleted rollback journal held it);
only a new org key (rotated in the directory) keeps new requests from them
(docs/operators.md, "When a member leaves").
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from haven.envelope import (
    KeyFileError,
    PrivateKey,
    ScryptParams,
    unwrap_private_key,
    wrap_private_key,
)
from haven.envelope.keyfile import FILE_BYTES, HEADER_BYTES, SALT_BYTES
from haven.partner import db
from haven.partner.entry import format_time
from haven.partner.migrate import (
    MigrationError,
    entry_files,
    migrate,
    plaintext_inbox,
    sealed_already,
    wipe,
)
from haven.partner.rows import add_event, record_key
from haven.partner.sealing import SealError

MIN_PASSPHRASE_CHARS = 12
# A pseudonym: letters (any script), digits, dot, dash, underscore.
_HANDLE = re.compile(r"[^\W_][\w.-]{0,31}")
UNLOCK_FAILED = "wrong member or passphrase"


class TeamError(Exception):
    """One line; never a passphrase, never which of handle or passphrase was wrong."""


@dataclass(frozen=True)
class Unlocked:
    member: str
    # The org key: opens requests, signs replies (SigningKey.from_partner_key).
    key: PrivateKey = field(repr=False)


# Scripts whose letters look alike ("o" in Latin, Cyrillic and Greek): a
# handle mixing them could pass for another member's in a list or a log.
_LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


def check_handle(member: str) -> str:
    """The handle as stored (NFC), or TeamError; never echoes what was given."""
    # The same name typed on another keyboard or system (composed or not)
    # is the same member.
    member = unicodedata.normalize("NFC", member)
    if not _HANDLE.fullmatch(member):
        raise TeamError(
            "member: 1 to 32 letters, digits, '.', '-' or '_', starting with a letter or digit"
        )
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in member if c.isalpha()}
    if len(scripts & _LOOKALIKE_SCRIPTS) > 1:
        raise TeamError("member: letters of one script only (Latin, Cyrillic or Greek, not mixed)")
    return member


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise TeamError(f"passphrase: at least {MIN_PASSPHRASE_CHARS} characters")


def refuse_plaintext(root: Path) -> None:
    """TeamError, naming the command that seals them, when plaintext entries are in `root`."""
    try:
        if not plaintext_inbox(root):
            return
        exists = _team_exists(root)
    except (MigrationError, db.DatabaseError) as exc:
        raise TeamError(str(exc)) from None
    if exists:
        # An old toolkit (a cron job, a restored backup) wrote beside the team inbox.
        raise TeamError(
            f"{root} holds plaintext inbox entries beside the team inbox: run "
            "`haven partner team migrate` to seal them into it"
        )
    raise TeamError(
        f"{root} holds a plaintext inbox: run `haven partner team init` to seal it into a "
        "team inbox"
    )


def members(root: Path) -> list[str]:
    refuse_plaintext(root)
    try:
        with db.connect(root) as connection:
            rows = connection.execute("SELECT handle FROM members ORDER BY handle").fetchall()
    except db.DatabaseError as exc:
        raise TeamError(str(exc)) from None
    return [str(handle) for (handle,) in rows]


def _team_exists(root: Path) -> bool:
    if not db.exists(root):
        return False
    with db.connect(root, schema=False) as connection:
        # An empty or half-made database (an interrupted init) is no team yet.
        return (
            db.has_schema(connection)
            and connection.execute("SELECT 1 FROM members LIMIT 1").fetchone() is not None
        )


def _finish_wipe(root: Path) -> bool:
    """After a crash between the migration's commit and its wipe: wipe what is sealed already."""
    with db.connect(root) as connection:
        for path in entry_files(root) + entry_files(root / "declined"):
            if not sealed_already(connection, path.stem):
                return False
    wipe(root)
    return True


# What an interrupted `team init` may have left: the database, its journal.
_OWN_NAMES = frozenset({db.FILE_NAME, db.FILE_NAME + "-journal"})


def _refuse_foreign(root: Path) -> None:
    """TeamError when `root` holds files that are neither an old inbox's nor the team inbox's.

    The inbox folder is made 0700 and must hold the sealed database only:
    someone's own files there would stay beside it, in clear, and be taken
    for part of the inbox in every backup or copy of it.
    """
    try:
        foreign = root.is_dir() and any(p.name not in _OWN_NAMES for p in root.iterdir())
    except OSError as exc:
        raise TeamError(f"cannot read the inbox folder {root}: {exc.strerror}") from None
    if foreign:
        raise TeamError(
            f"{root} holds files that are not an inbox's: give an empty or new folder "
            "(nothing was changed)"
        )


def init_team(
    root: Path,
    key: PrivateKey,
    member: str,
    passphrase: str,
    *,
    params: ScryptParams | None = None,
) -> int:
    """Create the team inbox with its first member; seal an old plaintext inbox found in `root`.

    Returns how many old entries were migrated.
    """
    member = check_handle(member)
    _check_passphrase(passphrase)
    try:
        # Before anything is written: a folder an old inbox did not make is refused untouched.
        plaintext = plaintext_inbox(root)
        if _team_exists(root):
            if plaintext and _finish_wipe(root):
                return 0
            if plaintext:
                raise TeamError(
                    f"{root} already holds a team inbox, with plaintext entries beside it: "
                    "run `haven partner team migrate` to seal them into it"
                )
            raise TeamError(f"{root} already holds a team inbox: use `haven partner team add`")
        if not plaintext:
            _refuse_foreign(root)
        db.create(root)
        wrap = wrap_private_key(key.seed, passphrase, kind="partner", params=params)
        with db.transaction(root) as connection:
            sealer = record_key(connection, key)
            connection.execute(
                "INSERT INTO members (handle, wrap, added_at) VALUES (?, ?, ?)",
                (member, wrap, format_time(datetime.now(UTC))),
            )
            add_event(connection, sealer, "member_added", member, None, data={"handle": member})
            migrated = migrate(connection, key, sealer, root, member) if plaintext else 0
        if plaintext:
            wipe(root)
    except (db.DatabaseError, MigrationError, SealError) as exc:
        raise TeamError(str(exc)) from None
    return migrated


def migrate_team(root: Path, member: str, passphrase: str) -> int:
    """Seal plaintext entries found beside an existing team inbox into it; how many.

    The same migration as `init_team`'s, unlocked by a member instead of
    the key file: an old toolkit still pulling into the folder, or a
    restored backup, leaves entries no other command may read.
    """
    member = check_handle(member)
    try:
        if not plaintext_inbox(root):
            return 0
        if not _team_exists(root):
            raise TeamError(db.no_team(root))
        unlocked = _unlock(root, member, passphrase)
        with db.transaction(root) as connection:
            sealer = record_key(connection, unlocked.key)
            migrated = migrate(connection, unlocked.key, sealer, root, unlocked.member)
        wipe(root)
    except (db.DatabaseError, MigrationError, SealError) as exc:
        raise TeamError(str(exc)) from None
    return migrated


def _wrap_of(root: Path, member: str) -> bytes | None:
    with db.connect(root) as connection:
        row = connection.execute("SELECT wrap FROM members WHERE handle = ?", (member,)).fetchone()
        if row is not None:
            return bytes(row[0])
        # Same cost for a handle that is not there: the scrypt parameters of
        # a real wrap, a fresh salt, a tag that never verifies.
        any_row = connection.execute("SELECT wrap FROM members LIMIT 1").fetchone()
    if any_row is None:
        raise TeamError(f"no team inbox in {root}: run `haven partner team init` to create one")
    template = bytes(any_row[0])
    return (
        template[: HEADER_BYTES - SALT_BYTES]
        + os.urandom(SALT_BYTES)
        + os.urandom(FILE_BYTES - HEADER_BYTES)
    )


def unlock(root: Path, member: str, passphrase: str) -> Unlocked:
    """The org key, for a member and their passphrase; records "unlocked" in the audit log.

    An unknown member and a wrong passphrase give the same error after the
    same work, so the error does not tell which handles exist.
    """
    member = check_handle(member)
    refuse_plaintext(root)
    return _unlock(root, member, passphrase)


def _unlock(root: Path, member: str, passphrase: str) -> Unlocked:
    try:
        wrap = _wrap_of(root, member)
    except db.DatabaseError as exc:
        raise TeamError(str(exc)) from None
    try:
        key = PrivateKey.from_seed(unwrap_private_key(wrap or b"", passphrase, kind="partner"))
    except (KeyFileError, ValueError):
        raise TeamError(UNLOCK_FAILED) from None
    unlocked = Unlocked(member, key)
    _log(root, unlocked, "unlocked")
    return unlocked


def _team_event(
    connection: sqlite3.Connection, unlocked: Unlocked, action: str, **data: object
) -> None:
    """An event about the team itself (no case), sealed, in the caller's transaction."""
    add_event(
        connection, record_key(connection, unlocked.key), action, unlocked.member, None, data=data
    )


def _log(root: Path, unlocked: Unlocked, action: str, **data: object) -> None:
    try:
        with db.transaction(root) as connection:
            _team_event(connection, unlocked, action, **data)
    except db.DatabaseError as exc:
        raise TeamError(str(exc)) from None


def add_member(
    root: Path,
    unlocked: Unlocked,
    member: str,
    passphrase: str,
    *,
    params: ScryptParams | None = None,
) -> None:
    member = check_handle(member)
    _check_passphrase(passphrase)
    refuse_plaintext(root)
    wrap = wrap_private_key(unlocked.key.seed, passphrase, kind="partner", params=params)
    try:
        with db.transaction(root) as connection:
            taken = connection.execute(
                "SELECT 1 FROM members WHERE handle = ?", (member,)
            ).fetchone()
            if taken is not None:
                raise TeamError(f"member: {member} is already in the team")
            connection.execute(
                "INSERT INTO members (handle, wrap, added_at) VALUES (?, ?, ?)",
                (member, wrap, format_time(datetime.now(UTC))),
            )
            _team_event(connection, unlocked, "member_added", handle=member)
    except db.DatabaseError as exc:
        raise TeamError(str(exc)) from None


def remove_member(root: Path, unlocked: Unlocked, member: str) -> None:
    """Delete the member's wrap; never the last one.

    secure_delete overwrites it in the database file, not in the rollback
    journal that held its page during the write and is then only unlinked:
    its bytes may stay on the disk. Only a new org key is sure to shut the
    member out (docs/operators.md, "When a member leaves").
    """
    member = check_handle(member)
    refuse_plaintext(root)
    try:
        with db.transaction(root) as connection:
            handles = [h for (h,) in connection.execute("SELECT handle FROM members")]
            if member not in handles:
                raise TeamError(f"member: {member} is not in the team")
            if len(handles) == 1:
                raise TeamError(
                    "member: the last member cannot be removed (nobody could unlock the inbox)"
                )
            connection.execute("DELETE FROM members WHERE handle = ?", (member,))
            _team_event(connection, unlocked, "member_removed", handle=member)
    except db.DatabaseError as exc:
        raise TeamError(str(exc)) from None
