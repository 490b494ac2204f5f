"""`haven deliver` (webhook delivery until SIGTERM) and `haven webhook-secret` (a partner's secret).

The delivery itself is worker.main.deliver_main; its settings (HAVEN_*
variables, nothing secret on the command line) are listed there and in
docs/routing.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from haven.cli.common import Commands, add_force_option, write_new
from worker.main import deliver_main
from worker.webhook.signing import new_secret


def register(commands: Commands) -> None:
    deliver = commands.add_parser(
        "deliver",
        help="deliver requests to webhook partners until SIGTERM",
        description="POST each request for a partner whose directory entry says "
        '"webhook" to its https URL, signed, still sealed. Settings come from HAVEN_* '
        "variables (docs/routing.md).",
    )
    deliver.set_defaults(handler=run_deliver)
    secret = commands.add_parser(
        "webhook-secret",
        help="write a new webhook signing secret for a partner",
        description="Write a new secret (whsec_...) to FILE with mode 0600. Put it in "
        "HAVEN_WEBHOOK_SECRETS_DIR as <partner id>.secret and give it to the partner "
        "over a secure channel; their receiver verifies each POST with it.",
    )
    secret.add_argument("--out", type=Path, required=True, metavar="FILE")
    add_force_option(secret)
    secret.set_defaults(handler=run_webhook_secret)


def run_webhook_secret(args: argparse.Namespace) -> int:
    # Never printed: a terminal's scrollback and a CI log are not secret stores.
    write_new(args.out, (new_secret() + "\n").encode("ascii"), force=args.force, private=True)
    print(f"wrote a new webhook secret to {args.out} (mode 0600)")
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    return deliver_main(args.environ)
