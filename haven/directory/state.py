"""The newest directory version a client has accepted, kept to refuse rollbacks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from haven.directory.errors import DirectoryError
from haven.files import replace_atomically


@dataclass(frozen=True)
class SeenVersion:
    network_id: str
    version: int
    payload_sha256: str

    def check(self, network_id: str, version: int, payload: bytes) -> None:
        if network_id != self.network_id:
            raise DirectoryError(
                f"directory is for network {network_id!r}, not {self.network_id!r}"
            )
        if version < self.version:
            raise DirectoryError(
                f"directory version {version} is older than version {self.version} already seen"
            )
        # Same version, other content: the publisher (or its key) signed two
        # different directories under one number. Refuse rather than pick one.
        digest = hashlib.sha256(payload).hexdigest()
        if version == self.version and digest != self.payload_sha256:
            raise DirectoryError(
                f"directory version {version} differs from the version {version} already seen"
            )


class SeenVersionFile:
    """A small JSON file holding the last accepted version."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> SeenVersion | None:
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
            raise DirectoryError(f"directory state file {self.path} is damaged") from None
        # Exact types: a state file that says "5" or 5.9 has been tampered with.
        if (
            type(version) is not int
            or not isinstance(network_id, str)
            or not isinstance(digest, str)
        ):
            raise DirectoryError(f"directory state file {self.path} is damaged")
        return SeenVersion(network_id, version, digest)

    def store(self, network_id: str, version: int, payload: bytes) -> None:
        record = {
            "network_id": network_id,
            "version": version,
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        # Atomic replace: a crash mid-write must not erase the rollback guard.
        replace_atomically(self.path, json.dumps(record).encode("utf-8"))
