"""`haven deliver` (webhook delivery until SIGTERM) and `haven webhook-secret` (a partner's secret).

Configuration comes from the environment only, as for the router (nothing
secret on the command line):

    HAVEN_AMQP_URL             broker; its user is the one the router must trust
                               for declines (the router's HAVEN_SERVICE_USERS)
    HAVEN_DIRECTORY_FILE, HAVEN_NETWORK_VERIFY_KEY_FILE, HAVEN_DIRECTORY_STATE
                               the signed directory, as for the router
    HAVEN_WEBHOOK_SECRETS_DIR  `<partner id>.secret` files, mode 0600
    HAVEN_WEBHOOK_TIMEOUT      seconds for one whole POST (default 10)
    HAVEN_WEBHOOK_CA_FILE      optional: extra CA certificates (PEM) for private CAs
    HAVEN_RETRY_DELAYS         the router's retry tiers (must match)
    HAVEN_METRICS_PORT         optional: serve Prometheus metrics on HAVEN_METRICS_BIND:PORT
    HAVEN_METRICS_BIND         optional: the metrics address, an IP literal (default 127.0.0.1)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prometheus_client import start_http_server

from haven.broker import SettingsError
from haven.cli.common import Commands, add_force_option, write_new
from haven.directory import DirectoryError
from worker.directory import DirectoryFiles
from worker.main import metrics_bind, service_logging, stop_on_signals
from worker.webhook import WebhookMetrics, WebhookSettings, run_deliverer
from worker.webhook_signing import new_secret


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


def run_deliver(_: argparse.Namespace) -> int:
    environ = os.environ
    service_logging()
    try:
        settings = WebhookSettings.from_env(environ)
        files = DirectoryFiles.from_env(environ)
        port = int(environ.get("HAVEN_METRICS_PORT") or 0)
        bind = metrics_bind(environ)
    except (SettingsError, ValueError) as exc:
        print(f"haven deliver: {exc}", file=sys.stderr)
        return 2
    # Each partner's thread finishes its in-flight delivery, acks nothing
    # unfinished, and closes its own connection.
    stop = stop_on_signals()
    metrics = WebhookMetrics()
    if port:
        start_http_server(port, addr=bind, registry=metrics.registry)
    try:
        run_deliverer(settings, files.load, stop, metrics=metrics)
    except SettingsError as exc:
        print(f"haven deliver: {exc}", file=sys.stderr)
        return 2
    except DirectoryError as exc:
        print(f"haven deliver: {exc}", file=sys.stderr)
        return 1
    return 0
