"""A partner's signing key reaches the directory through its public key file.

`haven keygen` writes the signing key next to the X-Wing public key and
prints both fingerprints; `haven directory add-partner` lists it and prints
what it listed; `haven public-key` makes the file again for an older key
(docs/directory.md, docs/partner-toolkit.md).
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import pytest

from haven.cli.common import now
from haven.cli.keyfiles import load_private_key
from haven.directory import read_directory_document, signing_keys, verify_directory
from haven.envelope import NetworkVerifyKey, PrivateKey
from haven.replies import signing_public_key
from tests.haven.cli.conftest import Haven, Result, assert_one_line_error


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def network(haven: Haven, passphrase_file: Path, tmp_path: Path) -> Path:
    pw = ("--passphrase-file", passphrase_file)
    created = haven(
        "network", "create", "--network-id", "haven-test", "--key", "net.key",
        "--verify-key", "net.pub", "--directory", "dir.json", *pw,
    )  # fmt: skip
    assert created.code == 0, created.err
    return tmp_path


def _add(haven: Haven, passphrase_file: Path, *public: str) -> Result:
    files = [arg for path in public for arg in ("--public-key", path)]
    return haven(
        "directory", "add-partner", "--directory", "dir.json", "--key", "net.key",
        "--passphrase-file", passphrase_file, "--id", "lawyers", "--name", "Lawyers",
        "--categories", "legal_aid", "--regions", "ru-central", "--languages", "ru",
        "--capacity", "10", *files,
    )  # fmt: skip


def _private(path: Path, passphrase_file: Path) -> PrivateKey:
    return load_private_key(path, argparse.Namespace(passphrase_file=passphrase_file))


def test_keygen_file_carries_the_signing_key_into_the_directory(
    haven: Haven, network: Path, passphrase_file: Path
) -> None:
    made = haven(
        "keygen", "--key", "l.key", "--public", "l.pub", "--passphrase-file", passphrase_file
    )
    assert made.code == 0, made.err
    private = _private(network / "l.key", passphrase_file)
    signing = signing_public_key(private)
    assert made.out.splitlines() == [f"kid {private.kid.hex()}", f"signing key {_b64(signing)}"]
    record = json.loads((network / "l.pub").read_text())
    assert list(record) == ["kid", "public_key", "signing_key"]
    assert record["signing_key"] == _b64(signing)

    added = _add(haven, passphrase_file, "l.pub")
    assert added.code == 0, added.err
    assert added.err == ""
    # What the publisher compares with what the partner read out.
    assert f"  kid {private.kid.hex()} signing key {_b64(signing)}" in added.out.splitlines()

    verify_key = NetworkVerifyKey.from_text((network / "net.pub").read_text())
    directory, _ = verify_directory(
        read_directory_document(network / "dir.json"), verify_key, now=now()
    )
    assert signing_keys(directory, "lawyers") == (signing,)
    listed = haven("directory", "verify", "--directory", "dir.json", "--network-key", "net.pub")
    assert "signing keys=1" in listed.out


def test_an_older_public_key_file_is_listed_with_a_warning_until_made_again(
    haven: Haven, network: Path, passphrase_file: Path
) -> None:
    pw = ("--passphrase-file", passphrase_file)
    assert haven("keygen", "--key", "l.key", "--public", "l.pub", *pw).code == 0
    record = json.loads((network / "l.pub").read_text())
    del record["signing_key"]
    (network / "old.pub").write_text(json.dumps(record))

    added = _add(haven, passphrase_file, "old.pub")
    assert added.code == 0
    assert "old.pub has no signing key" in added.err
    assert "haven public-key" in added.err
    listed = haven("directory", "verify", "--directory", "dir.json", "--network-key", "net.pub")
    assert "signing keys=0" in listed.out

    remade = haven("public-key", "--key", "l.key", "--public", "new.pub", *pw)
    assert remade.code == 0, remade.err
    assert (network / "new.pub").read_bytes() == (network / "l.pub").read_bytes()
    assert _add(haven, passphrase_file, "new.pub").err == ""
    listed = haven("directory", "verify", "--directory", "dir.json", "--network-key", "net.pub")
    assert "signing keys=1" in listed.out

    # It never overwrites without --force, and a wrong passphrase is one line.
    assert_one_line_error(
        haven("public-key", "--key", "l.key", "--public", "new.pub", *pw), "exists"
    )
    (network / "wrong").write_text("not the passphrase\n")
    assert_one_line_error(
        haven("public-key", "--key", "l.key", "--public", "x.pub", "--passphrase-file", "wrong"),
        "l.key",
    )
