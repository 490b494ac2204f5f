"""The signed partner directory as the intake serves it: verified before it is ever served.

Requesters' devices verify the directory themselves against their pinned
key; the intake verifies it too, so a forged, expired or rolled-back file
on the server's disk is refused here, loudly, instead of being handed to
every requester as a fake help bot's key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from haven.directory import (
    DirectoryError,
    SeenVersion,
    SeenVersionFile,
    read_directory_document,
    verify_directory,
)
from haven.envelope import NetworkVerifyKey
from schemas.directory import Directory

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int] | None


@dataclass(frozen=True)
class ServedDocument:
    document: bytes
    etag: str
    seen: SeenVersion
    expires_at: datetime
    directory: Directory


class DirectoryExpired(Exception):  # noqa: N818 - reads as the state it reports
    """The last verified directory has expired and no newer one has arrived."""


class DirectoryFile:
    """The directory file, re-verified whenever it changes on disk (one stat per request)."""

    def __init__(
        self,
        path: Path,
        pinned: NetworkVerifyKey,
        *,
        clock: Callable[[], float],
        state: Path | None = None,
    ) -> None:
        self._path = path
        self._pinned = pinned
        self._clock = clock
        # The rollback guard across restarts: without it, whoever can write
        # the directory file (or restore an old disk image) and restart the
        # intake could serve an older signed directory that still lists a
        # retired, perhaps seized, partner key.
        self._state = SeenVersionFile(state) if state is not None else None
        self._lock = threading.Lock()
        self._stamp = self._stat()
        # Raises DirectoryError: the intake does not start on a bad directory,
        # nor on one older than the version recorded in the state file.
        self._current, payload = self._load(seen=None)
        # Unwritable state at start is a misconfiguration: refuse to start
        # rather than run with a rollback guard that does not hold.
        self._remember(self._current, payload, fatal=True)

    @property
    def version(self) -> int:
        return self._current.seen.version

    def current(self) -> ServedDocument:
        """The newest verified directory; raises DirectoryExpired once it has expired."""
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        served = self._current
        if self._now() >= served.expires_at:
            raise DirectoryExpired
        return served

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _stat(self) -> Stamp:
        try:
            info = os.stat(self._path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _load(self, seen: SeenVersion | None) -> tuple[ServedDocument, bytes]:
        """The verified document and its signed payload, or DirectoryError."""
        document = read_directory_document(self._path)
        directory, payload = verify_directory(document, self._pinned, now=self._now(), seen=seen)
        recorded = self._recorded()
        if recorded is not None:
            # The version served before the last restart (or by this process,
            # if the state file is shared): never step back past it either.
            recorded.check(directory.network_id, directory.version, payload)
        served = ServedDocument(
            document=document,
            etag='"' + hashlib.sha256(document).hexdigest() + '"',
            seen=SeenVersion(
                directory.network_id, directory.version, hashlib.sha256(payload).hexdigest()
            ),
            expires_at=directory.expires_at,
            directory=directory,
        )
        return served, payload

    def _reload(self, stamp: Stamp) -> None:
        # The stamp is remembered even when the new file is refused, so a bad
        # file is verified and reported once, not on every request.
        self._stamp = stamp
        try:
            # Never step back: an older version, or the same version with other
            # content, is how a rolled-back file would reinstate a retired key.
            loaded, payload = self._load(seen=self._current.seen)
        except DirectoryError as exc:
            log.error(
                "partner directory file refused, still serving version %d: %s", self.version, exc
            )
            return
        # Served even if it cannot be recorded: a newer directory is how a
        # compromised key is retired, and keeping the old one would serve it.
        self._current = loaded
        self._remember(loaded, payload, fatal=False)
        log.info("serving partner directory version %d", self.version)

    def _recorded(self) -> SeenVersion | None:
        if self._state is None:
            return None
        try:
            # DirectoryError when the file is damaged: refused, never ignored.
            return self._state.load()
        except OSError as exc:
            raise DirectoryError(
                f"cannot read directory state {self._state.path}: {exc.strerror}"
            ) from None

    def _remember(self, served: ServedDocument, payload: bytes, *, fatal: bool) -> None:
        if self._state is None:
            return
        seen = served.seen
        try:
            self._state.store(seen.network_id, seen.version, payload)
        except OSError as exc:
            message = f"cannot record directory state {self._state.path}: {exc.strerror}"
            if fatal:
                raise DirectoryError(message) from None
            log.error("%s; serving version %d without recording it", message, seen.version)
