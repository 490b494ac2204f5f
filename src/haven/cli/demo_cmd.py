"""`haven demo`: a demo network on this machine, driven through the real commands.

It creates a network, two demo partners with real keys, a signed directory,
seals an example request to the partners of its category and opens it as
each of them. Passphrases are generated and kept beside the keys: that is
for a demo only, and the files say so.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from haven.cli.common import CliError, Commands, write_new

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "desertion.json"

PARTNERS = (
    (
        "demo-lawyers",
        "Demo: legal aid and deserters' support",
        "desertion,legal_aid,political_prisoner",
    ),
    ("demo-evacuation", "Demo: evacuation and documents", "desertion,evacuation,asylum"),
)
REGIONS = "ru-central,ru-northwest,ru-south,ru-volga,ru-urals,ru-siberia,ru-far-east,ua-occupied,by,undisclosed"


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="run a demo network on this machine",
        description="Create a demo network (network key, two demo partners, signed directory) and send one "
        "example request through it: sealed to the partners, opened by each.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".haven-demo"),
        help="where the demo keys live (default .haven-demo)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: main registers this module, and the demo drives the very
    # parser a person uses.
    from haven.cli.main import main  # noqa: PLC0415

    base: Path = args.dir
    passphrase = base / "DEMO-ONLY-passphrase"
    pw = ["--passphrase-file", str(passphrase)]
    if not (base / "directory.json").exists():
        print(f"Creating a demo network in {base}/")
        write_new(passphrase, secrets.token_urlsafe(24).encode() + b"\n", force=True, private=True)
        _step(main, ["network", "create", "--network-id", "haven-demo", "--key", str(base / "network.key"),
                     "--verify-key", str(base / "network.pub"), "--directory", str(base / "directory.json"), *pw])  # fmt: skip
        for partner_id, name, categories in PARTNERS:
            _step(
                main,
                [
                    "keygen",
                    "--key",
                    str(base / f"{partner_id}.key"),
                    "--public",
                    str(base / f"{partner_id}.pub"),
                    *pw,
                ],
            )
            _step(main, ["directory", "add-partner", "--directory", str(base / "directory.json"),
                         "--key", str(base / "network.key"), *pw, "--id", partner_id, "--name", name,
                         "--categories", categories, "--regions", REGIONS, "--languages", "ru,uk,en",
                         "--capacity", "50", "--public-key", str(base / f"{partner_id}.pub")])  # fmt: skip
    print("\nThe directory, verified against the pinned network key:")
    _step(main, ["directory", "verify", "--directory", str(base / "directory.json"), "--network-key", str(base / "network.pub"),
                 "--state", str(base / "seen-directory.json")])  # fmt: skip
    envelope = base / "example-request.env"
    print(f"\nA requester seals {EXAMPLE.name} to every partner serving its category:")
    _step(main, ["seal", str(EXAMPLE), "--out", str(envelope), "--force", "--region", "ru-volga", "--language", "ru",
                 "--urgency", "urgent", "--directory", str(base / "directory.json"), "--network-key", str(base / "network.pub")])  # fmt: skip
    for partner_id, _, _ in PARTNERS:
        print(f"\n{partner_id} opens it on its own machine:")
        _step(main, ["open", str(envelope), "--key", str(base / f"{partner_id}.key"), *pw])
    print("\nThe intake, broker and router join this demo as they are built.")
    return 0


def _step(main: Callable[[Sequence[str]], int], argv: list[str]) -> None:
    code = main(argv)
    if code != 0:
        raise CliError(f"demo step failed: haven {argv[0]}")
