"""`haven provision`: a broker user for each partner of the verified directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from haven.broker.limits import RoutingLimits
from haven.broker.management import ManagementAccess, ManagementError
from haven.broker.provision import ProvisionError, password_file, provision, provision_services
from haven.broker.settings import BrokerSettings, SettingsError
from haven.cli.common import CliError, Commands
from haven.cli.network_cmd import load_verified


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "provision",
        help="create, update and remove the partners' broker users",
        description="Give every partner of the verified directory that takes requests from its own queue "
        "a RabbitMQ user that may only read that queue and publish declines, and delete the users of "
        "partners no longer listed. Passwords are written to --credentials-dir, one 0600 file per "
        "partner, and never printed. Broker: HAVEN_AMQP_URL; management API admin: "
        "HAVEN_MANAGEMENT_USER and HAVEN_MANAGEMENT_PASSWORD_FILE (default: the user and password of "
        "HAVEN_AMQP_URL).",
    )
    parser.add_argument(
        "--directory", type=Path, required=True, metavar="FILE", help="signed directory"
    )
    parser.add_argument(
        "--network-key", type=Path, required=True, metavar="FILE", help="pinned network verify key"
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="seen-version file (refuses a rolled-back directory)",
    )
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="partner password files (<id>.password); created 0700",
    )
    parser.add_argument(
        "--management-url",
        metavar="URL",
        help="RabbitMQ management API (default: HAVEN_MANAGEMENT_URL, else the broker's host on port 15672)",
    )
    parser.add_argument(
        "--vhost", help="the network's vhost (default: the vhost of HAVEN_AMQP_URL, usually /)"
    )
    parser.add_argument(
        "--service-users",
        action="store_true",
        help="also give Haven's own users (haven-intake, haven-router, haven-deliver), which must "
        "exist, exactly their rights (docs/routing.md); the compose stack's users come from "
        "scripts/compose-secrets",
    )
    parser.add_argument(
        "--service-credentials-dir",
        type=Path,
        metavar="DIR",
        help="make or update Haven's own users too, their passwords in DIR/<role>.password "
        "(created 0700; implies --service-users)",
    )
    parser.set_defaults(handler=run_provision)


def run_provision(args: argparse.Namespace) -> int:
    directory = load_verified(args.directory, args.network_key, args.state)
    try:
        settings = BrokerSettings.from_env(args.environ)
        limits = RoutingLimits.from_env(args.environ)
        access = ManagementAccess.from_env(args.environ, settings.urls[0], url=args.management_url)
        client = access.client()
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    url_vhost = settings.virtual_host
    vhost = url_vhost if args.vhost is None else args.vhost
    # A webhook partner never reads a queue: it gets no broker user at all
    # (its webhook is served by Haven's own delivery).
    by_queue = [p.id for p in directory.partners if p.delivery.kind == "queue"]
    by_webhook = sorted(p.id for p in directory.partners if p.delivery.kind != "queue")
    try:
        report = provision(
            client,
            vhost,
            by_queue,
            args.credentials_dir,
            broker_settings=settings,
            limits=limits,
        )
        services: tuple[str, ...] = ()
        if args.service_users or args.service_credentials_dir is not None:
            services = provision_services(client, vhost, by_webhook, args.service_credentials_dir)
    except (ManagementError, ProvisionError, SettingsError) as exc:
        raise CliError(str(exc)) from None
    for action, ids in (
        ("created", report.created),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for partner_id in ids:
            where = (
                ""
                if action == "removed"
                else f"  password in {password_file(args.credentials_dir, partner_id)}"
            )
            print(f"{action:<8} {partner_id}{where}")
    for partner_id in by_webhook:
        print(f"{'skipped':<8} {partner_id}  (webhook delivery: no broker user)")
    for user in services:
        print(f"{'service':<8} {user}  (its own rights only)")
    print(
        f"directory {directory.network_id} version {directory.version} on vhost {vhost!r}: "
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.removed)} removed"
    )
    return 0
