"""Where the router and the webhook deliverer get their verified directory, and how they refresh it.

Both services are started on a directory that passed every check (a failing
first load stops them), and from then on keep the last verified one when a
reload fails: a directory file caught mid-replace, or one that does not
verify, must neither stop delivery nor put an unverified key in use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from haven.broker import SettingsError
from haven.directory import (
    SeenVersionFile,
    accept_directory,
    read_directory_document,
    read_network_verify_key,
)
from schemas.directory import Directory

log = logging.getLogger(__name__)

# Returns a directory that passed verification, or raises.
DirectoryLoader = Callable[[], Directory]


@dataclass(frozen=True)
class DirectoryFiles:
    """Where a worker service finds its verified directory."""

    document: Path
    network_key: Path
    state: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DirectoryFiles:
        document, key = (
            environ.get("HAVEN_DIRECTORY_FILE"),
            environ.get("HAVEN_NETWORK_VERIFY_KEY_FILE"),
        )
        if not document or not key:
            raise SettingsError(
                "HAVEN_DIRECTORY_FILE and HAVEN_NETWORK_VERIFY_KEY_FILE must name files"
            )
        state = environ.get("HAVEN_DIRECTORY_STATE")
        return cls(Path(document), Path(key), Path(state) if state else None)

    def load(self) -> Directory:
        """The directory, verified against the pinned key, never older than one seen before."""
        pinned = read_network_verify_key(self.network_key)
        document = read_directory_document(self.document)
        state = SeenVersionFile(self.state) if self.state is not None else None
        return accept_directory(document, pinned, now=datetime.now(UTC), state=state)


def reload_or_keep(loader: DirectoryLoader, current: Directory) -> Directory:
    """A freshly verified directory from `loader`, or `current` if loading fails in any way."""
    try:
        return loader()
    except Exception as exc:  # noqa: BLE001 - any loader failure keeps the last verified directory
        log.warning("directory reload failed, keeping version %d: %s", current.version, exc)
        return current
