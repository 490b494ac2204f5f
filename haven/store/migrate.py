"""Migrations: Alembic, run by the code at start (or `haven store migrate`), never by hand."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from haven.store.db import Store
from haven.store.schema import metadata

SCRIPT_LOCATION = "haven.store:migrations"


def _config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # The engine is handed over in memory, never as a URL in a config file
    # that could carry the password.
    config.attributes["store"] = store
    return config


def migrate(store: Store, revision: str = "head") -> None:
    """Bring the database to `revision`; idempotent, safe to run from every instance at start."""
    command.upgrade(_config(store), revision)


def downgrade(store: Store, revision: str) -> None:
    """Take the database back to `revision` ("base": no tables), to roll a release back."""
    command.downgrade(_config(store), revision)


def schema_differences(store: Store) -> list[Any]:
    """What the live schema lacks or has beyond schema.metadata (empty when they agree)."""
    with store.engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
