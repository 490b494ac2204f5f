"""The `haven` command: one parser, subcommands registered by their modules."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from haven.cli import (
    deliver_cmd,
    demo_cmd,
    keys_cmd,
    network_cmd,
    ops_cmd,
    partner_cmd,
    provision_cmd,
    requester_cmd,
    schemas_cmd,
    seal_cmd,
    services_cmd,
    site_cmd,
    store_cmd,
    submit_cmd,
)
from haven.cli.common import CliError

EXIT_USAGE = 2
EXIT_INTERNAL = 70


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes as one line too; `--help` still shows everything."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="haven",
        description="Haven: secure intake for exile networks. Keys, the signed partner directory, envelopes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        keys_cmd,
        network_cmd,
        site_cmd,
        seal_cmd,
        submit_cmd,
        requester_cmd,
        services_cmd,
        deliver_cmd,
        partner_cmd,
        provision_cmd,
        ops_cmd,
        schemas_cmd,
        store_cmd,
        demo_cmd,
    ):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one command. `environ` holds its HAVEN_* settings (default: this process's).

    The environment is read here, at the edge, and handed to the command as
    `args.environ`: no command reads or rewrites os.environ itself, so the
    demo can run commands in-process against settings of its own.
    """
    args = build_parser().parse_args(argv)
    args.environ = os.environ if environ is None else environ
    try:
        return int(args.handler(args))
    except CliError as exc:
        # One line, no traceback: a traceback can quote file contents or
        # paths that a partner would not want on a shared screen.
        print(f"haven: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("haven: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug still ends in one line
        # Only the type: an unexpected exception's message may hold request text.
        print(f"haven: internal error ({type(exc).__name__}); please report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
