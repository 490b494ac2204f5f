"""The newest version of a signed network document a client has accepted, kept to refuse rollbacks.

The network key signs two versioned documents, the partner directory and
the site manifest, and each stays valid for up to 31 days. Whoever holds an
older one can replay it while it is valid: an older directory that still
lists a retired partner key, an older manifest that vouches for an older
release with a known hole. Only a client that remembers what it has seen
can tell. Each kind of document keeps its own state file, through a small
subclass naming the document in messages and the error that refuses it
(haven/directory/state.py, haven/site/state.py). Both documents also live
under the same time bounds, kept here once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from haven.files import replace_atomically

# The time bounds of every document the network key signs. A publisher's
# clock may run a little ahead of a partner's laptop or a watcher's machine.
CLOCK_SKEW = timedelta(minutes=5)
# Browsers keep no state, so for them expiry is the only thing that retires
# a removed partner key or a manifest vouching for a release since found to
# leak: a signed document lives one month at most.
MAX_VALIDITY = timedelta(days=31)


@dataclass(frozen=True)
class SeenVersion:
    network_id: str
    version: int
    payload_sha256: str

    # Set by each kind of document: its name in messages, the error refusing it.
    kind: ClassVar[str]
    error: ClassVar[type[Exception]]

    def check(self, network_id: str, version: int, payload: bytes) -> None:
        if network_id != self.network_id:
            raise self.error(f"{self.kind} is for network {network_id!r}, not {self.network_id!r}")
        if version < self.version:
            raise self.error(
                f"{self.kind} version {version} is older than version {self.version} already seen"
            )
        # Same version, other content: the publisher (or its key) signed two
        # different documents under one number. Refuse rather than pick one.
        digest = hashlib.sha256(payload).hexdigest()
        if version == self.version and digest != self.payload_sha256:
            raise self.error(
                f"{self.kind} version {version} differs from the version {version} already seen"
            )


Seen = TypeVar("Seen", bound=SeenVersion)


class SeenVersionFile(Generic[Seen]):
    """A small JSON file holding the last accepted version. load() and store() raise OSError."""

    def __init__(self, path: Path, record: type[Seen]) -> None:
        self.path = path
        self._record = record

    def load(self) -> Seen | None:
        damaged = self._record.error(f"{self._record.kind} state file {self.path} is damaged")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            network_id, version, digest = (
                data["network_id"],
                data["version"],
                data["payload_sha256"],
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise damaged from None
        # Exact types: a state file that says "5" or 5.9 has been tampered with.
        if (
            type(version) is not int
            or not isinstance(network_id, str)
            or not isinstance(digest, str)
        ):
            raise damaged
        return self._record(network_id, version, digest)

    def store(self, network_id: str, version: int, payload: bytes) -> None:
        record = {
            "network_id": network_id,
            "version": version,
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        # Atomic replace: a crash mid-write must not erase the rollback guard.
        replace_atomically(self.path, json.dumps(record).encode("utf-8"))
