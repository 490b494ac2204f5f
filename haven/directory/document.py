"""Reading a signed directory document from disk: bounded, so a file is never trusted for its size."""

from __future__ import annotations

from pathlib import Path

from haven.directory.errors import DirectoryError
from haven.envelope import MAX_DOCUMENT_BYTES
from haven.files import FileTooLargeError, read_at_most

# A signed directory is a signed document; anything larger would be refused
# by verification anyway, so it is not read past this.
MAX_DIRECTORY_BYTES = MAX_DOCUMENT_BYTES


def read_directory_document(path: Path) -> bytes:
    """The bytes of the directory file at `path`, or DirectoryError naming the path and the limit.

    At most the limit and one byte more are read (haven.files.read_at_most):
    a named pipe or a file that grows while it is read cannot make a service
    or the CLI hold more than that in memory.
    """
    try:
        return read_at_most(path, MAX_DIRECTORY_BYTES)
    except OSError as exc:
        raise DirectoryError(f"cannot read the directory {path}: {exc.strerror or exc}") from None
    except FileTooLargeError:
        raise DirectoryError(
            f"the directory {path} is larger than {MAX_DIRECTORY_BYTES} bytes, "
            "the limit of a signed document"
        ) from None
