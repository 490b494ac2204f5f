"""The intake's site manifest file: a new signed version is served once written, a bad one never."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from haven.envelope import NetworkKey
from haven.site import PageRequest, SignedPage, SiteError, SiteManifest, sign_site_manifest
from intake.site_manifest_file import SiteManifestFile

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def manifest(version: int) -> SiteManifest:
    page = SignedPage(PageRequest("GET", "/"), "default-src 'none'", ())
    return SiteManifest("haven-test", version, NOW, NOW + timedelta(days=14), (page,), ())


def write(path: Path, document: bytes, *, stamp: int) -> None:
    path.write_bytes(document)
    # A distinct mtime per write: the file's change is what the intake looks for.
    os.utime(path, ns=(stamp, stamp))


def test_a_new_version_is_served_and_a_bad_file_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = NetworkKey.generate()
    path = tmp_path / "site-manifest.json"
    first = sign_site_manifest(manifest(1), key)
    write(path, first, stamp=1_000_000_000)
    served = SiteManifestFile(path, key.verify_key, clock=NOW.timestamp)
    assert (served.current(), served.version) == (first, 1)

    second = sign_site_manifest(manifest(2), key)
    write(path, second, stamp=2_000_000_000)
    assert (served.current(), served.version) == (second, 2)

    # Signed by another key: refused, logged once, the last good one still served.
    write(path, sign_site_manifest(manifest(3), NetworkKey.generate()), stamp=3_000_000_000)
    with caplog.at_level(logging.ERROR, logger="intake.site_manifest_file"):
        assert served.current() == second
        assert served.current() == second
    assert len(caplog.records) == 1
    assert "still serving version 2" in caplog.records[0].getMessage()


def test_a_manifest_of_another_key_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "site-manifest.json"
    write(path, sign_site_manifest(manifest(1), NetworkKey.generate()), stamp=1_000_000_000)
    with pytest.raises(SiteError, match="site manifest refused"):
        SiteManifestFile(path, NetworkKey.generate().verify_key, clock=NOW.timestamp)
