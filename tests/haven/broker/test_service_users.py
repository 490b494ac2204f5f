"""Haven's own broker users against the real broker: what each service may do, and what it is refused.

Like partner isolation (test_provision.py): one refused operation (403,
ACCESS_REFUSED) for every right a service lacks, and the work it must do.
Users are global to the broker, so this module's users carry a random
prefix and are deleted at the end.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from haven.broker.connection import declare, declare_topology
from haven.broker.limits import RoutingLimits
from haven.broker.management import ManagementClient
from haven.broker.provision import ProvisionError, provision, provision_services, user_amqp_url
from haven.broker.publisher import ConfirmedPublisher
from haven.broker.service_users import ROLES, service_permissions
from haven.broker.settings import BrokerSettings
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    INTAKE_EXCHANGE,
    INTAKE_QUEUE,
    INTAKE_ROUTING_KEY,
    PARTNER_EXCHANGE,
    QUARANTINE_EXCHANGE,
    QUARANTINE_ROUTING_KEY,
    RETRY_EXCHANGE,
    UNASSIGNED_EXCHANGE,
    UNASSIGNED_QUEUE,
    UNASSIGNED_ROUTING_KEY,
    backlog_queues,
    partner_queue,
    partner_username,
    retry_routing_key,
    routing_topology,
)
from tests.conftest import BROKER_HOST, BROKER_PORT, rabbitmqctl

pytestmark = pytest.mark.broker

ACCESS_REFUSED = 403


@dataclass(frozen=True)
class Services:
    url: str  # the admin's (guest) URL of this module's vhost
    users: dict[str, str]  # role -> user name
    credentials: Path
    by_queue: str  # a partner that pulls from its queue
    by_webhook: str  # a partner served by the webhook deliverer

    def url_of(self, role: str) -> str:
        password = (self.credentials / f"{role}.password").read_text().strip()
        return user_amqp_url(self.url, self.users[role], password)

    def connect(self, role: str) -> BlockingConnection:
        params = pika.URLParameters(self.url_of(role))
        params.connection_attempts = 1
        params.socket_timeout = 5
        return pika.BlockingConnection(params)


@pytest.fixture(scope="module")
def services(
    broker_vhost: str, management_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """The routing topology and the three service users in a vhost of this module's own."""
    vhost = f"{broker_vhost}-svc-{secrets.token_hex(3)}"
    rabbitmqctl("add_vhost", vhost)
    admin = ManagementClient(management_url, "guest", "guest")
    suffix = secrets.token_hex(4)
    prefix = f"haven-test-{suffix}-"
    by_queue, by_webhook = f"pq-{suffix}", f"pw-{suffix}"
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}/{quote(vhost, safe='')}"
        base = tmp_path_factory.mktemp("services")
        provision(
            admin,
            vhost,
            [by_queue, by_webhook],
            base / "partners",
            broker_settings=BrokerSettings(urls=(url,)),
            limits=RoutingLimits(),
        )
        credentials = base / "services"
        users = provision_services(admin, vhost, [by_webhook], credentials, prefix=prefix)
        yield Services(url, dict(zip(ROLES, users, strict=True)), credentials, by_queue, by_webhook)
    finally:
        for user in (
            *(prefix + role for role in ROLES),
            *map(partner_username, [by_queue, by_webhook]),
        ):
            admin.delete_user(user)
        rabbitmqctl("delete_vhost", vhost)


Attempt = Callable[[BlockingChannel, Services], object]


def _publish(exchange: str, routing_key: str) -> Attempt:
    def attempt(channel: BlockingChannel, s: Services) -> object:
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key.format(q=s.by_queue), b"x", mandatory=True)
        return None

    return attempt


# One refused operation per right each service lacks (and a few more that
# would hurt most): (role, what) -> the operation.
REFUSED: dict[tuple[str, str], Attempt] = {
    # The intake: write on the intake exchange, and nothing else at all.
    ("intake", "configure: delete the intake queue"): lambda ch, s: ch.queue_delete(INTAKE_QUEUE),
    ("intake", "configure: declare a queue"): lambda ch, s: ch.queue_declare(
        "haven.copy", durable=True
    ),
    ("intake", "configure: delete a partner's queue"): lambda ch, s: ch.queue_delete(
        partner_queue(s.by_queue)
    ),
    ("intake", "read: purge a partner's queue"): lambda ch, s: ch.queue_purge(
        partner_queue(s.by_queue)
    ),
    ("intake", "read: take from the intake queue"): lambda ch, s: ch.basic_get(INTAKE_QUEUE),
    ("intake", "write: publish to a partner"): _publish(PARTNER_EXCHANGE, "{q}"),
    ("intake", "write: publish via the default exchange"): _publish("", INTAKE_QUEUE),
    ("intake", "write: publish to unassigned"): _publish(
        UNASSIGNED_EXCHANGE, UNASSIGNED_ROUTING_KEY
    ),
    # The router: its own topology's names only; no partner's or retry queue to read.
    ("router", "configure: declare a queue outside the topology"): lambda ch, s: ch.queue_declare(
        "haven.copy", durable=True
    ),
    ("router", "read: take from a partner's queue"): lambda ch, s: ch.basic_get(
        partner_queue(s.by_queue)
    ),
    ("router", "read: purge a partner's queue"): lambda ch, s: ch.queue_purge(
        partner_queue(s.by_queue)
    ),
    ("router", "read: take from a retry queue"): lambda ch, s: ch.basic_get("haven.retry.1"),
    ("router", "write: publish via the default exchange"): _publish("", "haven.partner.{q}"),
    # The deliverer: the webhook partners' queues and its two exchanges.
    ("deliver", "configure: delete a webhook partner's queue"): lambda ch, s: ch.queue_delete(
        partner_queue(s.by_webhook)
    ),
    ("deliver", "read: take from a queue partner's queue"): lambda ch, s: ch.basic_get(
        partner_queue(s.by_queue)
    ),
    ("deliver", "read: take from the intake queue"): lambda ch, s: ch.basic_get(INTAKE_QUEUE),
    ("deliver", "write: publish to a partner"): _publish(PARTNER_EXCHANGE, "{q}"),
    ("deliver", "write: publish to the intake"): _publish(INTAKE_EXCHANGE, INTAKE_ROUTING_KEY),
    # A webhook that failed every tier goes back to the router as a decline.
    ("deliver", "write: publish to quarantine"): _publish(
        QUARANTINE_EXCHANGE, QUARANTINE_ROUTING_KEY
    ),
}


def _depths(url: str, queues: list[str]) -> dict[str, int]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        return {q: int(channel.queue_declare(q, passive=True).method.message_count) for q in queues}
    finally:
        connection.close()


@pytest.mark.parametrize(("role", "what"), sorted(REFUSED))
def test_service_is_refused(services: Services, role: str, what: str) -> None:
    watched = [INTAKE_QUEUE, partner_queue(services.by_queue), partner_queue(services.by_webhook)]
    before = _depths(services.url, watched)
    connection = services.connect(role)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            REFUSED[(role, what)](connection.channel(), services)
        assert caught.value.reply_code == ACCESS_REFUSED, caught.value
        assert "ACCESS_REFUSED" in caught.value.reply_text
    finally:
        if connection.is_open:
            connection.close()
    # Nothing was deleted, purged or added on the way.
    assert _depths(services.url, watched) == before


def test_every_right_a_service_lacks_has_a_refused_operation() -> None:
    for role in ROLES:
        configure, write, read = service_permissions(role, ["pw-abc"])
        lacking = {"configure", "write", "read"}  # every service lacks each in part
        tried = {what.split(":")[0] for (r, what) in REFUSED if r == role}
        assert tried == lacking, (role, configure, write, read)


def test_intake_publishes_to_the_intake_and_checks_the_topology_passively(
    services: Services,
) -> None:
    url = services.url_of("intake")
    # What the intake does at start: a passive check, allowed with no configure right.
    declare_topology(BrokerSettings(urls=(url,)), passive=True)
    publisher = ConfirmedPublisher(BrokerSettings(urls=(url,)))
    try:
        publisher.publish(b"sealed", message_id="a" * 64)
        assert publisher.ready()
    finally:
        publisher.close()
    connection = pika.BlockingConnection(pika.URLParameters(services.url))
    try:
        method, _, body = connection.channel().basic_get(INTAKE_QUEUE, auto_ack=True)
        assert method is not None and body == b"sealed"
    finally:
        connection.close()


def test_intake_reads_the_backlog_of_partner_queues_passively(services: Services) -> None:
    """The backlog that prices proof of work, read with the intake's own rights (no read, no configure).

    A partner's queue counts only above half its capacity (a partner that
    reads slowly is not load); unassigned counts in full.
    """
    admin = pika.BlockingConnection(pika.URLParameters(services.url))
    channel = admin.channel()
    for queue in (partner_queue(services.by_queue), partner_queue(services.by_webhook)):
        channel.queue_purge(queue)
    channel.queue_purge(INTAKE_QUEUE)
    for n in range(5):
        channel.basic_publish(PARTNER_EXCHANGE, services.by_queue, b"waiting %d" % n)
    # Within the slow partner's half: not counted.
    channel.basic_publish(PARTNER_EXCHANGE, services.by_webhook, b"read tomorrow")
    channel.basic_publish(UNASSIGNED_EXCHANGE, UNASSIGNED_ROUTING_KEY, b"nobody serves it")
    publisher = ConfirmedPublisher(BrokerSettings(urls=(services.url_of("intake"),)))
    try:
        # A partner new to the directory whose queue is not declared yet:
        # its 404 must cost neither the other depths nor the publishing channel.
        watched = backlog_queues([services.by_queue, services.by_webhook], partner_max_length=6)
        publisher.watch({**watched, "haven.partner.not-yet": 3})
        # 5 waiting for by_queue, 3 of them within half of 6; 1 for by_webhook, within; 1 unassigned.
        expected = (5 - 3) + 0 + 1
        deadline = time.monotonic() + 15
        while publisher.backlog() != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert publisher.backlog() == expected
        publisher.publish(b"sealed", message_id="b" * 64)
        assert publisher.ready()
    finally:
        publisher.close()
        for queue in (
            partner_queue(services.by_queue),
            partner_queue(services.by_webhook),
            UNASSIGNED_QUEUE,
            INTAKE_QUEUE,
        ):
            channel.queue_purge(queue)
        admin.close()


def test_router_declares_consumes_and_routes(services: Services) -> None:
    connection = services.connect("router")
    try:
        channel = connection.channel()
        declare(
            channel,
            routing_topology(
                BrokerSettings(urls=(services.url,)),
                RoutingLimits(),
                [services.by_queue, services.by_webhook],
            ),
        )
        channel.confirm_delivery()
        for exchange, key in (
            (PARTNER_EXCHANGE, services.by_queue),
            (UNASSIGNED_EXCHANGE, UNASSIGNED_ROUTING_KEY),
            (RETRY_EXCHANGE, retry_routing_key(1)),
        ):
            channel.basic_publish(exchange, key, b"routed", mandatory=True)
        channel.basic_get(INTAKE_QUEUE, auto_ack=False)
        channel.basic_get("haven.returned", auto_ack=False)
    finally:
        connection.close()
    # Take back what was routed, as the admin.
    admin = pika.BlockingConnection(pika.URLParameters(services.url))
    try:
        channel = admin.channel()
        for queue in (partner_queue(services.by_queue), "haven.unassigned", "haven.retry.1"):
            channel.queue_purge(queue)
        channel.queue_purge("haven.quarantine")
    finally:
        admin.close()


def test_deliverer_reads_its_webhook_partner_and_publishes_its_paths(services: Services) -> None:
    admin = pika.BlockingConnection(pika.URLParameters(services.url))
    try:
        channel = admin.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            PARTNER_EXCHANGE, services.by_webhook, b"for the webhook", mandatory=True
        )
    finally:
        admin.close()
    connection = services.connect("deliver")
    try:
        channel = connection.channel()
        method, _, body = channel.basic_get(partner_queue(services.by_webhook), auto_ack=True)
        assert method is not None and body == b"for the webhook"
        channel.confirm_delivery()
        for exchange, key in (
            (DECLINES_EXCHANGE, DECLINES_ROUTING_KEY),
            (RETRY_EXCHANGE, retry_routing_key(1)),
        ):
            channel.basic_publish(exchange, key, b"handed back", mandatory=True)
    finally:
        connection.close()
    admin = pika.BlockingConnection(pika.URLParameters(services.url))
    try:
        channel = admin.channel()
        for queue in ("haven.returned", "haven.retry.1"):
            channel.queue_purge(queue)
    finally:
        admin.close()


def test_without_credentials_the_service_users_must_exist(
    services: Services, management_url: str
) -> None:
    admin = ManagementClient(management_url, "guest", "guest")
    vhost = pika.URLParameters(services.url).virtual_host
    with pytest.raises(ProvisionError, match="has no user haven-absent-intake"):
        provision_services(admin, vhost, [], None, prefix="haven-absent-")
