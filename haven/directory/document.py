"""Reading the directory and its pinned verify key from disk: bounded, so a file is never trusted for its size."""

from __future__ import annotations

from pathlib import Path

from haven.directory.errors import DirectoryError
from haven.envelope import MAX_DOCUMENT_BYTES, KeyFormatError, NetworkVerifyKey
from haven.files import FileTooLargeError, read_at_most

# A signed directory is a signed document; anything larger would be refused
# by verification anyway, so it is not read past this.
MAX_DIRECTORY_BYTES = MAX_DOCUMENT_BYTES
# A verify key file is one line of base64 (44 characters); room for a comment
# or CRLF, never a document.
MAX_VERIFY_KEY_BYTES = 4096


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


def read_network_verify_key(path: Path) -> NetworkVerifyKey:
    """The pinned network verify key in `path` (as `haven network create` writes it), or DirectoryError.

    Every directory a service or the CLI accepts is checked against this
    key, so a file that is not exactly one is refused, never half-read.
    """
    try:
        text = read_at_most(path, MAX_VERIFY_KEY_BYTES).decode("ascii")
        return NetworkVerifyKey.from_text(text)
    except OSError as exc:
        raise DirectoryError(
            f"cannot read the network verify key {path}: {exc.strerror or exc}"
        ) from None
    except FileTooLargeError:
        raise DirectoryError(
            f"the network verify key {path} is larger than {MAX_VERIFY_KEY_BYTES} bytes"
        ) from None
    except (UnicodeDecodeError, KeyFormatError):
        raise DirectoryError(
            f"{path} is not a network verify key (32 bytes in base64, "
            "as `haven network create` writes it)"
        ) from None
