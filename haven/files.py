"""Haven's two file primitives: writing a file whole or not at all, and reading one boundedly.

Writing (`replace_atomically`), the one way Haven writes keys, state and
inbox files: the bytes go to a fresh temporary file beside the target (O_EXCL, never
through a planted symlink), get their mode before any byte is written,
are fsynced, and replace the target with one rename; the directory is then
fsynced so the rename itself survives a crash. A replaced file never keeps
the old one's looser mode, and a crash never leaves half a file.

Reading (`read_at_most`): never more than the caller's limit and one byte,
whatever the path is (a named pipe, a device, a file still growing);
its size from stat() is not trusted. `read_setting_file` is that read for
a file a setting names (a password, a key, a secret), with the one wording
every setting uses when the file cannot be used.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
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


class FileTooLargeError(Exception):
    """The file holds more than the caller's limit; nothing past limit + 1 bytes was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


def read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of `path`, if there are at most `limit`. Raises OSError or FileTooLargeError."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(limit)
    return data


class SettingFileError(ValueError):
    """A file named by a setting cannot be read; the message names the variable and the path."""


def read_setting_file(
    variable: str,
    path: Path,
    limit: int,
    *,
    error: Callable[[str], Exception] = SettingFileError,
) -> bytes:
    """The bytes of the file `variable` names, at most `limit`; else `error` with a one-line reason.

    The reason names the variable, the path and what went wrong, never a
    byte of the file: these files hold passwords and keys.
    """
    try:
        return read_at_most(path, limit)
    except FileTooLargeError as exc:
        raise error(f"{variable}: {path} is {exc}") from None
    except OSError as exc:
        raise error(f"{variable}: cannot read {path}: {exc.strerror}") from None
