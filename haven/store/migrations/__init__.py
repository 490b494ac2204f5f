"""Alembic's migration scripts for the store (script_location haven.store:migrations)."""
