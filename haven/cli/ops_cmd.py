"""`haven ops`: what operators see and do, without ever seeing a request.

    haven ops status [--router-metrics URL ...] [--json]
    haven ops quarantine [--json]          haven ops unassigned [--json]
    haven ops replay  (quarantine|unassigned) (--id ID ... | --all)
    haven ops purge   (quarantine|unassigned) (--id ID ... | --all) [--yes]
    haven ops publish-directory new.json --network-key network.pub --to served.json

Counts, rates, ids, categories, reason codes, partner ids and ages only.
The broker comes from HAVEN_AMQP_URL; the management API from
--management-url / HAVEN_MANAGEMENT_URL (default: the broker's host, port
15672) with the same admin credentials as `haven provision`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from haven.broker.holding import (
    Held,
    HoldingError,
    list_held,
    purge,
    replay,
)
from haven.broker.management import ManagementAccess, ManagementClient, ManagementError
from haven.broker.settings import BrokerSettings, SettingsError
from haven.broker.topology import QUARANTINE_QUEUE, UNASSIGNED_QUEUE, partner_of_queue
from haven.cli.common import CliError, Commands, write_new
from haven.cli.network_cmd import load_verified, read_verified

QUEUES = {"quarantine": QUARANTINE_QUEUE, "unassigned": UNASSIGNED_QUEUE}
MAX_METRICS_BYTES = 4 * 1024 * 1024


def register(commands: Commands) -> None:
    ops = commands.add_parser(
        "ops",
        help="operators: queue status, quarantine and unassigned requests (metadata only)",
        description="See whether requests flow, wait, or are held, and act on held ones. "
        "Never shows a request's content.",
    )
    actions = ops.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="every Haven queue and every partner's backlog")
    status.add_argument(
        "--management-url", help="default: HAVEN_MANAGEMENT_URL or http://<broker host>:15672"
    )
    status.add_argument(
        "--router-metrics",
        action="append",
        default=[],
        metavar="URL",
        help="a router's /metrics (repeat per router) for deadline misses per partner",
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=run_status)
    publish = actions.add_parser(
        "publish-directory",
        help="put a newly signed directory where the intake and routers read it",
        description="Verify a newly signed directory against the pinned network key, check that "
        "it is newer than the one being served, and replace the served file atomically. The "
        "intake re-verifies it on its next request, routers within HAVEN_DIRECTORY_REFRESH; "
        "nothing restarts. Run `haven provision` after it when partners were added or removed.",
    )
    publish.add_argument("directory", type=Path, help="the newly signed directory")
    publish.add_argument("--network-key", type=Path, required=True, help="the pinned verify key")
    publish.add_argument(
        "--to", type=Path, required=True, metavar="FILE", help="the served directory file"
    )
    publish.set_defaults(handler=run_publish)
    for name in QUEUES:
        listing = actions.add_parser(name, help=f"list the {name} queue: id, category, reason, age")
        listing.add_argument("--json", action="store_true")
        listing.set_defaults(handler=run_list, queue=name)
    for verb, text in (
        ("replay", "hand held requests back to the router"),
        ("purge", "delete held requests for good"),
    ):
        acting = actions.add_parser(verb, help=text)
        acting.add_argument("queue", choices=sorted(QUEUES))
        which = acting.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", action="append", metavar="ID", help="a message id (repeatable)")
        which.add_argument("--all", action="store_true")
        if verb == "purge":
            acting.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        acting.add_argument("--json", action="store_true")
        acting.set_defaults(handler=run_replay if verb == "replay" else run_purge)


def _broker(environ: Mapping[str, str]) -> BrokerSettings:
    try:
        return BrokerSettings.from_env(environ)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def _management(
    environ: Mapping[str, str], broker: BrokerSettings, explicit: str | None
) -> tuple[ManagementClient, str]:
    try:
        access = ManagementAccess.from_env(environ, broker.urls[0], url=explicit)
        return access.client(), access.vhost
    except SettingsError as exc:
        raise CliError(str(exc)) from None


@dataclass(frozen=True)
class _Row:
    queue: str
    ready: int
    unacked: int
    consumers: int
    in_per_s: float
    out_per_s: float


def _rate(stats: dict[str, Any], name: str) -> float:
    details = stats.get(f"{name}_details")
    return float(details.get("rate", 0.0)) if isinstance(details, dict) else 0.0


def _expired_by_partner(urls: Sequence[str]) -> dict[str, float]:
    """Deadline misses per partner, summed over the routers' /metrics."""
    misses: dict[str, float] = {}
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - an operator's own URL  # nosec B310
                text = answer.read(MAX_METRICS_BYTES).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            raise CliError(f"cannot read router metrics at {url}: {type(exc).__name__}") from None
        for line in text.splitlines():
            if not line.startswith("haven_router_expired_total{"):
                continue
            labels, _, value = line.rpartition(" ")
            partner = labels.split('partner="', 1)[-1].split('"', 1)[0]
            misses[partner] = misses.get(partner, 0.0) + float(value)
    return misses


def run_status(args: argparse.Namespace) -> int:
    broker = _broker(args.environ)
    client, vhost = _management(args.environ, broker, args.management_url)
    try:
        found = client.queues(vhost)
    except ManagementError as exc:
        raise CliError(str(exc)) from None
    misses = _expired_by_partner(args.router_metrics)
    queues = []
    for queue in sorted(found, key=lambda q: str(q.get("name"))):
        name = str(queue.get("name", ""))
        if not name.startswith("haven."):
            continue
        stats = queue.get("message_stats") or {}
        queues.append(
            _Row(
                queue=name,
                ready=int(queue.get("messages_ready") or 0),
                unacked=int(queue.get("messages_unacknowledged") or 0),
                consumers=int(queue.get("consumers") or 0),
                in_per_s=round(_rate(stats, "publish"), 2),
                out_per_s=round(_rate(stats, "ack"), 2),
            )
        )
    partners: list[dict[str, Any]] = [
        {
            "partner": partner_id,
            "backlog": q.ready + q.unacked,
            "taking": q.consumers > 0,
            "deadline_misses": int(misses.get(partner_id, 0)),
        }
        for q in queues
        if (partner_id := partner_of_queue(q.queue)) is not None
    ]
    if args.json:
        document = {"vhost": vhost, "queues": [asdict(q) for q in queues], "partners": partners}
        print(json.dumps(document, indent=1))
        return 0
    print(f"vhost {vhost}")
    print(f"{'queue':36} {'ready':>7} {'unacked':>7} {'consumers':>9} {'in/s':>8} {'out/s':>8}")
    for q in queues:
        print(
            f"{q.queue:36} {q.ready:>7} {q.unacked:>7} {q.consumers:>9} "
            f"{q.in_per_s:>8} {q.out_per_s:>8}"
        )
    print(f"\n{'partner':28} {'backlog':>7} {'taking':>6} {'deadline misses':>15}")
    for p in partners:
        shown_misses = p["deadline_misses"] if args.router_metrics else "-"
        print(
            f"{p['partner']:28} {p['backlog']:>7} {'yes' if p['taking'] else 'no':>6} {shown_misses:>15}"
        )
    print(
        "\nOldest age per partner queue is not shown: a quorum queue keeps no head timestamp, "
        "and peeking would count as a delivery."
    )
    return 0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def _print_held(held: list[Held], *, as_json: bool, verb: str = "") -> None:
    if as_json:
        print(json.dumps([h.as_dict() for h in held], indent=1))
        return
    if not held:
        print("none")
        return
    print(f"{'id':64}  {'category':18} {'age':>5}  {'reason':28} tried")
    for h in held:
        print(
            f"{h.message_id or '-':64}  {h.category:18} {_age(h.age_seconds):>5}  {h.reason:28} {h.tried or '-'}"
        )
    if verb:
        print(f"{len(held)} {verb}")


def run_list(args: argparse.Namespace) -> int:
    try:
        held = list_held(_broker(args.environ), QUEUES[args.queue])
    except HoldingError as exc:
        raise CliError(str(exc)) from None
    _print_held(held, as_json=args.json)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    try:
        done = replay(_broker(args.environ), QUEUES[args.queue], None if args.all else set(args.id))
    except HoldingError as exc:
        raise CliError(str(exc)) from None
    _print_held(done, as_json=args.json, verb="handed back to the router")
    return 0


def run_publish(args: argparse.Namespace) -> int:
    # Published are the bytes that were verified, read once: a file swapped
    # between a check and a second read would otherwise be served unverified.
    fresh, document = read_verified(args.directory, args.network_key)
    if args.to.exists():
        # The served one must still verify too: never publish over a file
        # that was tampered with without noticing.
        served = load_verified(args.to, args.network_key)
        if served.network_id != fresh.network_id:
            raise CliError(
                f"{args.directory} is for network {fresh.network_id}, "
                f"the served one for {served.network_id}"
            )
        if fresh.version <= served.version:
            # Clients refuse a version older than one they accepted: publishing
            # it would stop every intake and router that already saw the newer one.
            raise CliError(
                f"{args.directory} is version {fresh.version}; the served one is already "
                f"version {served.version}"
            )
    write_new(args.to, document, force=True)
    print(
        f"published directory {fresh.network_id} version {fresh.version} to {args.to}: "
        f"{len(fresh.partners)} partners, valid until {fresh.expires_at:%Y-%m-%d %H:%M}Z"
    )
    return 0


def run_purge(args: argparse.Namespace) -> int:
    queue = QUEUES[args.queue]
    if not args.yes:
        what = "every message" if args.all else f"{len(args.id)} message(s)"
        if not sys.stdin.isatty():
            raise CliError("purge deletes requests for good: confirm with --yes")
        answer = input(
            f"{what} in {queue} will be deleted for good. Type the queue name to confirm: "
        )
        if answer.strip() != queue:
            print("not confirmed; nothing deleted")
            return 1
    try:
        done = purge(_broker(args.environ), queue, None if args.all else set(args.id))
    except HoldingError as exc:
        raise CliError(str(exc)) from None
    _print_held(done, as_json=args.json, verb="deleted")
    return 0
