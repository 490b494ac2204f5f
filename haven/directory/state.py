"""The newest directory version a client has accepted, kept to refuse rollbacks (haven/seen.py)."""

from __future__ import annotations

from pathlib import Path

from haven import seen
from haven.directory.errors import DirectoryError


class SeenVersion(seen.SeenVersion):
    kind = "directory"
    error = DirectoryError


class SeenVersionFile(seen.SeenVersionFile[SeenVersion]):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SeenVersion)
