"""GET /v1/directory: the verified document as stored, cacheable, re-verified when the file changes."""

from __future__ import annotations

import hashlib
import logging
import os

import pytest
from flask.testing import FlaskClient

from haven.envelope import NetworkKey
from tests.intake.conftest import FakeClock, NetworkFiles, signed_directory

pytestmark = pytest.mark.broker


def replace(files: NetworkFiles, document: bytes) -> None:
    # Atomic, as a publisher deploys it; the new inode is a change even
    # within one mtime tick.
    tmp = files.directory_file.with_suffix(".tmp")
    tmp.write_bytes(document)
    os.replace(tmp, files.directory_file)


def test_served_byte_for_byte_and_cacheable(client: FlaskClient, files: NetworkFiles) -> None:
    response = client.get("/v1/directory")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == files.directory_file.read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"] == '"' + hashlib.sha256(response.data).hexdigest() + '"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get("/v1/directory", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]


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
    with caplog.at_level(logging.ERROR, logger="haven.intake"):
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
    assert client.get("/readyz").status_code == 503
