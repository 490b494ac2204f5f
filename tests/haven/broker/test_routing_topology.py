"""The routing topology: one description, declared idempotently, rendered to the definitions file."""

from __future__ import annotations

import json

import pika
import pytest

from haven.broker import BrokerSettings
from haven.broker.connection import connect, declare
from haven.broker.definitions import DEMO_PARTNER_IDS, definitions_json
from haven.broker.limits import RoutingLimits
from haven.broker.topology import (
    INTAKE_QUEUE,
    QUARANTINE_QUEUE,
    RETURNED_QUEUE,
    SettingsError,
    partner_of_queue,
    partner_queue,
    routing_topology,
    topology,
)
from tests.conftest import ON_RABBITMQ4
from tests.repo import REPO

DEFINITIONS = REPO / "deploy" / "rabbitmq" / "definitions.json"


def test_committed_definitions_file_is_what_the_code_generates() -> None:
    # Regenerate with: python -m haven.broker.definitions > deploy/rabbitmq/definitions.json
    assert DEFINITIONS.read_text(encoding="utf-8") == definitions_json()


def test_definitions_hold_no_users_or_secrets_and_every_queue_is_quorum() -> None:
    document = json.loads(definitions_json())
    assert set(document) == {"vhosts", "exchanges", "queues", "bindings"}
    for queue in document["queues"]:
        arguments = queue["arguments"]
        assert arguments["x-queue-type"] == "quorum"
        assert arguments["x-overflow"] == "reject-publish"
        assert "x-max-length" in arguments
        if "x-dead-letter-exchange" in arguments:
            assert arguments["x-dead-letter-strategy"] == "at-least-once"
    names = {queue["name"] for queue in document["queues"]}
    assert {partner_queue(p) for p in DEMO_PARTNER_IDS} <= names


def test_every_quorum_queue_names_its_delivery_limit() -> None:
    # RabbitMQ 4 gives a quorum queue without one a limit of 20 (3.10: none).
    wanted = routing_topology(BrokerSettings(), RoutingLimits(), DEMO_PARTNER_IDS)
    for queue in wanted.queues:
        assert isinstance(queue.arguments.get("x-delivery-limit"), int), queue.name


def _returns_before_it_is_gone(
    channel: pika.adapters.blocking_connection.BlockingChannel, queue: str
) -> int:
    """Take the one message in `queue` and hand it back (reject, requeue) until it is gone, at most 30 times."""
    channel.basic_publish("", queue, b"held", pika.BasicProperties(delivery_mode=2))
    for returns in range(30):
        method, _, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            return returns
        assert body == b"held"
        channel.basic_reject(method.delivery_tag, requeue=True)
    channel.queue_purge(queue)
    return 30


def test_quarantine_keeps_a_message_past_rabbitmq4s_default_delivery_limit(
    fresh_broker_url: str,
) -> None:
    """Quarantine has no dead-letter exchange: a message past its delivery limit would be dropped.

    Its explicit limit (1000) keeps an operator's repeated looks from losing
    a request; a quorum queue without one loses it after 20 on RabbitMQ 4.
    """
    settings = BrokerSettings(urls=(fresh_broker_url,))
    connection = connect(settings)
    try:
        channel = connection.channel()
        declare(channel, topology(settings))
        channel.confirm_delivery()
        assert _returns_before_it_is_gone(channel, QUARANTINE_QUEUE) == 30
        # The control: the same queue without the explicit limit.
        channel.queue_declare("test.no-limit", durable=True, arguments={"x-queue-type": "quorum"})
        assert _returns_before_it_is_gone(channel, "test.no-limit") == (21 if ON_RABBITMQ4 else 30)
    finally:
        connection.close()


def test_intake_part_is_unchanged() -> None:
    settings = BrokerSettings()
    full = routing_topology(settings, RoutingLimits(), ["p-one"])
    base = topology(settings)
    assert full.queues[: len(base.queues)] == base.queues
    (intake,) = [q for q in full.queues if q.name == INTAKE_QUEUE]
    assert intake.arguments == base.queues[0].arguments


def test_partner_ids_cannot_inject_queue_names() -> None:
    with pytest.raises(SettingsError):
        routing_topology(BrokerSettings(), RoutingLimits(), ["ok-id", "evil.quarantine"])


def test_partner_of_queue_reads_back_only_partner_queues() -> None:
    assert partner_of_queue(partner_queue("deserters-help")) == "deserters-help"
    # Operators' status must not list the intake, quarantine or retry queues,
    # nor a queue someone created by hand, as a partner.
    for name in (INTAKE_QUEUE, RETURNED_QUEUE, "haven.partner.", "haven.partner.Evil.x", "other"):
        assert partner_of_queue(name) is None, name


@pytest.mark.broker
def test_routing_topology_declares_idempotently_with_explicit_limits(
    fresh_broker_url: str,
) -> None:
    settings = BrokerSettings(urls=(fresh_broker_url,))
    wanted = routing_topology(settings, RoutingLimits(), DEMO_PARTNER_IDS)
    connection = connect(settings)
    try:
        channel = connection.channel()
        declare(channel, wanted)
        declare(channel, wanted)
        declare(channel, wanted, passive=True)
        for queue in (RETURNED_QUEUE, partner_queue("demo-lawyers")):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
                channel.queue_declare(
                    queue,
                    durable=True,
                    arguments={"x-queue-type": "quorum", "x-delivery-limit": 999},
                )
            assert refused.value.reply_code == 406
            channel = connection.channel()
    finally:
        connection.close()
