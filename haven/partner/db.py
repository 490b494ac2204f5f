"""The team inbox's one file: `inbox.sqlite` in the inbox folder, and how it is opened.

The folder (0700) holds this database (0600) and nothing else; SQLite's
rollback journal, while it exists, takes the database's mode. Every payload
in it is sealed (haven.partner.sealing); what is in clear is only what is
needed to find a row before anything is unlocked: member handles,
request ids, event ids and order.

    meta(name PK, value)                     "version", "inbox_salt"
    members(handle PK, wrap, added_at)       the org key wrapped per member
    items(id PK, sealed)                     one request or follow-up
    events(seq PK, id UNIQUE, item, sealed)  the audit log and case state

Each call opens its own connection: the CLI and a running `haven partner
serve` (one thread per request) may use one inbox at once, and SQLite's
lock with a busy timeout orders their writes. Every write is one
transaction (`transaction`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

FILE_NAME = "inbox.sqlite"
VERSION = b"1"
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    handle TEXT PRIMARY KEY, wrap BLOB NOT NULL, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, item TEXT,
    sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_item ON events (item, seq);
"""


class DatabaseError(Exception):
    """The inbox database cannot be opened or written; the message names the folder only."""


def path_of(root: Path) -> Path:
    return root / FILE_NAME


def exists(root: Path) -> bool:
    return path_of(root).is_file()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=True
    )
    # A deleted row (a removed member's wrap, a declined request's envelope)
    # is overwritten with zeros, not left in a free page of the file.
    connection.execute("PRAGMA secure_delete = ON")
    # A rollback journal that is deleted after each write: no WAL or shm
    # file lingers beside the database.
    connection.execute("PRAGMA journal_mode = DELETE")
    # Sorts and temporary tables stay in memory, never in a file elsewhere.
    connection.execute("PRAGMA temp_store = MEMORY")
    return connection


def create(root: Path) -> None:
    """The folder (0700) and an empty database (0600), if they are not there yet."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        path = path_of(root)
        if not path.exists():
            # Created 0600 before SQLite opens it: no moment at a looser mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with transaction(root) as connection:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('version', ?)", (VERSION,)
            )
            connection.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('inbox_salt', ?)",
                (os.urandom(16),),
            )
    except OSError as exc:
        raise DatabaseError(f"cannot create the inbox in {root}: {exc.strerror}") from None


@contextlib.contextmanager
def connect(root: Path) -> Iterator[sqlite3.Connection]:
    """A connection for reads (each statement its own snapshot), closed on exit."""
    path = path_of(root)
    if not path.is_file():
        raise DatabaseError(f"no team inbox in {root}: run `haven partner team init` to create one")
    try:
        connection = _connect(path)
    except sqlite3.Error:
        raise DatabaseError(f"cannot open the inbox database in {root}") from None
    try:
        yield connection
    except sqlite3.Error as exc:
        raise DatabaseError(f"the inbox database in {root} failed: {_reason(exc)}") from None
    finally:
        connection.close()


@contextlib.contextmanager
def transaction(root: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction: all of it is committed, or none (on any exception)."""
    with connect(root) as connection:
        # IMMEDIATE: the write lock is taken at the start, so two writers
        # wait for each other (busy timeout) instead of failing half-way.
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _reason(exc: sqlite3.Error) -> str:
    # SQLite's own words name the database's state (locked, full, read-only),
    # never a row's content: the content is sealed before it gets here.
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def meta(connection: sqlite3.Connection, name: str) -> bytes:
    row = connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise DatabaseError(f"the inbox database has no {name}")
    return bytes(row[0])
