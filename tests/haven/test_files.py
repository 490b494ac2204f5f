"""Haven's bounded read: a file is never read past its caller's limit and one byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.files import FileTooLargeError, SettingFileError, read_at_most, read_setting_file


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


def test_a_file_a_setting_names_is_refused_in_one_wording_that_shows_none_of_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"hunter2!")
    assert read_setting_file("HAVEN_X_FILE", path, 8) == b"hunter2!"
    with pytest.raises(SettingFileError) as raised:
        read_setting_file("HAVEN_X_FILE", path, 7)
    assert str(raised.value) == f"HAVEN_X_FILE: {path} is larger than 7 bytes"
    with pytest.raises(SettingFileError) as raised:
        read_setting_file("HAVEN_X_FILE", tmp_path / "absent", 7)
    assert str(raised.value) == (
        f"HAVEN_X_FILE: cannot read {tmp_path / 'absent'}: No such file or directory"
    )
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_each_setting_raises_its_own_error_type(tmp_path: Path) -> None:
    class OwnError(Exception):
        pass

    with pytest.raises(OwnError, match=r"^HAVEN_X_FILE: cannot read .*: Is a directory$"):
        read_setting_file("HAVEN_X_FILE", tmp_path, 7, error=OwnError)
