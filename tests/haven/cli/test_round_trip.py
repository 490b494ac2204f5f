"""The CLI round trip of the foundation issue: two partners, one request, failures that say why."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from haven.envelope import inspect
from tests.haven.cli.conftest import EXAMPLES, Haven, assert_one_line_error


@pytest.fixture
def network(haven: Haven, passphrase_file: Path, tmp_path: Path) -> Path:
    pw = ("--passphrase-file", passphrase_file)
    assert (
        haven(
            "network",
            "create",
            "--network-id",
            "haven-test",
            "--key",
            "net.key",
            "--verify-key",
            "net.pub",
            "--directory",
            "dir.json",
            *pw,
        ).code
        == 0
    )
    for name in ("lawyers", "evacuators", "outsider"):
        result = haven("keygen", "--key", f"{name}.key", "--public", f"{name}.pub", *pw)
        assert result.code == 0, result.err
    for name, categories in (
        ("lawyers", "desertion,legal_aid"),
        ("evacuators", "desertion,evacuation"),
    ):
        result = haven(
            "directory", "add-partner", "--directory", "dir.json", "--key", "net.key", *pw,
            "--id", name, "--name", name.title(), "--categories", categories, "--regions", "ru-central,abroad-eu",
            "--languages", "ru,uk", "--capacity", "10", "--public-key", f"{name}.pub",
        )  # fmt: skip
        assert result.code == 0, result.err
    return tmp_path


def test_request_opens_identically_for_both_partners(
    haven: Haven, network: Path, passphrase_file: Path
) -> None:
    verified = haven("directory", "verify", "--directory", "dir.json", "--network-key", "net.pub")
    assert verified.code == 0, verified.err
    assert "version 3" in verified.out and "2 partners" in verified.out

    sealed = haven(
        "seal", EXAMPLES / "desertion.json", "--out", "req.env", "--region", "ru-central", "--language", "ru",
        "--urgency", "urgent", "--directory", "dir.json", "--network-key", "net.pub",
    )  # fmt: skip
    assert sealed.code == 0, sealed.err
    assert "sealed to 2 keys" in sealed.out

    opened = {}
    for name in ("lawyers", "evacuators"):
        result = haven(
            "open",
            "req.env",
            "--key",
            f"{name}.key",
            "--passphrase-file",
            passphrase_file,
            "--json",
        )
        assert result.code == 0, result.err
        opened[name] = json.loads(result.out)
    assert opened["lawyers"] == opened["evacuators"]
    assert opened["lawyers"]["content"] == json.loads((EXAMPLES / "desertion.json").read_text())
    assert opened["lawyers"]["routing"] == {
        "category": "desertion",
        "region": "ru-central",
        "language": "ru",
        "urgency": "urgent",
    }


def test_failures_are_one_clear_line(haven: Haven, network: Path, passphrase_file: Path) -> None:
    sealed = haven(
        "seal", EXAMPLES / "desertion.json", "--out", "req.env", "--region", "ru-central", "--language", "ru",
        "--urgency", "urgent", "--directory", "dir.json", "--network-key", "net.pub",
    )  # fmt: skip
    assert sealed.code == 0, sealed.err
    envelope = (network / "req.env").read_bytes()
    pw = ("--passphrase-file", passphrase_file)

    # A third key, not a recipient.
    assert_one_line_error(
        haven("open", "req.env", "--key", "outsider.key", *pw), "cannot be opened"
    )

    # One flipped byte in the body.
    flipped = bytearray(envelope)
    flipped[-100] ^= 0x01
    (network / "flipped.env").write_bytes(bytes(flipped))
    assert_one_line_error(
        haven("open", "flipped.env", "--key", "lawyers.key", *pw), "cannot be opened"
    )

    # The category relabelled by a server in the middle (same length, so the structure still parses).
    relabelled = envelope.replace(b"desertion", b"legal_aid", 1)
    assert inspect(relabelled).labels.category == "legal_aid"
    (network / "relabelled.env").write_bytes(relabelled)
    assert_one_line_error(
        haven("open", "relabelled.env", "--key", "lawyers.key", *pw), "cannot be opened"
    )

    # Wrong passphrase.
    wrong = network / "wrong"
    wrong.write_text("not the passphrase\n")
    assert_one_line_error(
        haven("open", "req.env", "--key", "lawyers.key", "--passphrase-file", wrong), "passphrase"
    )

    # Not an envelope at all.
    (network / "junk.env").write_bytes(b"HVN\x02" + bytes(6000))
    assert_one_line_error(haven("open", "junk.env", "--key", "lawyers.key", *pw), "version")


def test_seal_to_given_public_keys(haven: Haven, network: Path, passphrase_file: Path) -> None:
    content = (EXAMPLES / "desertion.json").read_bytes()
    sealed = haven(
        "seal",
        "-",
        "--out",
        "direct.env",
        "--region",
        "by",
        "--language",
        "uk",
        "--urgency",
        "normal",
        "--to",
        "outsider.pub",
        stdin=content,
    )
    assert sealed.code == 0, sealed.err
    opened = haven(
        "open",
        "direct.env",
        "--key",
        "outsider.key",
        "--passphrase-file",
        passphrase_file,
        "--json",
    )
    assert opened.code == 0, opened.err
    assert json.loads(opened.out)["routing"]["region"] == "by"
    assert_one_line_error(
        haven("open", "direct.env", "--key", "lawyers.key", "--passphrase-file", passphrase_file)
    )


def test_invalid_requests_are_refused_before_sealing(haven: Haven, network: Path) -> None:
    document = json.loads((EXAMPLES / "desertion.json").read_text())
    document["fields"]["unit_number"] = "CANARY-31337"
    (network / "bad.json").write_text(json.dumps(document))
    result = haven(
        "seal",
        "bad.json",
        "--out",
        "x.env",
        "--region",
        "ru-central",
        "--language",
        "ru",
        "--urgency",
        "urgent",
        "--to",
        "outsider.pub",
    )
    assert_one_line_error(result, "unit_number")
    assert "CANARY-31337" not in result.err
    assert not (network / "x.env").exists()

    result = haven(
        "seal",
        EXAMPLES / "desertion.json",
        "--out",
        "x.env",
        "--region",
        "moscow",
        "--language",
        "ru",
        "--urgency",
        "urgent",
        "--to",
        "outsider.pub",
    )
    assert_one_line_error(result, "--region")


def test_directory_problems_are_one_clear_line(
    haven: Haven, network: Path, passphrase_file: Path
) -> None:
    document = json.loads((network / "dir.json").read_text())
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[10] ^= 0x01
    document["signature"] = base64.b64encode(bytes(signature)).decode()
    (network / "tampered.json").write_text(json.dumps(document))
    assert_one_line_error(
        haven("directory", "verify", "--directory", "tampered.json", "--network-key", "net.pub"),
        "does not verify",
    )

    pw = ("--passphrase-file", passphrase_file)
    assert (
        haven(
            "network",
            "create",
            "--network-id",
            "fake",
            "--key",
            "fake.key",
            "--verify-key",
            "fake.pub",
            "--directory",
            "fake.json",
            *pw,
        ).code
        == 0
    )
    assert_one_line_error(
        haven("directory", "verify", "--directory", "fake.json", "--network-key", "net.pub"),
        "pinned network key",
    )

    assert (
        haven(
            "directory",
            "verify",
            "--directory",
            "dir.json",
            "--network-key",
            "net.pub",
            "--state",
            "seen.json",
        ).code
        == 0
    )
    (network / "old.json").write_bytes((network / "dir.json").read_bytes())
    assert (
        haven(
            "directory",
            "remove-partner",
            "--directory",
            "dir.json",
            "--key",
            "net.key",
            *pw,
            "--id",
            "evacuators",
        ).code
        == 0
    )
    assert (
        haven(
            "directory",
            "verify",
            "--directory",
            "dir.json",
            "--network-key",
            "net.pub",
            "--state",
            "seen.json",
        ).code
        == 0
    )
    assert_one_line_error(
        haven(
            "directory",
            "verify",
            "--directory",
            "old.json",
            "--network-key",
            "net.pub",
            "--state",
            "seen.json",
        ),
        "older than version 4",
    )

    assert_one_line_error(
        haven("directory", "verify", "--directory", "missing.json", "--network-key", "net.pub"),
        "missing.json",
    )


def test_private_key_files_are_private_and_never_overwritten(
    haven: Haven, network: Path, passphrase_file: Path
) -> None:
    assert stat.S_IMODE((network / "lawyers.key").stat().st_mode) == 0o600
    before = (network / "lawyers.key").read_bytes()
    result = haven(
        "keygen",
        "--key",
        "lawyers.key",
        "--public",
        "lawyers2.pub",
        "--passphrase-file",
        passphrase_file,
    )
    assert_one_line_error(result, "exists")
    assert (network / "lawyers.key").read_bytes() == before


def test_no_passphrase_without_a_terminal(haven: Haven, tmp_path: Path) -> None:
    assert_one_line_error(haven("keygen", "--key", "a.key", "--public", "a.pub"), "passphrase")


def test_a_passphrase_file_that_never_ends_is_refused_at_the_bound(
    haven: Haven, tmp_path: Path
) -> None:
    # /dev/zero has no size to check first: only a bounded read stops it.
    result = haven(
        "keygen", "--key", "k.key", "--public", "k.pub", "--passphrase-file", "/dev/zero"
    )
    assert_one_line_error(result, "passphrase file /dev/zero is larger than 4096 bytes")
    assert not (tmp_path / "k.key").exists()
