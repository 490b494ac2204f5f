"""Reading a directory file: bounded by the signed-document limit, whatever the file is."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from haven.directory import (
    MAX_DIRECTORY_BYTES,
    DirectoryError,
    read_directory_document,
    read_network_verify_key,
)
from haven.directory.document import MAX_VERIFY_KEY_BYTES
from haven.envelope import MAX_DOCUMENT_BYTES, NetworkKey


def test_the_limit_is_the_signed_document_limit() -> None:
    assert MAX_DIRECTORY_BYTES == MAX_DOCUMENT_BYTES


def test_a_file_up_to_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    path.write_bytes(b"x" * MAX_DIRECTORY_BYTES)
    assert len(read_directory_document(path)) == MAX_DIRECTORY_BYTES


def test_a_larger_file_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    path.write_bytes(b"x" * (MAX_DIRECTORY_BYTES + 1))
    with pytest.raises(DirectoryError, match=f"larger than {MAX_DIRECTORY_BYTES} bytes"):
        read_directory_document(path)


def test_a_missing_file_is_a_directory_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(DirectoryError, match="absent\\.json"):
        read_directory_document(path)


def test_an_endless_pipe_is_read_only_to_the_limit(tmp_path: Path) -> None:
    # A pipe has no size to check first: only a bounded read stops it.
    path = tmp_path / "directory.json"
    os.mkfifo(path)
    written = 0

    def flood() -> None:
        nonlocal written
        chunk = b"x" * 65536
        with path.open("wb", buffering=0) as pipe:
            try:
                while written < 4 * MAX_DIRECTORY_BYTES:
                    pipe.write(chunk)
                    written += len(chunk)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=flood, daemon=True)
    writer.start()
    with pytest.raises(DirectoryError, match=f"larger than {MAX_DIRECTORY_BYTES} bytes"):
        read_directory_document(path)
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert written < 2 * MAX_DIRECTORY_BYTES


def test_the_network_verify_key_file_is_read_back_as_written(tmp_path: Path) -> None:
    key = NetworkKey.generate().verify_key
    path = tmp_path / "network.pub"
    path.write_text(key.to_text() + "\n", encoding="ascii")
    assert read_network_verify_key(path).raw == key.raw


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not base64 at all", "is not a network verify key"),
        (b"\xff\xfe", "is not a network verify key"),
        (b"A" * (MAX_VERIFY_KEY_BYTES + 1), f"larger than {MAX_VERIFY_KEY_BYTES} bytes"),
    ],
)
def test_anything_else_in_the_verify_key_file_is_one_clear_refusal(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "network.pub"
    path.write_bytes(content)
    with pytest.raises(DirectoryError, match=says):
        read_network_verify_key(path)
