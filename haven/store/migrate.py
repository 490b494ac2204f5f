"""Migrations: Alembic, run by the code at start (or `haven store migrate`), never by hand."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.util.exc import CommandError

from haven.store.db import Store, StoreUnavailable
from haven.store.schema import metadata

SCRIPT_LOCATION = "haven.store:migrations"


def _config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # The engine is handed over in memory, never as a URL in a config file
    # that could carry the password.
    config.attributes["store"] = store
    return config


class StoreSchemaUnknown(StoreUnavailable):
    """The database is at a revision this release does not know: a newer release migrated it.

    During a rolling upgrade the instances already upgraded migrate first;
    the older ones keep working on the tables they know (a migration only
    adds), so callers treat it like any store error: warn and carry on.
    """


def migrate(store: Store, revision: str = "head") -> None:
    """Bring the database to `revision`; idempotent, safe to run from every instance at start.

    StoreUnavailable if the database cannot be reached; StoreSchemaUnknown
    if it is already at a revision this release does not have.
    """
    try:
        command.upgrade(_config(store), revision)
    except CommandError:
        # Alembic's text names only the revision; a fixed one says what it means.
        raise StoreSchemaUnknown(
            "the store is at a schema revision this release does not know "
            "(a newer release migrated it)"
        ) from None


def downgrade(store: Store, revision: str) -> None:
    """Take the database back to `revision` ("base": no tables), to roll a release back."""
    command.downgrade(_config(store), revision)


def schema_differences(store: Store) -> list[Any]:
    """What the live schema lacks or has beyond schema.metadata (empty when they agree)."""
    with store.engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
