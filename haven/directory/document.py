"""Reading a signed directory document from disk: bounded, so a file is never trusted for its size."""

from __future__ import annotations

from pathlib import Path

from haven.directory.errors import DirectoryError
from haven.envelope import MAX_DOCUMENT_BYTES

# A signed directory is a signed document; anything larger would be refused
# by verification anyway, so it is not read past this.
MAX_DIRECTORY_BYTES = MAX_DOCUMENT_BYTES


def read_directory_document(path: Path) -> bytes:
    """The bytes of the directory file at `path`, or DirectoryError naming the path and the limit.

    At most the limit and one byte more are read: a named pipe, a device, or
    a file that grows while it is read cannot make a service or the CLI
    hold more than that in memory (a size from stat() says nothing of those).
    """
    try:
        with path.open("rb") as handle:
            document = handle.read(MAX_DIRECTORY_BYTES + 1)
    except OSError as exc:
        raise DirectoryError(f"cannot read the directory {path}: {exc.strerror or exc}") from None
    if len(document) > MAX_DIRECTORY_BYTES:
        raise DirectoryError(
            f"the directory {path} is larger than {MAX_DIRECTORY_BYTES} bytes, "
            "the limit of a signed document"
        )
    return document
