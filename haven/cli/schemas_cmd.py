"""`haven schemas export [--check]`: the JSON Schema documents in schemas/json/.

Partners who write their tools in another language, and the web form, read
the contract from these files; they are generated from the marshmallow
schemas (haven.cli.schema_export) and committed, so `--check` (and a test)
fails whenever the code and the committed files say different things.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import schemas
from haven.cli.common import CliError, Commands
from haven.cli.schema_export import documents, render
from haven.files import replace_atomically

DEFAULT_DIR = Path(schemas.__file__).resolve().parent / "json"
SUFFIX = ".schema.json"
REGENERATE = "run `haven schemas export` (or `make schemas`)"


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "schemas",
        help="the request, routing, directory and submission contract as JSON Schema",
        description="Write the JSON Schema (2020-12) documents generated from the marshmallow "
        "schemas (docs/json-schema.md).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write schemas/json/*.schema.json")
    export.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a file differs from what the schemas generate",
    )
    export.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help="where the documents are (default: the schemas package's json/)",
    )
    export.set_defaults(handler=run_export)


def _stale(directory: Path, generated: dict[str, bytes]) -> list[str]:
    """Files that differ, are missing, or are no longer generated."""
    present = {path.name for path in directory.glob(f"*{SUFFIX}")}
    stale = [
        name
        for name, data in generated.items()
        if name not in present or (directory / name).read_bytes() != data
    ]
    return sorted({*stale, *(present - generated.keys())})


def run_export(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    generated = {name: render(document) for name, document in documents().items()}
    try:
        stale = _stale(directory, generated) if directory.is_dir() else sorted(generated)
        if args.check:
            if stale:
                raise CliError(f"{directory}: out of date ({', '.join(stale)}); {REGENERATE}")
            print(f"{directory}: {len(generated)} documents up to date")
            return 0
        for name in stale:
            if name in generated:
                replace_atomically(directory / name, generated[name], mode=0o644)
            else:
                # A document no schema generates any more would mislead a partner.
                (directory / name).unlink()
    except OSError as exc:
        raise CliError(f"cannot write {directory}: {exc.strerror}") from None
    print(f"{directory}: {len(stale)} of {len(generated)} documents written or removed")
    return 0
