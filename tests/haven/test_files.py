"""Haven's bounded read: a file is never read past its caller's limit and one byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.files import FileTooLargeError, read_at_most


def test_up_to_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert read_at_most(path, 3) == b"abc"
    assert read_at_most(path, 4) == b"abc"


def test_one_byte_more_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abcd")
    with pytest.raises(FileTooLargeError, match="larger than 3 bytes") as raised:
        read_at_most(path, 3)
    assert raised.value.limit == 3


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_at_most(tmp_path / "absent", 3)
