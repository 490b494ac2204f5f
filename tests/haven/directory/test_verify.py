"""A directory is accepted only if signed, well formed, current and not older than the last one seen."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from haven.directory import (
    DirectoryError,
    SeenVersionFile,
    accept_directory,
    key_entry,
    payload_bytes,
    sign_directory,
    verify_directory,
    with_partner,
)
from haven.envelope import NetworkKey, PrivateKey, sign_document
from schemas.directory import Directory
from tests.haven.directory.conftest import NOW, partner_entry


def test_signed_directory_verifies(directory: Directory, network_key: NetworkKey) -> None:
    verified, payload = verify_directory(
        sign_directory(directory, network_key), network_key.verify_key, now=NOW
    )
    assert verified == directory
    assert payload == payload_bytes(directory)
    assert [p.id for p in verified.partners] == ["lawyers", "evacuators", "georgia"]


def test_unsigned_directory_is_refused(directory: Directory, network_key: NetworkKey) -> None:
    with pytest.raises(DirectoryError, match="not a signed document"):
        verify_directory(payload_bytes(directory), network_key.verify_key, now=NOW)


def test_directory_signed_by_another_key_is_refused(directory: Directory) -> None:
    impostor = NetworkKey.generate()
    with pytest.raises(DirectoryError, match="pinned network key"):
        verify_directory(
            sign_directory(directory, impostor), NetworkKey.generate().verify_key, now=NOW
        )


def test_tampered_directory_is_refused(directory: Directory, network_key: NetworkKey) -> None:
    document = json.loads(sign_directory(directory, network_key))
    payload = json.loads(base64.b64decode(document["payload"]))
    attacker = PrivateKey.generate().public_key
    payload["partners"][0]["keys"][0] = key_entry(attacker)
    document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(DirectoryError, match="does not verify"):
        verify_directory(json.dumps(document).encode(), network_key.verify_key, now=NOW)


def test_expired_directory_is_refused(directory: Directory, network_key: NetworkKey) -> None:
    document = sign_directory(directory, network_key)
    with pytest.raises(DirectoryError, match="expired at"):
        verify_directory(document, network_key.verify_key, now=directory.expires_at)
    verify_directory(
        document, network_key.verify_key, now=directory.expires_at - timedelta(seconds=1)
    )


def test_directory_from_the_future_is_refused(
    directory: Directory, network_key: NetworkKey
) -> None:
    with pytest.raises(DirectoryError, match="in the future"):
        verify_directory(
            sign_directory(directory, network_key),
            network_key.verify_key,
            now=NOW - timedelta(hours=1),
        )


def test_kid_that_is_not_the_hash_of_the_key_is_refused(network_key: NetworkKey) -> None:
    key, other = PrivateKey.generate(), PrivateKey.generate()
    entry = partner_entry("liars", key)
    entry["keys"][0]["kid"] = other.public_key.kid_hex
    payload = {
        "network_id": "haven-test",
        "version": 2,
        "issued_at": "2026-11-27T12:00:00Z",
        "expires_at": "2026-12-27T12:00:00Z",
        "partners": [entry],
    }
    document = sign_document(json.dumps(payload).encode(), network_key, purpose="directory")
    with pytest.raises(DirectoryError, match="kid does not match"):
        verify_directory(document, network_key.verify_key, now=NOW)


def test_a_signing_key_of_small_order_is_refused(network_key: NetworkKey) -> None:
    # Under the neutral element, signatures anyone can make verify in OpenSSL:
    # a directory listing it would let everyone write to requesters as "liars".
    key = PrivateKey.generate()
    entry = partner_entry("liars", key)
    entry["keys"][0]["signing_key"] = base64.b64encode(b"\x01" + bytes(31)).decode()
    payload = {
        "network_id": "haven-test",
        "version": 2,
        "issued_at": "2026-11-27T12:00:00Z",
        "expires_at": "2026-12-27T12:00:00Z",
        "partners": [entry],
    }
    document = sign_document(json.dumps(payload).encode(), network_key, purpose="directory")
    with pytest.raises(DirectoryError, match="liars: signing_key is not a usable"):
        verify_directory(document, network_key.verify_key, now=NOW)


def test_malformed_payload_names_the_field(network_key: NetworkKey) -> None:
    payload = {
        "network_id": "haven-test",
        "version": 0,
        "issued_at": "x",
        "expires_at": "y",
        "partners": [],
    }
    document = sign_document(json.dumps(payload).encode(), network_key, purpose="directory")
    with pytest.raises(DirectoryError, match=r"malformed.*version"):
        verify_directory(document, network_key.verify_key, now=NOW)


def test_rollback_is_refused(
    directory: Directory,
    network_key: NetworkKey,
    partner_keys: dict[str, PrivateKey],
    tmp_path: Path,
) -> None:
    state = SeenVersionFile(tmp_path / "seen.json")
    older = sign_directory(directory, network_key)
    newer_directory = with_partner(
        directory, partner_entry("newcomers", PrivateKey.generate()), now=NOW
    )
    newer = sign_directory(newer_directory, network_key)
    assert (
        accept_directory(older, network_key.verify_key, now=NOW, state=state).version
        == directory.version
    )
    assert (
        accept_directory(newer, network_key.verify_key, now=NOW, state=state).version
        == directory.version + 1
    )
    with pytest.raises(DirectoryError, match=f"older than version {directory.version + 1}"):
        accept_directory(older, network_key.verify_key, now=NOW, state=state)
    # The same version accepted again is fine (clients re-fetch).
    accept_directory(newer, network_key.verify_key, now=NOW, state=state)


def test_two_different_directories_under_one_version_are_refused(
    directory: Directory, network_key: NetworkKey, tmp_path: Path
) -> None:
    state = SeenVersionFile(tmp_path / "seen.json")
    one = with_partner(directory, partner_entry("one", PrivateKey.generate()), now=NOW)
    two = with_partner(directory, partner_entry("two", PrivateKey.generate()), now=NOW)
    assert one.version == two.version
    accept_directory(sign_directory(one, network_key), network_key.verify_key, now=NOW, state=state)
    with pytest.raises(DirectoryError, match="differs from the version"):
        accept_directory(
            sign_directory(two, network_key), network_key.verify_key, now=NOW, state=state
        )


def test_directory_of_another_network_is_refused(
    directory: Directory, network_key: NetworkKey, tmp_path: Path
) -> None:
    state = SeenVersionFile(tmp_path / "seen.json")
    state.store("other-network", 1, b"{}")
    with pytest.raises(DirectoryError, match="not 'other-network'"):
        accept_directory(
            sign_directory(directory, network_key), network_key.verify_key, now=NOW, state=state
        )


def test_damaged_state_file_is_an_error_not_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "seen.json"
    path.write_text("{not json")
    with pytest.raises(DirectoryError, match="damaged"):
        SeenVersionFile(path).load()


def test_directory_valid_for_too_long_is_refused(network_key: NetworkKey) -> None:
    payload = {
        "network_id": "haven-test",
        "version": 1,
        "issued_at": "2026-11-27T12:00:00Z",
        "expires_at": "2027-11-27T12:00:00Z",
        "partners": [],
    }
    document = sign_document(json.dumps(payload).encode(), network_key, purpose="directory")
    with pytest.raises(DirectoryError, match="more than 31 days"):
        verify_directory(document, network_key.verify_key, now=NOW)


def test_only_the_publisher_may_read_an_expired_directory(
    directory: Directory, network_key: NetworkKey
) -> None:
    document = sign_document(payload_bytes(directory), network_key, purpose="directory")
    later = directory.expires_at + timedelta(days=1)
    with pytest.raises(DirectoryError, match="expired"):
        verify_directory(document, network_key.verify_key, now=later)
    renewed, _ = verify_directory(document, network_key.verify_key, now=later, allow_expired=True)
    assert renewed == directory


def test_duplicate_json_keys_in_the_payload_are_refused(network_key: NetworkKey) -> None:
    payload = b'{"network_id": "haven-test", "network_id": "other", "version": 1, "issued_at": "2026-11-27T12:00:00Z", "expires_at": "2026-12-01T12:00:00Z", "partners": []}'
    document = sign_document(payload, network_key, purpose="directory")
    with pytest.raises(DirectoryError, match="duplicate key"):
        verify_directory(document, network_key.verify_key, now=NOW)
