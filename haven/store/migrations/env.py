"""Alembic's environment: the store's own engine, handed over by haven.store.migrate."""

from __future__ import annotations

from alembic import context

from haven.store.db import Store
from haven.store.schema import metadata

store = context.config.attributes["store"]
assert isinstance(store, Store)  # noqa: S101 - only haven.store.migrate runs this file

with store.begin() as connection:
    # One transaction for every step: an instance that dies mid-way leaves the
    # schema as it was. On PostgreSQL a lock makes instances starting together
    # wait for each other instead of racing to create the same table.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7460796564)")
    elif connection.dialect.name == "sqlite":
        # Python's sqlite3 runs CREATE TABLE outside any transaction unless
        # one is begun by hand: the demo's intake and router, migrating one
        # file at once, would both create the same table and one would fail.
        # IMMEDIATE takes the write lock now, so the second waits and finds
        # the schema done (the busy timeout bounds the wait).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    context.run_migrations()
