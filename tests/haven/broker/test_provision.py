"""Partner broker users against the real broker: provisioning, and what a partner can NOT do.

Users are global to the broker (only permissions are per vhost), so every
test makes partner ids with a random suffix and deletes their users at the
end, whatever happened.
"""

from __future__ import annotations

import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from haven.broker.limits import RoutingLimits
from haven.broker.management import ManagementClient, ManagementError
from haven.broker.provision import (
    PARTNER_LIMITS,
    ProvisionError,
    partner_amqp_url,
    partner_permissions,
    password_file,
    provision,
)
from haven.broker.settings import BrokerSettings, SettingsError
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    PARTNER_EXCHANGE,
    RETURNED_EXCHANGE,
    RETURNED_QUEUE,
    RETURNED_ROUTING_KEY,
    partner_queue,
    partner_username,
)
from haven.cli.main import main
from haven.directory import empty_directory, sign_directory, with_partner, without_partner
from haven.envelope import NetworkKey, PrivateKey
from tests.conftest import BROKER_HOST, BROKER_PORT, rabbitmqctl
from tests.worker.conftest import partner_entry

pytestmark = pytest.mark.broker

ACCESS_REFUSED = 403
PRECONDITION_FAILED = 406
CONNECTION_FORCED = 320


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path[1:])


def new_ids(*names: str) -> list[str]:
    suffix = secrets.token_hex(4)
    return [f"{name}-{suffix}" for name in names]


@pytest.fixture
def admin(management_url: str) -> ManagementClient:
    return ManagementClient(management_url, "guest", "guest")


@pytest.fixture
def made_users(admin: ManagementClient) -> Iterator[list[str]]:
    """Partner ids whose users this test may create; every one is deleted at the end."""
    ids: list[str] = []
    yield ids
    for partner_id in ids:
        admin.delete_user(partner_username(partner_id))


def run_provision(
    admin: ManagementClient, url: str, ids: list[str], credentials: Path
) -> tuple[list[str], list[str], list[str]]:
    report = provision(
        admin,
        vhost_of(url),
        ids,
        credentials,
        broker_settings=BrokerSettings(urls=(url,)),
        limits=RoutingLimits(),
    )
    return list(report.created), list(report.updated), list(report.removed)


def password_of(credentials: Path, partner_id: str) -> str:
    return password_file(credentials, partner_id).read_text().strip()


def as_partner(url: str, credentials: Path, partner_id: str) -> BlockingConnection:
    params = pika.URLParameters(
        partner_amqp_url(url, partner_id, password_of(credentials, partner_id))
    )
    params.connection_attempts = 1
    params.socket_timeout = 5
    return pika.BlockingConnection(params)


def close(connection: BlockingConnection) -> None:
    if connection.is_open:
        connection.close()


def guest_publish(url: str, exchange: str, routing_key: str, body: bytes) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, body, mandatory=True)
    finally:
        close(connection)


def depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        close(connection)


# Without the broker


def test_partner_permissions_are_anchored_and_cover_one_queue() -> None:
    configure, write, read = partner_permissions("deserters-help")
    assert (configure, write) == ("^$", r"^haven\.declines$")
    assert read == "^" + re.escape("haven.partner.deserters-help") + "$"
    # (RabbitMQ's regexes are PCRE; these constructs mean the same in Python.)
    assert re.search(read, "haven.partner.deserters-help")
    for other in (
        "haven.partner.deserters-help2",
        "xhaven.partner.deserters-help",
        "haven.partnerXdeserters-help",
        "haven.partner.deserters",
        "haven.returned",
    ):
        assert not re.search(read, other), other
    for other in ("haven.partners", "amq.default", "", "haven.declinesX", "haven.returned"):
        assert not re.search(write, other), other
    assert not re.search(configure, "haven.partner.deserters-help")
    with pytest.raises(SettingsError):
        partner_permissions("Not.An.Id")


def test_partner_amqp_url_replaces_user_and_password() -> None:
    odd = "p@ss:w/rd%?#"
    url = partner_amqp_url(
        "amqps://guest:guest@broker.example:5671/haven%2Fnet?heartbeat=30", "ab-c", odd
    )
    params = pika.URLParameters(url)
    assert params.credentials.username == "haven-partner-ab-c"
    assert params.credentials.password == odd
    assert (params.host, params.port, params.virtual_host) == ("broker.example", 5671, "haven/net")
    assert params.heartbeat == 30
    assert "guest" not in url
    with pytest.raises(ValueError):
        partner_amqp_url("http://broker.example/", "ab-c", odd)


def test_management_errors_never_show_a_password(management_url: str) -> None:
    secret = "wrong-" + secrets.token_hex(8)
    with pytest.raises(ManagementError) as caught:
        ManagementClient(management_url, "guest", secret).list_users()
    assert caught.value.status == 401
    assert "/api/users" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    with pytest.raises(ManagementError) as caught:
        ManagementClient(management_url, "guest", "guest").set_permissions(
            "no-such-vhost-" + secret, "guest", secret, secret, secret
        )
    assert secret not in str(caught.value).replace("no-such-vhost-" + secret, "")
    with pytest.raises(ValueError):
        ManagementClient("http://guest:guest@127.0.0.1:15672", "guest", "guest")


# Provisioning


def test_provision_creates_users_with_exactly_these_permissions(
    admin: ManagementClient, fresh_broker_url: str, made_users: list[str], tmp_path: Path
) -> None:
    ids = new_ids("pa", "pb")
    made_users.extend(ids)
    credentials = tmp_path / "credentials"
    created, updated, removed = run_provision(admin, fresh_broker_url, ids, credentials)
    assert (created, updated, removed) == (sorted(ids), [], [])
    vhost = vhost_of(fresh_broker_url)
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o700
    for partner_id in ids:
        user = partner_username(partner_id)
        permissions = admin.get_permissions(vhost, user)
        assert permissions is not None
        assert (permissions.configure, permissions.write, permissions.read) == partner_permissions(
            partner_id
        )
        assert admin.user_tags(user) == []
        assert admin.user_vhosts(user) == [vhost]
        assert admin.user_limits(user) == PARTNER_LIMITS
        path = password_file(credentials, partner_id)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(password_of(credentials, partner_id)) == 43  # token_urlsafe(32)
        # The queue each user may read exists: no partner could declare it.
        assert depth(fresh_broker_url, partner_queue(partner_id)) == 0
    assert password_of(credentials, ids[0]) != password_of(credentials, ids[1])


def test_rerun_is_idempotent_and_keeps_the_password(
    admin: ManagementClient, fresh_broker_url: str, made_users: list[str], tmp_path: Path
) -> None:
    ids = new_ids("pa", "pb")
    made_users.extend(ids)
    credentials = tmp_path / "credentials"
    run_provision(admin, fresh_broker_url, ids, credentials)
    before = {partner_id: password_of(credentials, partner_id) for partner_id in ids}
    # Someone widened a partner's rights by hand; the next run puts them back.
    user = partner_username(ids[0])
    admin.set_permissions(vhost_of(fresh_broker_url), user, ".*", ".*", ".*")
    admin.put_user(user, before[ids[0]], tags="administrator")

    created, updated, removed = run_provision(admin, fresh_broker_url, ids, credentials)
    assert (created, updated, removed) == ([], sorted(ids), [])
    assert {partner_id: password_of(credentials, partner_id) for partner_id in ids} == before
    permissions = admin.get_permissions(vhost_of(fresh_broker_url), user)
    assert permissions is not None
    assert (permissions.configure, permissions.write, permissions.read) == partner_permissions(
        ids[0]
    )
    assert admin.user_tags(user) == []
    # The stored password is the broker's: the partner still gets in.
    close(as_partner(fresh_broker_url, credentials, ids[0]))


def test_removed_partner_loses_access_at_once(
    admin: ManagementClient, fresh_broker_url: str, made_users: list[str], tmp_path: Path
) -> None:
    keep, drop = ids = new_ids("pa", "pb")
    made_users.extend(ids)
    credentials = tmp_path / "credentials"
    run_provision(admin, fresh_broker_url, ids, credentials)
    guest_publish(fresh_broker_url, PARTNER_EXCHANGE, drop, b"waiting for the dropped partner")
    connected = as_partner(fresh_broker_url, credentials, drop)
    try:
        connected.channel().queue_declare(partner_queue(drop), passive=True)

        created, updated, removed = run_provision(admin, fresh_broker_url, [keep], credentials)
        assert (created, updated, removed) == ([], [keep], [drop])
        assert partner_username(drop) not in admin.list_users()
        assert partner_username(keep) in admin.list_users()
        # Its open connection is closed by the broker, not left to run on.
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as caught:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                connected.process_data_events(time_limit=0.5)
        assert caught.value.reply_code == CONNECTION_FORCED
    finally:
        close(connected)
    # Its queue stays, so what waits there expires back to the router.
    assert depth(fresh_broker_url, partner_queue(drop)) == 1
    # Its password is gone: re-adding the partner later issues a new one.
    assert not password_file(credentials, drop).exists()
    params = pika.URLParameters(partner_amqp_url(fresh_broker_url, drop, "any-old-password-x"))
    params.connection_attempts = 1
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        close(pika.BlockingConnection(params))


def test_removal_leaves_other_vhosts_partner_users_alone(
    admin: ManagementClient,
    fresh_broker_url: str,
    broker_vhost: str,
    made_users: list[str],
    tmp_path: Path,
) -> None:
    """Users are broker-wide: a network (or a test run) on another vhost keeps its partners."""
    (other,) = new_ids("po")
    made_users.append(other)
    admin.put_user(partner_username(other), secrets.token_urlsafe(32))
    admin.set_permissions(broker_vhost, partner_username(other), *partner_permissions(other))
    (mine,) = new_ids("pm")
    made_users.append(mine)
    _, _, removed = run_provision(admin, fresh_broker_url, [mine], tmp_path / "c")
    assert removed == []
    assert partner_username(other) in admin.list_users()


def test_provision_refuses_a_credentials_dir_open_to_others(
    admin: ManagementClient, fresh_broker_url: str, tmp_path: Path
) -> None:
    credentials = tmp_path / "open"
    credentials.mkdir(mode=0o755)
    credentials.chmod(0o755)
    with pytest.raises(ProvisionError, match="chmod 700"):
        run_provision(admin, fresh_broker_url, new_ids("pa"), credentials)


def test_provision_refuses_a_vhost_other_than_the_broker_urls(
    admin: ManagementClient, fresh_broker_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ProvisionError, match="differs"):
        provision(
            admin,
            "/",
            new_ids("pa"),
            tmp_path / "c",
            broker_settings=BrokerSettings(urls=(fresh_broker_url,)),
            limits=RoutingLimits(),
        )


# Isolation: what partner A can and cannot do


@dataclass(frozen=True)
class Network:
    url: str
    credentials: Path
    a: str
    b: str


@pytest.fixture(scope="module")
def network(
    broker_vhost: str, management_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Network]:
    """Partners A and B provisioned in a vhost of this module's own."""
    vhost = f"{broker_vhost}-iso-{secrets.token_hex(3)}"
    rabbitmqctl("add_vhost", vhost)
    admin = ManagementClient(management_url, "guest", "guest")
    a, b = new_ids("pa", "pb")
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}/{quote(vhost, safe='')}"
        credentials = tmp_path_factory.mktemp("isolation") / "credentials"
        run_provision(admin, url, [a, b], credentials)
        yield Network(url, credentials, a, b)
    finally:
        for partner_id in (a, b):
            admin.delete_user(partner_username(partner_id))
        rabbitmqctl("delete_vhost", vhost)


Attempt = Callable[[BlockingChannel, str, str], object]


def _publish(exchange: str, routing_key: str) -> Attempt:
    def attempt(channel: BlockingChannel, a: str, b: str) -> object:
        channel.confirm_delivery()
        key = routing_key.format(a=a, b=b)
        channel.basic_publish(exchange, key, b"not for you", mandatory=True)
        return None

    return attempt


REFUSED: dict[str, Attempt] = {
    "basic_get on B's queue": lambda ch, a, b: ch.basic_get(partner_queue(b), auto_ack=True),
    "basic_consume on B's queue": lambda ch, a, b: ch.basic_consume(
        partner_queue(b), lambda *_: None
    ),
    "declare B's queue": lambda ch, a, b: ch.queue_declare(
        partner_queue(b), durable=True, arguments={"x-queue-type": "quorum"}
    ),
    "declare its own queue anew": lambda ch, a, b: ch.queue_declare(
        partner_queue(a), durable=True, arguments={"x-queue-type": "quorum"}
    ),
    "declare a queue of its own naming": lambda ch, a, b: ch.queue_declare(
        f"{partner_queue(a)}-copy", durable=True
    ),
    "declare a server-named exclusive queue": lambda ch, a, b: ch.queue_declare("", exclusive=True),
    "delete B's queue": lambda ch, a, b: ch.queue_delete(partner_queue(b)),
    "purge B's queue": lambda ch, a, b: ch.queue_purge(partner_queue(b)),
    "delete its own queue": lambda ch, a, b: ch.queue_delete(partner_queue(a)),
    # Binding its own queue under B's routing key would copy B's requests to A.
    "bind its own queue to B's routing key": lambda ch, a, b: ch.queue_bind(
        partner_queue(a), PARTNER_EXCHANGE, routing_key=b
    ),
    "bind B's queue to the declines exchange": lambda ch, a, b: ch.queue_bind(
        partner_queue(b), DECLINES_EXCHANGE, routing_key=DECLINES_ROUTING_KEY
    ),
    # ...and so would binding the declines exchange (which it may write) under B's key.
    "bind haven.declines to haven.partners": lambda ch, a, b: ch.exchange_bind(
        DECLINES_EXCHANGE, PARTNER_EXCHANGE, routing_key=b
    ),
    "declare an exchange": lambda ch, a, b: ch.exchange_declare(f"haven.{a}", durable=True),
    "delete haven.declines": lambda ch, a, b: ch.exchange_delete(DECLINES_EXCHANGE),
    "publish to B via haven.partners": _publish(PARTNER_EXCHANGE, "{b}"),
    "publish to B via the default exchange": _publish("", "haven.partner.{b}"),
    "publish into its own queue via the default exchange": _publish("", "haven.partner.{a}"),
    "publish straight into the router's returned queue": _publish(
        RETURNED_EXCHANGE, RETURNED_ROUTING_KEY
    ),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_partner_a_is_refused(network: Network, what: str) -> None:
    guest_publish(network.url, PARTNER_EXCHANGE, network.b, b"a request for B")
    waiting = depth(network.url, partner_queue(network.b))
    connection = as_partner(network.url, network.credentials, network.a)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            REFUSED[what](connection.channel(), network.a, network.b)
        assert caught.value.reply_code == ACCESS_REFUSED, caught.value
        assert "ACCESS_REFUSED" in caught.value.reply_text
        # Only the channel is closed; the partner's own work goes on.
        assert connection.is_open
    finally:
        close(connection)
    assert depth(network.url, partner_queue(network.b)) == waiting


@pytest.mark.parametrize("claimed", ["b", "guest"])
def test_partner_a_cannot_decline_in_anyone_elses_name(network: Network, claimed: str) -> None:
    """user_id is checked by the broker: the router can trust who declined."""
    user_id = partner_username(network.b) if claimed == "b" else "guest"
    connection = as_partner(network.url, network.credentials, network.a)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            channel.basic_publish(
                DECLINES_EXCHANGE,
                DECLINES_ROUTING_KEY,
                b"a forged decline",
                pika.BasicProperties(user_id=user_id),
            )
        assert caught.value.reply_code == PRECONDITION_FAILED, caught.value
    finally:
        close(connection)


def test_partner_a_takes_its_own_requests_and_declines(network: Network) -> None:
    marker = secrets.token_bytes(16)
    guest_publish(network.url, PARTNER_EXCHANGE, network.a, marker)
    user = partner_username(network.a)
    connection = as_partner(network.url, network.credentials, network.a)
    try:
        channel = connection.channel()
        method, _, body = channel.basic_get(partner_queue(network.a))
        assert method is not None and body == marker
        channel.confirm_delivery()
        channel.basic_publish(
            DECLINES_EXCHANGE,
            DECLINES_ROUTING_KEY,
            body,
            pika.BasicProperties(user_id=user, delivery_mode=pika.DeliveryMode.Persistent),
            mandatory=True,
        )
        channel.basic_ack(method.delivery_tag)
    finally:
        close(connection)
    guest = pika.BlockingConnection(pika.URLParameters(network.url))
    try:
        declines = []
        while True:
            got, properties, body = guest.channel().basic_get(RETURNED_QUEUE, auto_ack=True)
            if got is None:
                break
            declines.append((properties.user_id, body))
    finally:
        close(guest)
    assert (user, marker) in declines


def test_a_partner_cannot_open_more_connections_than_its_limit(network: Network) -> None:
    """A flood of connections (a runaway script, a stolen password) stops at the user's limit."""
    opened = []
    try:
        for _ in range(PARTNER_LIMITS["max-connections"]):
            opened.append(as_partner(network.url, network.credentials, network.a))
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            opened.append(as_partner(network.url, network.credentials, network.a))
    finally:
        for connection in opened:
            if connection.is_open:
                connection.close()


def test_partner_users_have_no_management_api(network: Network, management_url: str) -> None:
    client = ManagementClient(
        management_url,
        partner_username(network.a),
        password_of(network.credentials, network.a),
    )
    with pytest.raises(ManagementError) as caught:
        client.list_users()
    assert caught.value.status == 401


# The command


def test_haven_provision_command(
    *,
    fresh_broker_url: str,
    management_url: str,
    made_users: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, hooked = new_ids("pa", "pb", "pw")
    made_users.extend([a, b, hooked])
    key = NetworkKey.generate()
    now = datetime.now(UTC)
    directory = empty_directory("haven-test", now=now)
    for partner_id in (a, b):
        directory = with_partner(
            directory, partner_entry(partner_id, PrivateKey.generate()), now=now
        )
    directory = with_partner(
        directory,
        partner_entry(
            hooked,
            PrivateKey.generate(),
            delivery={"kind": "webhook", "url": "https://partner.example/hook"},
        ),
        now=now,
    )
    (tmp_path / "network.pub").write_text(key.verify_key.to_text() + "\n")
    (tmp_path / "directory.json").write_bytes(sign_directory(directory, key))
    monkeypatch.setenv("HAVEN_AMQP_URL", fresh_broker_url)
    monkeypatch.delenv("HAVEN_MANAGEMENT_USER", raising=False)
    monkeypatch.delenv("HAVEN_MANAGEMENT_PASSWORD_FILE", raising=False)
    credentials = tmp_path / "credentials"
    argv = [
        "provision",
        "--directory",
        str(tmp_path / "directory.json"),
        "--network-key",
        str(tmp_path / "network.pub"),
        "--credentials-dir",
        str(credentials),
        "--management-url",
        management_url,
    ]

    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("created") and a in line for line in lines), out
    assert any(line.startswith("created") and b in line for line in lines), out
    assert any(line.startswith("skipped") and hooked in line for line in lines), out
    assert not password_file(credentials, hooked).exists()
    passwords = [password_of(credentials, partner_id) for partner_id in (a, b)]
    assert not any(password in out for password in passwords)

    directory = without_partner(directory, b, now=now)
    (tmp_path / "directory.json").write_bytes(sign_directory(directory, key))
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("updated") and a in line for line in out.splitlines()), out
    assert any(line.startswith("removed") and b in line for line in out.splitlines()), out
    assert not any(password in out for password in passwords)

    # A wrong admin password: one line naming the status, never the password.
    secret = "wrong-" + secrets.token_hex(8)
    (tmp_path / "admin.password").write_text(secret + "\n")
    monkeypatch.setenv("HAVEN_MANAGEMENT_PASSWORD_FILE", str(tmp_path / "admin.password"))
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "HTTP 401" in captured.err and secret not in captured.err + captured.out
    assert len(captured.err.strip().splitlines()) == 1
