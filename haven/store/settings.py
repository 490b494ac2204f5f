"""Where the store is: parsed once from the environment into a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from haven.files import read_setting_file

_MAX_PASSWORD_FILE_BYTES = 4096
# Only these two; the driver is fixed so every deployment runs the one the tests ran.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg"}


class StoreSettingsError(ValueError):
    """The store's settings are wrong; the message names the variable, never the password."""


@dataclass(frozen=True)
class StoreSettings:
    """HAVEN_STORE_URL (postgresql://… or sqlite:///path) and HAVEN_STORE_PASSWORD_FILE."""

    url: str
    # Kept apart from the URL and out of repr(): a URL ends up in logs and tracebacks.
    password: str | None = field(default=None, repr=False)
    # Upper bound on waiting for a connection or a lock; past it the caller answers 503.
    timeout: float = 5.0
    # PostgreSQL connections kept open between uses; 0: none (a connection
    # per use). Only for a process that never forks: a pooled connection
    # inherited by a forked child would be shared by two processes. The
    # router sets it (worker.main); the intake, forked by gunicorn, does not.
    pool_size: int = 0

    def __post_init__(self) -> None:
        self.sqlalchemy_url()  # raises StoreSettingsError now, at start, not at the first request

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StoreSettings:
        password = None
        password_file = environ.get("HAVEN_STORE_PASSWORD_FILE", "")
        if password_file:
            raw = read_setting_file(
                "HAVEN_STORE_PASSWORD_FILE",
                Path(password_file),
                _MAX_PASSWORD_FILE_BYTES,
                error=StoreSettingsError,
            )
            password = raw.decode("utf-8", "replace").strip()
        # No default: an instance that quietly made a file of its own would
        # keep single use to itself, the very thing the store is there for.
        url = environ.get("HAVEN_STORE_URL", "")
        if not url:
            raise StoreSettingsError("HAVEN_STORE_URL is not set")
        return cls(url=url, password=password)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url().get_backend_name() == "sqlite"

    def sqlalchemy_url(self) -> URL:
        try:
            url = make_url(self.url)
        # ValueError: a port that is not a number; its text would not name the variable.
        except (ArgumentError, ValueError):
            raise StoreSettingsError(
                "HAVEN_STORE_URL must be a postgresql:// or sqlite:/// URL"
            ) from None
        if url.drivername == "sqlite":
            if not url.database or url.database == ":memory:":
                # An in-memory database is private to one connection: single use
                # would hold for nobody.
                raise StoreSettingsError("HAVEN_STORE_URL: sqlite:/// needs a file path")
            return url
        driver = _DRIVERS.get(url.drivername)
        if driver is None or not url.database:
            raise StoreSettingsError(
                "HAVEN_STORE_URL must be a postgresql://user@host/database or sqlite:///path URL"
            )
        url = url.set(drivername=driver)
        if self.password is not None:
            url = url.set(password=self.password)
        return url
