"""The router against the real broker, each test in a vhost of its own."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import unquote

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import INTAKE_EXCHANGE, INTAKE_QUEUE, QUARANTINE_QUEUE, BrokerSettings
from haven.broker.declines import decline_properties
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    RETURNED_QUEUE,
    UNASSIGNED_QUEUE,
    partner_queue,
    partner_username,
    retry_queue,
)
from haven.directory import empty_directory, recipient_keys, with_partner
from haven.envelope import Labels, PrivateKey, digest, seal
from haven.store import Consumption
from schemas.directory import Directory
from tests.conftest import rabbitmqctl
from tests.worker.conftest import (
    NOW,
    depth,
    partner_entry,
    router_settings,
    running_router,
    sealed,
    take_all,
    wait_until,
)
from worker import declare_routing
from worker.consumed import MemoryConsumedAssignments

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo", "charlie", "delta")
ELIGIBLE = ("alpha", "bravo", "charlie")


def in_partner_queues(channel: BlockingChannel) -> int:
    return sum(depth(channel, partner_queue(p)) for p in PARTNERS)


def reject_one(channel: BlockingChannel, partner_id: str) -> pika.spec.BasicProperties:
    """The partner declines the request at the head of its queue (reject, no requeue)."""
    method, properties, _ = channel.basic_get(partner_queue(partner_id))
    assert method is not None, f"nothing in {partner_id}'s queue"
    channel.basic_reject(method.delivery_tag, requeue=False)
    return properties


def holder(channel: BlockingChannel) -> str:
    """The one partner whose queue holds a message, waiting until exactly one does."""
    wait_until(lambda: in_partner_queues(channel) == 1, what="one routed message")
    (found,) = [p for p in PARTNERS if depth(channel, partner_queue(p)) == 1]
    return found


def test_request_arrives_in_exactly_one_eligible_partner_queue_byte_identical(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    envelope = sealed(directory, urgency="urgent")
    with running_router(router_settings(fresh_broker_url), directory) as router:
        message_id = publish(envelope)
        partner = holder(channel)
        wait_until(lambda: depth(channel, INTAKE_QUEUE) == 0, what="intake acked")
    # Russian is preferred: charlie (English only) is not chosen while alpha and bravo remain.
    assert partner in ("alpha", "bravo")
    ((properties, body),) = take_all(channel, partner_queue(partner))
    assert body == envelope
    assert properties.message_id == message_id == digest(envelope)
    assert properties.delivery_mode == 2
    # Urgent: the partner's shorter deadline (6 h) travels as the expiration.
    assert properties.expiration == str(6 * 3600 * 1000)
    assert properties.headers["x-haven-tried"] == partner
    assert properties.headers["x-haven-partner"] == partner
    assert router.metrics.value("routed", category="desertion", partner=partner) == 1
    assert in_partner_queues(channel) == 0


def test_decline_reroutes_to_the_next_partner_until_none_is_left(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    with running_router(router_settings(fresh_broker_url), directory) as router:
        message_id = publish(sealed(directory))
        order = []
        for _ in ELIGIBLE:
            partner = holder(channel)
            order.append(partner)
            properties = reject_one(channel, partner)
            assert properties.message_id == message_id
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, what="unassigned")
        metrics = router.metrics
    # Each eligible partner exactly once; the Russian speakers before charlie.
    assert sorted(order) == sorted(ELIGIBLE)
    assert order[-1] == "charlie"
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.message_id == message_id
    assert properties.headers["x-haven-reason"] == "all-partners-tried"
    assert properties.headers["x-haven-tried"] == ",".join(order)
    for partner in ELIGIBLE:
        assert (
            metrics.value("declined", category="desertion", partner=partner, reason="rejected") == 1
        )
    assert metrics.value("rerouted", category="desertion", partner=order[1]) == 1
    assert metrics.value("unassigned", category="desertion") == 1
    assert depth(channel, RETURNED_QUEUE) == 0


def test_deadline_that_passes_reroutes_and_ends_unassigned(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    # Directory deadlines are minutes at least; the network-wide cap makes them 1 s.
    settings = router_settings(fresh_broker_url, max_deadline=1)
    with running_router(settings, directory) as router:
        message_id = publish(sealed(directory))
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, timeout=20, what="unassigned")
        metrics = router.metrics
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.message_id == message_id
    assert sorted(properties.headers["x-haven-tried"].split(",")) == sorted(ELIGIBLE)
    for partner in ELIGIBLE:
        assert metrics.value("expired", category="desertion", partner=partner) == 1
    assert in_partner_queues(channel) == 0


def test_no_eligible_partner_goes_to_unassigned(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    # Sealed to delta (asylum) but labelled evacuation, which nobody serves.
    envelope = seal(
        b"x",
        Labels("evacuation", "ru-central", "ru", "normal"),
        recipient_keys(directory, "asylum", "ru-central"),
    )
    with running_router(router_settings(fresh_broker_url), directory):
        publish(envelope)
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, what="unassigned")
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.headers["x-haven-reason"] == "no-eligible-partner"
    assert in_partner_queues(channel) == 0


def test_poison_and_forged_ids_end_in_quarantine_with_a_reason(
    fresh_broker_url: str, directory: Directory, channel: BlockingChannel
) -> None:
    envelope = sealed(directory)
    with running_router(router_settings(fresh_broker_url), directory) as router:
        for body, message_id in ((b"not an envelope", "x" * 64), (envelope, "0" * 64)):
            channel.basic_publish(
                INTAKE_EXCHANGE,
                "request",
                body,
                pika.BasicProperties(delivery_mode=2, message_id=message_id),
            )
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 2, what="quarantine")
        wait_until(lambda: depth(channel, INTAKE_QUEUE) == 0, what="intake acked")
        metrics = router.metrics
    reasons = sorted(p.headers["x-haven-reason"] for p, _ in take_all(channel, QUARANTINE_QUEUE))
    assert reasons == ["id-mismatch", "malformed-envelope"]
    assert metrics.value("quarantined", category="unknown") == 2
    assert in_partner_queues(channel) == 0


def test_transient_failure_goes_through_the_retry_tiers_then_quarantine(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    settings = router_settings(fresh_broker_url)
    with running_router(settings, directory) as router:
        # Every partner queue gone: each publish to a partner is returned unroutable.
        for partner in PARTNERS:
            channel.queue_delete(partner_queue(partner))
        started = time.monotonic()
        message_id = publish(sealed(directory))
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 1, timeout=20, what="quarantine")
        elapsed = time.monotonic() - started
        metrics = router.metrics
    ((properties, _),) = take_all(channel, QUARANTINE_QUEUE)
    assert properties.message_id == message_id
    assert properties.headers["x-haven-reason"] == "retries-exhausted"
    # Two tiers of 1 s each were waited through before giving up.
    assert elapsed >= 2
    assert sum(depth(channel, retry_queue(tier)) for tier in (1, 2)) == 0
    retries = sum(metrics.value("retries", category="desertion", partner=p) for p in PARTNERS)
    assert retries == 3


def test_transient_failure_recovers_when_the_partner_queue_is_back(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    settings = router_settings(fresh_broker_url)
    with running_router(settings, directory):
        for partner in PARTNERS:
            channel.queue_delete(partner_queue(partner))
        publish(sealed(directory))
        wait_until(lambda: depth(channel, retry_queue(1)) == 1, what="retry tier 1")
        declare_routing(settings, frozenset(PARTNERS))
        partner = holder(channel)
    ((properties, _),) = take_all(channel, partner_queue(partner))
    assert properties.headers["x-haven-retries"] == 0
    assert depth(channel, QUARANTINE_QUEUE) == 0


def test_stop_finishes_in_flight_and_loses_nothing(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    settings = router_settings(fresh_broker_url, prefetch=50)
    declare_routing(settings, frozenset(PARTNERS))
    ids = {publish(sealed(directory, content=str(i).encode())) for i in range(300)}
    with running_router(settings, directory):
        wait_until(lambda: in_partner_queues(channel) >= 20, what="routing under way")
    # Stopped mid-stream: every request is either routed or still in the
    # intake queue, none in both, none acked without being routed.
    routed = in_partner_queues(channel)
    assert routed > 0
    # What the stopped router held unacked goes back to the intake queue when
    # its connection closes; a quorum queue counts it as ready a moment
    # later, so the sum is awaited, and must then be exact.
    wait_until(
        lambda: in_partner_queues(channel) + depth(channel, INTAKE_QUEUE) == len(ids),
        what="every request routed or back in the intake queue",
    )
    assert in_partner_queues(channel) == routed
    with running_router(settings, directory):
        wait_until(lambda: in_partner_queues(channel) == len(ids), what="all routed")
    found = Counter(
        p.message_id for partner in PARTNERS for p, _ in take_all(channel, partner_queue(partner))
    )
    assert set(found) == ids
    assert max(found.values()) == 1


def test_two_routers_compete_and_route_each_request_exactly_once(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    settings = router_settings(fresh_broker_url, prefetch=10)
    declare_routing(settings, frozenset(PARTNERS))
    count = 300
    envelopes = [sealed(directory, content=str(i).encode()) for i in range(count)]
    ids: set[str] = set()
    with (
        running_router(settings, directory) as first,
        running_router(settings, directory) as second,
    ):
        sender = threading.Thread(target=lambda: ids.update(publish(e) for e in envelopes))
        sender.start()
        sender.join(60)
        wait_until(lambda: in_partner_queues(channel) == count, timeout=30, what="all routed")
        shares = [
            sum(r.metrics.value("routed", category="desertion", partner=p) for p in PARTNERS)
            for r in (first, second)
        ]
    assert sum(shares) == count
    assert min(shares) > 0, f"one router did all the work: {shares}"
    per_partner = {
        partner: [p.message_id for p, _ in take_all(channel, partner_queue(partner))]
        for partner in PARTNERS
    }
    found = Counter(message_id for got in per_partner.values() for message_id in got)
    assert set(found) == ids
    assert max(found.values()) == 1
    # Only the Russian speakers, spread by capacity (alpha 10, bravo 30).
    assert per_partner["charlie"] == per_partner["delta"] == []
    assert len(per_partner["bravo"]) > 1.8 * len(per_partner["alpha"]) > 0


@pytest.mark.parametrize(
    "case",
    [
        # Only Haven's own webhook delivery may say its retries ran out: from
        # a partner, the reason would turn "unassigned" into quarantine.
        ("webhook-failed", QUARANTINE_QUEUE),
        # The same partner user's ordinary decline is taken (the control).
        ("no-capacity", partner_queue("bravo")),
    ],
)
def test_a_partner_cannot_send_the_webhook_deliverers_decline(
    fresh_broker_url: str,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
    case: tuple[str, str],
) -> None:
    reason, ends_in = case
    # A partner id (and so a broker user) of this test alone: users are per broker, not per vhost.
    partner_id = f"a-{secrets.token_hex(4)}"
    d = empty_directory("haven-test", now=NOW)
    d = with_partner(d, partner_entry(partner_id, partner_keys["alpha"]), now=NOW)
    d = with_partner(d, partner_entry("bravo", partner_keys["bravo"]), now=NOW)
    user, password = partner_username(partner_id), secrets.token_hex(16)
    vhost = unquote(fresh_broker_url.rsplit("/", 1)[1])
    rabbitmqctl("add_user", user, password)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        partner_url = fresh_broker_url.replace("guest:guest@", f"{user}:{password}@")
        # uniform 0: the first candidate by id, the partner under test.
        with running_router(router_settings(fresh_broker_url), d, uniform=lambda _: 0.0):
            message_id = publish(sealed(d))
            wait_until(lambda: depth(channel, partner_queue(partner_id)) == 1, what="routed")
            connection = pika.BlockingConnection(pika.URLParameters(partner_url))
            try:
                own = connection.channel()
                own.confirm_delivery()
                method, properties, body = own.basic_get(partner_queue(partner_id))
                assert method is not None
                own.basic_publish(
                    DECLINES_EXCHANGE,
                    DECLINES_ROUTING_KEY,
                    body,
                    decline_properties(properties, reason, user_id=user),
                    mandatory=True,
                )
                own.basic_ack(method.delivery_tag)
            finally:
                connection.close()
            wait_until(lambda: depth(channel, ends_in) == 1, what=ends_in)
    finally:
        rabbitmqctl("delete_user", user)
    ((properties, _),) = take_all(channel, ends_in)
    assert properties.message_id == message_id
    if ends_in == QUARANTINE_QUEUE:
        assert properties.headers["x-haven-reason"] == "forged-decline"
    assert depth(channel, UNASSIGNED_QUEUE) == 0


class _Recording:
    """The in-process record, noting every nonce the router consumes."""

    def __init__(self) -> None:
        self.inner = MemoryConsumedAssignments(1000)
        self.nonces: list[bytes] = []

    def consume(self, nonce: bytes) -> Consumption:
        self.nonces.append(nonce)
        return self.inner.consume(nonce)

    def settle(self, nonce: bytes) -> None:
        self.inner.settle(nonce)


def test_a_decline_quarantine_refuses_is_rejected_and_its_assignment_left_unsettled(
    fresh_broker_url: str, directory: Directory, channel: BlockingChannel
) -> None:
    """Quarantine is full: the decline is rejected (dead-lettered there), not acked.

    A reject has no confirm: if the connection died before the broker took
    it, the decline comes back redelivered, and must find its assignment
    unsettled so that it is finished. Settled, it would be acked as work
    already done and the request would be lost.
    """
    url = fresh_broker_url
    settings = router_settings(url, broker=BrokerSettings(urls=(url,), quarantine_max_length=1))
    record = _Recording()
    envelope = sealed(directory)
    with running_router(settings, directory, consumed=record) as router:
        channel.basic_publish(
            INTAKE_EXCHANGE,
            "request",
            envelope,
            pika.BasicProperties(delivery_mode=2, message_id=digest(envelope)),
        )
        partner = holder(channel)
        # Quarantine over its length (reject-publish, a quorum queue's soft
        # limit): the router's publish there is refused.
        for _ in range(2):
            channel.basic_publish("", QUARANTINE_QUEUE, b"filler")
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 2, what="quarantine full")
        method, received, body = channel.basic_get(partner_queue(partner), auto_ack=True)
        assert method is not None
        user = unquote(url.split("//", 1)[1].split(":", 1)[0])
        channel.basic_publish(
            DECLINES_EXCHANGE,
            DECLINES_ROUTING_KEY,
            body,
            decline_properties(received, "undecryptable", user_id=user),
        )
        wait_until(
            lambda: router.metrics.value("quarantined", category="desertion") == 1,
            what="the decline sent to quarantine",
        )
        # Held by at-least-once dead-lettering, not acked away.
        assert depth(channel, QUARANTINE_QUEUE) == 2
    (nonce,) = record.nonces
    assert record.inner.consume(nonce) == "unsettled"
