"""Confirmed publishing against the real broker, in this run's own vhost."""

from __future__ import annotations

import gc
import os
import threading
import time
import warnings
from collections import Counter
from urllib.parse import unquote, urlsplit

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import (
    INTAKE_EXCHANGE,
    INTAKE_QUEUE,
    BrokerSettings,
    BrokerUnavailable,
    ConfirmedPublisher,
    declare_topology,
)
from tests.conftest import rabbitmqctl
from tests.haven.broker.conftest import drain

pytestmark = pytest.mark.broker


def test_published_envelope_is_in_the_queue_byte_identical(
    publisher: ConfirmedPublisher, channel: BlockingChannel
) -> None:
    drain(channel, INTAKE_QUEUE)
    envelope = os.urandom(6000)
    publisher.publish(envelope, message_id="a" * 64)
    ((properties, body),) = drain(channel, INTAKE_QUEUE)
    assert body == envelope
    assert properties.message_id == "a" * 64
    assert properties.delivery_mode == 2
    assert properties.type == "haven.envelope.v1"


def test_topology_is_declared_idempotently_with_explicit_limits(
    broker_url: str, channel: BlockingChannel
) -> None:
    declare_topology(BrokerSettings(urls=(broker_url,)))
    declare_topology(BrokerSettings(urls=(broker_url,)))
    # Redeclaring with another limit is refused by the broker: the limits we
    # think we set are the ones it holds.
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        channel.queue_declare(
            INTAKE_QUEUE,
            durable=True,
            arguments={"x-queue-type": "quorum", "x-delivery-limit": 999},
        )
    assert refused.value.reply_code == 406


def test_full_queue_refuses_the_newest_request(fresh_broker_url: str) -> None:
    settings = BrokerSettings(urls=(fresh_broker_url,), intake_max_length=2, publish_timeout=3.0)
    declare_topology(settings)
    publisher = ConfirmedPublisher(settings)
    try:
        publisher.publish(b"one", message_id="1")
        publisher.publish(b"two", message_id="2")
        # A quorum queue applies reject-publish once it is at its limit after
        # an enqueue, so it may hold one message more than x-max-length.
        outcomes = []
        for index in range(3, 6):
            try:
                publisher.publish(b"more", message_id=str(index))
                outcomes.append("accepted")
            except BrokerUnavailable as refused:
                assert refused.retry_after == settings.retry_after
                outcomes.append(refused.reason)
        assert outcomes.count("accepted") <= 1
        assert outcomes[-2:] == ["full", "full"]
        assert wait_for_depth(publisher, {2, 3}) in {2, 3}
    finally:
        publisher.close()


def test_unroutable_is_an_error_not_silence(fresh_broker_url: str) -> None:
    settings = BrokerSettings(urls=(fresh_broker_url,), publish_timeout=3.0)
    declare_topology(settings)  # as `haven provision` does: the intake only checks it
    publisher = ConfirmedPublisher(settings)
    try:
        publisher.publish(b"routable", message_id="before")
        # Someone removes the binding while the intake runs.
        connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
        connection.channel().queue_unbind(INTAKE_QUEUE, INTAKE_EXCHANGE, routing_key="request")
        connection.close()
        with pytest.raises(BrokerUnavailable) as refused:
            publisher.publish(b"lost?", message_id="x")
        assert refused.value.reason == "unroutable"
    finally:
        publisher.close()


def test_no_broker_answers_down_quickly() -> None:
    publisher = ConfirmedPublisher(
        BrokerSettings(urls=("amqp://guest:guest@127.0.0.1:1/%2F",), connect_timeout=1.0)
    )
    try:
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable) as refused:
            publisher.publish(b"x", message_id="x")
        assert refused.value.reason == "down"
        assert time.monotonic() - started < 5
        assert publisher.ready() is False
        assert publisher.intake_depth() is None
    finally:
        # Otherwise its I/O thread keeps knocking at port 1 for the rest of the run.
        publisher.close()


def connections_in(vhost: str) -> int:
    """Open AMQP connections in one vhost, as the broker itself lists them (no stats delay)."""
    listing = rabbitmqctl("list_connections", "-q", "--no-table-headers", "vhost")
    return sum(1 for line in listing.splitlines() if line.strip() == vhost)


def test_many_threads_publish_at_once_over_one_connection_and_each_hears_its_own_confirm(
    fresh_broker_url: str,
) -> None:
    # pika connections are not thread-safe: every request thread hands its
    # publish to the one I/O thread. What each caller is told must be the
    # broker's answer for its own message: a confirm handed to the wrong
    # caller would tell a requester 202 for a request the broker refused.
    # A short queue makes the broker accept some and refuse the rest.
    settings = BrokerSettings(urls=(fresh_broker_url,), intake_max_length=100, publish_timeout=10.0)
    declare_topology(settings)
    vhost = unquote(urlsplit(fresh_broker_url).path[1:])
    publisher = ConfirmedPublisher(settings)
    told: dict[bytes, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def send(worker: int) -> None:
        try:
            start.wait(timeout=30)
            for index in range(40):
                body = f"{worker}:{index}".encode()
                try:
                    publisher.publish(body, message_id=f"{worker}-{index}")
                    told[body] = "ok"
                except BrokerUnavailable as refused:
                    told[body] = refused.reason
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    try:
        publisher.publish(b"first", message_id="first")  # the connection is up
        threads = [threading.Thread(target=send, args=(worker,)) for worker in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert not any(thread.is_alive() for thread in threads)
        # Six threads, one connection: the publisher's, still open.
        assert connections_in(vhost) == 1
    finally:
        publisher.close()
    assert set(told) == {f"{w}:{i}".encode() for w in range(6) for i in range(40)}
    assert set(told.values()) == {"ok", "full"}, Counter(told.values())
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        queued = [body for _, body in drain(connection.channel(), INTAKE_QUEUE)]
    finally:
        connection.close()
    # Exactly the messages whose callers were told "ok" are on the queue, once each.
    assert sorted(queued) == sorted(
        [b"first", *(body for body, said in told.items() if said == "ok")]
    )


def test_ready_and_depth(publisher: ConfirmedPublisher, channel: BlockingChannel) -> None:
    drain(channel, INTAKE_QUEUE)
    publisher.publish(b"x", message_id="depth")
    assert publisher.ready() is True
    assert wait_for_depth(publisher, {1}) == 1


def wait_for_depth(
    publisher: ConfirmedPublisher, wanted: set[int], seconds: float = 5.0
) -> int | None:
    """The depth is polled by the publisher's I/O thread about once a second."""
    deadline = time.monotonic() + seconds
    depth = publisher.intake_depth()
    while depth not in wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        depth = publisher.intake_depth()
    return depth


def test_a_close_while_the_connection_is_closing_leaves_no_socket_open(
    settings: BrokerSettings, channel: BlockingChannel
) -> None:
    """close() arriving while a close is already under way (a channel the
    broker closed, say) must let that close finish: stopping the I/O loop
    half-way dropped the connection with its socket still open."""
    drain(channel, INTAKE_QUEUE)
    publisher = ConfirmedPublisher(settings)
    publisher.publish(b"x", message_id="closing")
    connection = publisher._connection
    assert connection is not None
    started = threading.Event()

    def begin_close(closing: object = connection) -> None:
        assert isinstance(closing, pika.SelectConnection)
        closing.close()
        started.set()

    connection.ioloop.add_callback_threadsafe(begin_close)
    assert started.wait(5)
    del connection
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        publisher.close()
        publisher._connection = None
        gc.collect()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []
