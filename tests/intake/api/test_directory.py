"""GET /v1/directory: the verified document as stored, never cached, re-verified when the file changes.

With HAVEN_DIRECTORY_STATE the newest version served is recorded, so a
rolled-back file is refused after a restart too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from haven.broker import ConfirmedPublisher
from haven.directory import DirectoryError
from haven.envelope import NetworkKey
from intake import IntakeSettings, create_app
from tests.intake.conftest import FakeClock, NetworkFiles, ops_of, signed_directory

pytestmark = pytest.mark.broker


def replace(files: NetworkFiles, document: bytes) -> None:
    # Atomic, as a publisher deploys it; the new inode is a change even
    # within one mtime tick.
    tmp = files.directory_file.with_suffix(".tmp")
    tmp.write_bytes(document)
    os.replace(tmp, files.directory_file)


def test_served_byte_for_byte_and_never_stored(client: FlaskClient, files: NetworkFiles) -> None:
    response = client.get("/v1/directory")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == files.directory_file.read_bytes()
    # A cached copy on a searched phone shows its owner contacted the network.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["ETag"] == '"' + hashlib.sha256(response.data).hexdigest() + '"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get("/v1/directory", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]
    assert again.headers["Cache-Control"] == "no-store"


def test_newer_version_is_served_once_the_file_changes(
    client: FlaskClient, files: NetworkFiles
) -> None:
    before = client.get("/v1/directory").data
    newer = signed_directory(files.network_key, files.partners, versions=2)
    replace(files, newer)
    assert client.get("/v1/directory").data == newer != before


@pytest.mark.parametrize("kind", ["forged", "rolled back", "damaged", "missing"])
def test_bad_new_file_is_refused_and_the_last_good_one_served(
    client: FlaskClient, files: NetworkFiles, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    current = signed_directory(files.network_key, files.partners, versions=2)
    replace(files, current)
    assert client.get("/v1/directory").data == current
    if kind == "forged":
        replace(files, signed_directory(NetworkKey.generate(), files.partners, versions=3))
    elif kind == "rolled back":
        replace(files, signed_directory(files.network_key, files.partners, versions=1))
    elif kind == "damaged":
        replace(files, current[:-10])
    else:
        files.directory_file.unlink()
    with caplog.at_level(logging.ERROR, logger="intake"):
        assert client.get("/v1/directory").data == current
        assert client.get("/v1/directory").data == current
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1  # reported once, not on every request
    assert "still serving version 4" in refusals[0].getMessage()  # two partners, then one change


def test_expired_directory_is_not_served(client: FlaskClient, clock: FakeClock) -> None:
    clock.advance(15 * 24 * 3600)
    response = client.get("/v1/directory")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "directory_expired"
    assert response.headers["Retry-After"] == "300"
    assert ops_of(client).get("/readyz").status_code == 503


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "seen-directory-intake.json"


def test_rollback_is_refused_after_a_restart(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    files: NetworkFiles,
    state_file: Path,
) -> None:
    settings = make_settings(directory_state=state_file)
    replace(files, signed_directory(files.network_key, files.partners, versions=2))
    create_app(settings, publisher=publisher)
    assert json.loads(state_file.read_text())["version"] == 4
    # An older, validly signed file put back while the intake was down.
    replace(files, signed_directory(files.network_key, files.partners, versions=1))
    with pytest.raises(DirectoryError, match="older than version 4"):
        create_app(settings, publisher=publisher)


def test_a_version_taken_while_running_is_recorded(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    files: NetworkFiles,
    state_file: Path,
) -> None:
    settings = make_settings(directory_state=state_file)
    older = files.directory_file.read_bytes()
    client = create_app(settings, publisher=publisher).test_client()
    newer = signed_directory(files.network_key, files.partners, versions=2)
    replace(files, newer)
    assert client.get("/v1/directory").data == newer
    replace(files, older)
    with pytest.raises(DirectoryError, match="older than version 4"):
        create_app(settings, publisher=publisher)


def test_without_a_state_file_only_the_running_process_remembers(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    files: NetworkFiles,
) -> None:
    # The documented limit of running without HAVEN_DIRECTORY_STATE: the
    # rollback guard lives in the running process alone. While it runs, an
    # older signed file (one that may still list a retired, seized key) is
    # refused; a restart forgets what was served and takes the older file.
    settings = make_settings()
    assert settings.directory_state is None
    newer = signed_directory(files.network_key, files.partners, versions=2)
    older = signed_directory(files.network_key, files.partners, versions=1)
    replace(files, newer)
    running = create_app(settings, publisher=publisher).test_client()
    assert running.get("/v1/directory").data == newer
    replace(files, older)
    assert running.get("/v1/directory").data == newer
    restarted = create_app(settings, publisher=publisher).test_client()
    assert restarted.get("/v1/directory").data == older


@pytest.mark.parametrize("kind", ["damaged", "unusable"])
def test_a_bad_state_file_stops_the_start(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    files: NetworkFiles,
    state_file: Path,
    kind: str,
) -> None:
    if kind == "damaged":
        state_file.parent.mkdir()
        state_file.write_text('{"network_id": "haven-test", "version": "9"}')
    else:
        state_file = files.directory_file / "state.json"  # under a file: no such directory
    with pytest.raises(DirectoryError, match="directory state"):
        create_app(make_settings(directory_state=state_file), publisher=publisher)
