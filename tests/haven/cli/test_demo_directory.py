"""The demo network lists each partner's signing key, so its replies can be checked.

Runs `haven demo` without `--serve`: keys, the signed directory and the
sealed example (answered through Haven), no broker (tests/haven/cli/test_demo.py runs the whole demo on the broker).
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

from haven.cli.common import now
from haven.cli.keyfiles import load_private_key
from haven.directory import read_directory_document, signing_keys, verify_directory
from haven.envelope import NetworkVerifyKey, open_envelope
from haven.replies import derive, format_code, parse, signing_public_key
from tests.haven.cli.conftest import Haven
from tests.haven.cli.test_demo import DEMO_PARTNERS


def _listed(demo: Path) -> dict[str, tuple[bytes, ...]]:
    verify_key = NetworkVerifyKey.from_text((demo / "network.pub").read_text())
    directory, _ = verify_directory(
        read_directory_document(demo / "directory.json"), verify_key, now=now()
    )
    return {partner: signing_keys(directory, partner) for partner in DEMO_PARTNERS}


def _derived(demo: Path) -> dict[str, tuple[bytes, ...]]:
    args = argparse.Namespace(passphrase_file=demo / "DEMO-ONLY-passphrase")
    return {
        partner: (signing_public_key(load_private_key(demo / f"{partner}.key", args)),)
        for partner in DEMO_PARTNERS
    }


def test_demo_directory_lists_the_signing_key_of_every_partner(
    haven: Haven, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    done = haven("demo", "--dir", demo)
    assert done.code == 0, done.err
    assert _listed(demo) == _derived(demo)

    # A demo network made before replies: one partner's file and entry lack
    # the signing key. Running the demo again lists it.
    partner = DEMO_PARTNERS[0]
    record = json.loads((demo / f"{partner}.pub").read_text())
    del record["signing_key"]
    (demo / f"{partner}.pub").write_text(json.dumps(record))
    readd = haven(
        "directory", "add-partner", "--directory", demo / "directory.json",
        "--key", demo / "network.key", "--passphrase-file", demo / "DEMO-ONLY-passphrase",
        "--id", partner, "--name", "Old", "--categories", "evacuation", "--regions", "ru-central",
        "--languages", "ru", "--capacity", "5", "--public-key", demo / f"{partner}.pub",
    )  # fmt: skip
    assert readd.code == 0, readd.err
    assert _listed(demo)[partner] == ()

    again = haven("demo", "--dir", demo)
    assert again.code == 0, again.err
    assert f"Listing the signing key of demo partner {partner}" in again.out
    assert _listed(demo) == _derived(demo)


def _opened_content(demo: Path, partner: str) -> dict[str, object]:
    args = argparse.Namespace(passphrase_file=demo / "DEMO-ONLY-passphrase")
    key = load_private_key(demo / f"{partner}.key", args)
    opened = open_envelope((demo / "example-request.env").read_bytes(), [key])
    document: dict[str, object] = json.loads(opened.content)
    return document


def test_the_demo_request_is_answered_through_haven_with_a_private_receipt_code(
    haven: Haven, tmp_path: Path
) -> None:
    """Out of the box the demo shows the way back: its example asks for replies through Haven."""
    demo = tmp_path / "demo"
    done = haven("demo", "--dir", demo)
    assert done.code == 0, done.err
    code_file = demo / "DEMO-ONLY-receipt-code"
    assert code_file.stat().st_mode & 0o777 == 0o600
    code = parse(code_file.read_text(encoding="utf-8"))
    assert code.language == "ru"  # the example's language
    assert format_code(code) not in done.out  # in the file, not on the screen
    for partner in DEMO_PARTNERS:
        content = _opened_content(demo, partner)
        fields = content["fields"]
        assert isinstance(fields, dict)
        assert fields["contact_channel"] == "haven_reply"
        assert "contact_handle" not in fields
        # The reply keys of exactly this code travel inside the request.
        assert content["mailbox_id"] == base64.b64encode(derive(code).mailbox_id).decode()
    # `haven open` shows a partner that the answer goes through Haven, not the keys.
    assert done.out.count("replies: through Haven") == len(DEMO_PARTNERS)
    assert '"reply_key"' not in done.out

    # Run again: a new request, so a new code (the old one is not kept beside it).
    again = haven("demo", "--dir", demo)
    assert again.code == 0, again.err
    assert parse(code_file.read_text(encoding="utf-8")) != code
    assert code_file.stat().st_mode & 0o777 == 0o600
