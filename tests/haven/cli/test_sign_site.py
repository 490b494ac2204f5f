"""`haven network sign-site` walks the installed intake's pages quietly: only its one line of result."""

from __future__ import annotations

from pathlib import Path

from tests.haven.cli.conftest import Haven


def test_signing_the_site_says_what_it_signed_and_warns_of_nothing(
    haven: Haven, tmp_path: Path
) -> None:
    """The walk uses a scratch store; it must not read as a store failing (as in `make run`)."""
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("test-only passphrase: correct horse battery staple\n")
    pw = ("--passphrase-file", passphrase)
    created = haven(
        "network", "create", "--network-id", "haven-test", "--key", "network.key",
        "--verify-key", "network.pub", "--directory", "directory.json", *pw,
    )  # fmt: skip
    assert created.code == 0, created.err
    signed = haven(
        "network", "sign-site", "--key", "network.key", "--directory", "directory.json",
        "--out", "site-manifest.json", *pw,
    )  # fmt: skip
    assert signed.code == 0, signed.err
    assert signed.out.startswith("site manifest haven-test version 1: ")
    assert signed.err == ""
