"""The demo network lists each partner's signing key, so its replies can be checked.

Runs `haven demo` without `--serve`: keys and the signed directory only, no
broker (tests/haven/cli/test_demo.py runs the whole demo on the broker).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from haven.cli.common import now
from haven.cli.keyfiles import load_private_key
from haven.directory import read_directory_document, signing_keys, verify_directory
from haven.envelope import NetworkVerifyKey
from haven.replies import signing_public_key
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
