"""The worker services' directory: verified from files, and the last good one kept on a failed reload."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from haven.broker import SettingsError
from haven.directory import DirectoryError, sign_directory
from haven.envelope import NetworkKey
from schemas.directory import Directory
from worker.directory import DirectoryFiles, reload_or_keep


def _files(tmp_path: Path, directory: Directory) -> DirectoryFiles:
    key = NetworkKey.generate()
    (tmp_path / "directory.json").write_bytes(sign_directory(directory, key))
    (tmp_path / "network.pub").write_text(key.verify_key.to_text() + "\n")
    return DirectoryFiles.from_env(
        {
            "HAVEN_DIRECTORY_FILE": str(tmp_path / "directory.json"),
            "HAVEN_NETWORK_VERIFY_KEY_FILE": str(tmp_path / "network.pub"),
            "HAVEN_DIRECTORY_STATE": str(tmp_path / "seen.json"),
        }
    )


def test_files_load_a_verified_directory_and_record_its_version(
    tmp_path: Path, directory: Directory
) -> None:
    files = _files(tmp_path, directory)
    assert files.load().version == directory.version
    assert (tmp_path / "seen.json").exists()


def test_files_must_be_named() -> None:
    with pytest.raises(SettingsError, match="HAVEN_DIRECTORY_FILE"):
        DirectoryFiles.from_env({"HAVEN_DIRECTORY_FILE": "directory.json"})


def test_a_directory_that_does_not_verify_is_refused(tmp_path: Path, directory: Directory) -> None:
    files = _files(tmp_path, directory)
    (tmp_path / "network.pub").write_text(NetworkKey.generate().verify_key.to_text() + "\n")
    with pytest.raises(DirectoryError):
        files.load()


def test_a_failed_reload_keeps_the_last_verified_directory(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Directory:
        raise DirectoryError("the directory directory.json is larger than 4194304 bytes")

    with caplog.at_level(logging.WARNING, logger="worker"):
        assert reload_or_keep(broken, directory) is directory
    assert f"keeping version {directory.version}" in caplog.text


def test_a_successful_reload_replaces_it(tmp_path: Path, directory: Directory) -> None:
    files = _files(tmp_path, directory)
    stale = files.load()
    fresh = reload_or_keep(files.load, stale)
    assert fresh is not stale and fresh == stale
