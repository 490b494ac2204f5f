"""Broker users: one per partner, able to take its own requests and decline, nothing else; and Haven's own.

`provision` makes the broker match a list of partners:

* the routing topology is declared, so every partner queue (which no
  partner may declare) and `haven.declines` exist before anyone connects;
* each partner gets the user `haven-partner-<id>` with no tags (no
  management API, no impersonation) and, on the network's vhost, exactly
  `partner_permissions(id)`;
* a partner user with permissions on this vhost that is no longer listed is
  deleted (the broker closes its connections at once); its queue stays, so
  what waits there expires back to the router.

`provision_services` gives Haven's own users (intake, router, webhook
deliverer) exactly the rights of haven.broker.service_users.

Passwords are generated here, stored one per file (0600, in a 0700
directory) and sent to the broker only through the management API; they
are never returned in a report, an error or a log line.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pika.exceptions

from haven.broker.connection import connect, declare
from haven.broker.limits import RoutingLimits
from haven.broker.management import ManagementClient
from haven.broker.service_users import (
    ROLES,
    SERVICE_USER_PREFIX,
    service_permissions,
    service_username,
)
from haven.broker.settings import BrokerSettings
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    partner_of_user,
    partner_queue,
    partner_username,
    routing_topology,
)

PASSWORD_SUFFIX = ".password"  # noqa: S105 - a file name suffix, not a password  # nosec B105
# A stored password shorter than this was not made here (token_urlsafe(32)
# gives 43 characters) and is too weak to guard a partner's requests.
MIN_PASSWORD_LENGTH = 16
MAX_PASSWORD_LENGTH = 256


class ProvisionError(Exception):
    """Provisioning cannot go on; the message names files and users, never a password."""


@dataclass(frozen=True)
class ProvisionReport:
    """Partner ids by what happened to their broker users."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


# Per partner user: enough for a few toolkit runs at once, never a flood.
PARTNER_LIMITS = {"max-connections": 4, "max-channels": 16}


def partner_permissions(partner_id: str) -> tuple[str, str, str]:
    """(configure, write, read) of a partner's user, as anchored RabbitMQ regexes."""
    return (
        # Nothing: it cannot declare, delete or bind anything, so it can
        # neither create a queue to divert requests into nor remove one.
        "^$",
        # Only the declines exchange: not haven.partners, not the default
        # exchange (amq.default), so it cannot put anything into another
        # partner's queue or straight into the router's.
        "^" + re.escape(DECLINES_EXCHANGE) + "$",
        # Only its own queue; partner_queue() enforces the id rule and
        # re.escape the dots, so no other queue name can match.
        "^" + re.escape(partner_queue(partner_id)) + "$",
    )


def partner_amqp_url(base_url: str, partner_id: str, password: str) -> str:
    """The broker URL with the partner's user and password instead of the admin's."""
    return user_amqp_url(base_url, partner_username(partner_id), password)


def user_amqp_url(base_url: str, user: str, password: str) -> str:
    """The broker URL with this user and password instead of the admin's."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise ValueError("the broker URL must be amqp:// or amqps:// with a host")
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def password_file(credentials_dir: Path, partner_id: str) -> Path:
    partner_queue(partner_id)  # the id rule: no path separator can reach a file name
    return credentials_dir / f"{partner_id}{PASSWORD_SUFFIX}"


def provision(
    client: ManagementClient,
    vhost: str,
    partner_ids: Iterable[str],
    credentials_dir: Path,
    *,
    broker_settings: BrokerSettings,
    limits: RoutingLimits,
) -> ProvisionReport:
    """Make the broker's partner users on `vhost` exactly those of `partner_ids`."""
    wanted = sorted(set(partner_ids))
    for partner_id in wanted:
        partner_username(partner_id)  # raises SettingsError for anything but a partner id
    # The topology goes to the AMQP URL's vhost and the permissions to
    # `vhost`: were they different, partners would hold rights on a vhost
    # without their queues, or the queues would sit where no one may read.
    url_vhost = broker_settings.virtual_host
    if url_vhost != vhost:
        raise ProvisionError(f"vhost {vhost!r} differs from the broker URL's vhost {url_vhost!r}")
    if not client.vhost_exists(vhost):
        raise ProvisionError(f"the broker has no vhost {vhost!r}")
    _private_dir(credentials_dir)

    # Removal first: a partner taken out of the directory loses access even
    # if anything below fails.
    removed = _remove_unlisted(client, vhost, set(wanted), credentials_dir)
    _declare(broker_settings, limits, wanted)
    created: list[str] = []
    updated: list[str] = []
    for partner_id in wanted:
        user = partner_username(partner_id)
        password = _password(password_file(credentials_dir, partner_id))
        # Tags "" replace any tag added by hand: a partner user never gets
        # the management API or `impersonator` (which would let it forge
        # user_id, the router's proof of who declined).
        is_new = client.put_user(user, password, tags="")
        client.set_permissions(vhost, user, *partner_permissions(partner_id))
        # A partner needs one connection and a channel or two to pull; the
        # limits stop one partner (or its stolen password) from exhausting
        # the broker's connections or flooding haven.declines on many channels.
        for name, value in PARTNER_LIMITS.items():
            client.set_user_limit(user, name, value)
        (created if is_new else updated).append(partner_id)
    return ProvisionReport(tuple(created), tuple(updated), tuple(removed))


def _remove_unlisted(
    client: ManagementClient, vhost: str, wanted: set[str], credentials_dir: Path
) -> list[str]:
    removed: list[str] = []
    # Users are global to the broker; only partner users holding rights on
    # this network's vhost are this provisioning's to remove, so another
    # vhost's network (or test run) on the same broker keeps its partners.
    for user in client.vhost_users(vhost):
        partner_id = partner_of_user(user)
        if partner_id is None or partner_id in wanted:
            continue
        if [other for other in client.user_vhosts(user) if other != vhost]:
            # Still used on another vhost: take this one away, and close the
            # connections it has open here (permissions are only checked
            # when a queue or exchange is first used by a channel).
            client.clear_permissions(vhost, user)
            client.close_user_connections(user, vhost)
        else:
            # Deleting a user closes its connections on the spot.
            client.delete_user(user)
        # Re-adding the partner later must not revive a password that the
        # removed organisation (or whoever took its machine) still knows.
        password_file(credentials_dir, partner_id).unlink(missing_ok=True)
        removed.append(partner_id)
    return removed


def _declare(settings: BrokerSettings, limits: RoutingLimits, partner_ids: list[str]) -> None:
    try:
        connection = connect(settings)
        try:
            declare(connection.channel(), routing_topology(settings, limits, partner_ids))
        finally:
            if connection.is_open:
                connection.close()
    except pika.exceptions.ChannelClosedByBroker as exc:
        # The broker's reply names a queue or argument, never a password.
        raise ProvisionError(
            f"cannot declare the routing topology: {exc.reply_code} {exc.reply_text}"
        ) from None
    except pika.exceptions.AMQPError as exc:
        # Only the type: some pika messages repeat connection parameters.
        raise ProvisionError(f"cannot declare the routing topology: {type(exc).__name__}") from None


def _private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        raise ProvisionError(f"cannot create {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ProvisionError(f"{path} is not a directory")
    # The directory holds every partner's password: refuse rather than
    # silently change the mode of a directory someone else chose.
    if info.st_mode & 0o077:
        raise ProvisionError(f"{path} is open to other users; chmod 700 it first")


def _password(path: Path) -> str:
    """The stored password, or a new one stored first (never replacing one written meanwhile)."""
    if not path.exists():
        _store_new_password(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise ProvisionError(f"cannot read the password file {path}") from None
    password = text.rstrip("\r\n")
    if not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        and password.isprintable()
        and " " not in password
    ):
        raise ProvisionError(
            f"{path} does not hold a usable password ({MIN_PASSWORD_LENGTH} to "
            f"{MAX_PASSWORD_LENGTH} printable characters, no spaces); delete it to get a new one"
        )
    return password


def _store_new_password(path: Path) -> None:
    password = secrets.token_urlsafe(32)
    try:
        # A fresh 0600 file (O_EXCL, never through a planted symlink)...
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(password + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            # ...linked into place whole, and only if there is still none:
            # a password another run stored meanwhile is kept, not replaced.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise ProvisionError(f"cannot write the password file {path}: {exc.strerror}") from None


def provision_services(
    client: ManagementClient,
    vhost: str,
    webhook_partner_ids: Iterable[str],
    credentials_dir: Path | None,
    *,
    prefix: str = SERVICE_USER_PREFIX,
) -> tuple[str, ...]:
    """Give Haven's service users exactly their rights on `vhost`; the user names, in ROLES order.

    With `credentials_dir` (the demo) each user is made or updated with the
    password in `<dir>/<role>.password` (made first if missing). Without it
    (the compose stack) the users must exist already, made with their
    passwords by the broker's definitions (scripts/compose-secrets); only
    their permissions are set here, replacing whatever they held before.
    """
    if not client.vhost_exists(vhost):
        raise ProvisionError(f"the broker has no vhost {vhost!r}")
    webhook_ids = sorted(set(webhook_partner_ids))
    if credentials_dir is not None:
        _private_dir(credentials_dir)
    users: list[str] = []
    for role in ROLES:
        user = service_username(role, prefix)
        if credentials_dir is not None:
            # Tags "" as for partners: no management API, no impersonation.
            client.put_user(user, _password(credentials_dir / f"{role}{PASSWORD_SUFFIX}"), tags="")
        elif client.user_tags(user) is None:
            raise ProvisionError(
                f"the broker has no user {user}: make it with scripts/compose-secrets "
                "(and restart the broker), or pass --service-credentials-dir"
            )
        client.set_permissions(vhost, user, *service_permissions(role, webhook_ids))
        users.append(user)
    return tuple(users)
