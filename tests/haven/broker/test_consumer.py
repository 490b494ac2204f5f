"""The confirming consumer: a handler's failure charges only the delivery it failed on."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pika
import pytest

from haven.broker import INTAKE_QUEUE, QUARANTINE_QUEUE, BrokerSettings, declare_topology
from haven.broker.consumer import ConfirmingConsumer, ConsumerSettings, Delivery, Outgoing

POISON = b"a request the handler has a bug for"
HEALTHY = b"an honest request in the same prefetch window"
# A queue of the test's own, outside Haven's topology, for what the handler publishes.
SIDE_QUEUE = "test.side"


class Handler:
    """Fails on POISON; holds HEALTHY unsettled, as a router waiting on a confirm does."""

    def __init__(self, publish_before_failing: bool = False) -> None:
        self.seen: Counter[bytes] = Counter()
        self.publish_before_failing = publish_before_failing

    def on_delivery(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None:
        self.seen[delivery.body] += 1
        if delivery.body != POISON:
            return
        if self.publish_before_failing:
            # The handler got as far as publishing: its confirm arrives after
            # the failure and would settle the delivery a second time.
            outgoing = Outgoing("", SIDE_QUEUE, delivery.body, pika.BasicProperties())
            consumer.publish(outgoing, lambda _outcome: consumer.ack(delivery))
        raise RuntimeError("a bug triggered by this one request")


def _depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def _consuming(url: str, handler: Handler) -> Iterator[ConfirmingConsumer]:
    stop = threading.Event()
    consumer = ConfirmingConsumer(
        ConsumerSettings(BrokerSettings(urls=(url,))), [INTAKE_QUEUE], handler, stop
    )
    endings: list[str] = []
    thread = threading.Thread(target=lambda: endings.append(consumer.run()), daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        stop.set()
        thread.join(timeout=15)
    # The connection lived through every failure and stopped only when asked.
    assert endings == ["stopped"]


def _publish(url: str, *bodies: bytes) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        # Durable: RabbitMQ 4 deprecates transient non-exclusive queues (and
        # the test node refuses them), a later release removes them.
        channel.queue_declare(SIDE_QUEUE, durable=True)
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish("", INTAKE_QUEUE, body, pika.BasicProperties(delivery_mode=2))
    finally:
        connection.close()


@pytest.mark.parametrize("publish_before_failing", [False, True])
def test_a_failing_handler_charges_only_its_own_delivery(
    fresh_broker_url: str, publish_before_failing: bool
) -> None:
    """A poison request ends in quarantine; the request beside it is delivered once, not spent."""
    declare_topology(BrokerSettings(urls=(fresh_broker_url,), delivery_limit=2))
    _publish(fresh_broker_url, POISON, HEALTHY)
    handler = Handler(publish_before_failing)
    with _consuming(fresh_broker_url, handler):
        _wait(lambda: _depth(fresh_broker_url, QUARANTINE_QUEUE) == 1, "the poison request")
        # Handed back on its own each time: 1 delivery + 2 redeliveries.
        assert handler.seen[POISON] == 3
        # Still unsettled in the handler's hands: never handed back, never
        # charged a delivery, never quarantined with the poison one.
        assert handler.seen[HEALTHY] == 1
    assert _depth(fresh_broker_url, QUARANTINE_QUEUE) == 1


class _WaitsForTheStore:
    """Hands a delivery back later twice (the store away), then settles it."""

    def __init__(self) -> None:
        self.at: list[float] = []
        self.counts: list[object] = []

    def on_delivery(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None:
        self.at.append(time.monotonic())
        self.counts.append((delivery.properties.headers or {}).get("x-delivery-count", 0))
        if len(self.at) <= 2:
            consumer.requeue_later(delivery, 0.5)
            # A settlement meanwhile (a late confirm) must not be a second one.
            consumer.ack(delivery)
            return
        consumer.ack(delivery)


def test_a_delivery_handed_back_later_returns_after_the_delay_and_once(
    fresh_broker_url: str,
) -> None:
    declare_topology(BrokerSettings(urls=(fresh_broker_url,)))
    _publish(fresh_broker_url, HEALTHY)
    handler = _WaitsForTheStore()
    with _consuming(fresh_broker_url, handler):
        _wait(lambda: len(handler.at) == 3, "the third delivery")
        _wait(lambda: _depth(fresh_broker_url, INTAKE_QUEUE) == 0, "the delivery settled")
    gaps = [later - earlier for earlier, later in zip(handler.at, handler.at[1:], strict=False)]
    assert all(gap >= 0.45 for gap in gaps), gaps
    # Each hand-back is a failed delivery the quorum queue counts.
    assert handler.counts == [0, 1, 2]
    assert _depth(fresh_broker_url, QUARANTINE_QUEUE) == 0
