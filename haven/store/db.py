"""The store's connections: one engine per process, made on first use."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from haven.store.schema import used_tickets
from haven.store.settings import StoreSettings


class StoreUnavailable(Exception):  # noqa: N818 - reads as what the caller answers (503)
    """The store cannot be reached or timed out; the caller answers 503, nothing was kept."""


class Store:
    """A handle on the database; safe to share between threads, remade after a fork."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._pid = 0

    def engine(self) -> Engine:
        # gunicorn forks workers after the app is made: a pooled connection
        # inherited across a fork would be shared by two processes and
        # corrupt both, so each process makes its own engine.
        with self._lock:
            if self._engine is None or self._pid != os.getpid():
                self._engine = _create_engine(self.settings)
                self._pid = os.getpid()
            return self._engine

    @contextmanager
    def begin(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction; any failure to reach the database becomes StoreUnavailable.

        `write`: a transaction that reads, then writes on what it read. On
        SQLite it takes the write lock at once (BEGIN IMMEDIATE), so two
        such transactions wait for each other within the busy timeout; a
        reader upgraded to a writer after another writer committed would
        fail at once instead. PostgreSQL takes its row locks as it goes.
        """
        try:
            with self.engine().begin() as connection:
                if write and self.settings.is_sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
        except IntegrityError:
            raise  # an answer (a key already there), not an outage
        except DBAPIError as exc:
            # Down, timed out, or not migrated yet. The driver's text may carry
            # the host; the cause stays on the exception chain, not in the message.
            raise StoreUnavailable(type(exc.orig).__name__) from exc

    def forget_deleted_bytes(self) -> None:
        """After a deletion: push what was deleted out of SQLite's write-ahead log, too.

        With secure_delete (below) a deleted row's bytes are overwritten in
        the page that held it, but until a checkpoint the write-ahead log
        still holds earlier copies of that page. A TRUNCATE checkpoint
        copies the log into the file and cuts the log to nothing. Nothing
        to do on PostgreSQL (docs/operators.md, "The store": VACUUM).
        """
        if not self.settings.is_sqlite:
            return
        try:
            with self.engine().connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except DBAPIError as exc:
            raise StoreUnavailable(type(exc.orig).__name__) from exc

    def ready(self) -> bool:
        """Whether the database answers and has the store's tables (for /readyz)."""
        try:
            with self.begin() as connection:
                connection.execute(select(used_tickets.c.ticket_hash).limit(1))
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _create_engine(settings: StoreSettings) -> Engine:
    url = settings.sqlalchemy_url()
    if settings.is_sqlite:
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": settings.timeout, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # By default no pool: each intake process touches the store about once
    # every two seconds (its acceptance-count sync, intake.load) plus its
    # no-JavaScript sends and readiness probes, so a connection per use
    # costs little, and no connection outlives its use
    # to be shared across a gunicorn fork. A router (which never forks)
    # keeps a few open: each decline costs it a round trip, not a
    # connection setup as well. No pre-ping (a round trip more per use): a
    # connection the database dropped fails one statement, SQLAlchemy
    # empties the pool, and the router hands that delivery back for a
    # later try (worker.router); recycling bounds how stale one gets.
    pooling: dict[str, Any] = (
        {
            "pool_size": settings.pool_size,
            "max_overflow": 0,
            "pool_timeout": settings.timeout,
            "pool_recycle": 300,
        }
        if settings.pool_size > 0
        else {"poolclass": NullPool}
    )
    return create_engine(
        url,
        **pooling,
        # An error's text must not carry what a statement was given (a
        # ticket's or nonce's hash) into a log or a traceback.
        hide_parameters=True,
        connect_args={
            "connect_timeout": max(1, int(settings.timeout)),
            # A query stuck behind a lock ends instead of holding a worker thread.
            "options": f"-c statement_timeout={int(settings.timeout * 1000)}",
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Several gunicorn workers share the demo's file: WAL lets readers run
    # beside the one writer, and a writer waits instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # A deleted mailbox is gone from the file, not only unlinked: SQLite
    # overwrites deleted content with zeros (docs/replies-v1.md section 4.3).
    cursor.execute("PRAGMA secure_delete=ON")
    # Off by default in SQLite: a mailbox's messages go with it, as on PostgreSQL.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
