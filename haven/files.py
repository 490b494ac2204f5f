"""Replacing a file whole or not at all: the one way Haven writes keys, state and inbox files.

The bytes go to a fresh temporary file beside the target (O_EXCL, never
through a planted symlink), get their mode before any byte is written,
are fsynced, and replace the target with one rename; the directory is then
fsynced so the rename itself survives a crash. A replaced file never keeps
the old one's looser mode, and a crash never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` to `path` whole, or leave `path` as it was. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
