"""The signed site manifest as the intake serves it (docs/site-integrity.md).

The intake checks the file against the pinned network key before serving
it, so an operator who installs a manifest of another network, or a
damaged one, finds out at start instead of every watcher reporting it.
An expired manifest is still served: the watchers' check says it expired,
which is the publisher's cue to sign a new one. The intake cannot vouch for
its own code; whoever checks the site does that, against the signature.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from haven.envelope import MAX_DOCUMENT_BYTES, NetworkVerifyKey
from haven.files import FileTooLargeError, read_at_most
from haven.site import SiteError, verify_site_manifest

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int] | None


class SiteManifestFile:
    """The manifest file, re-verified whenever it changes on disk (one stat per request for it)."""

    def __init__(self, path: Path, pinned: NetworkVerifyKey, *, clock: Callable[[], float]) -> None:
        self._path = path
        self._pinned = pinned
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = self._stat()
        # Raises SiteError: the intake does not start on a manifest it could not serve.
        self._document, self.version = self._load()

    def current(self) -> bytes:
        """The newest verified manifest document, byte for byte as signed."""
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self._document

    def _stat(self) -> Stamp:
        try:
            info = os.stat(self._path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _load(self) -> tuple[bytes, int]:
        try:
            document = read_at_most(self._path, MAX_DOCUMENT_BYTES)
        except OSError as exc:
            raise SiteError(f"cannot read the site manifest {self._path}: {exc.strerror}") from None
        except FileTooLargeError:
            raise SiteError(
                f"the site manifest {self._path} is larger than {MAX_DOCUMENT_BYTES} bytes"
            ) from None
        now = datetime.fromtimestamp(self._clock(), UTC)
        manifest = verify_site_manifest(document, self._pinned, now=now, allow_expired=True)
        return document, manifest.version

    def _reload(self, stamp: Stamp) -> None:
        # Remembered even when refused: a bad file is reported once, not per request.
        self._stamp = stamp
        try:
            self._document, self.version = self._load()
        except SiteError as exc:
            log.error("site manifest file refused, still serving version %d: %s", self.version, exc)
            return
        log.info("serving site manifest version %d", self.version)
