"""A cluster node dies: Haven's connections move to the next node and no accepted request is lost.

There is one RabbitMQ here: each "node" is a forwarder in front of it
(tests.forwarder), killed to play a node that dies.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pika
import pytest

from haven.broker import (
    INTAKE_QUEUE,
    BrokerSettings,
    BrokerUnavailable,
    ConfirmedPublisher,
    declare_topology,
)
from haven.broker.connection import connect
from tests.forwarder import Forwarder, dead_url, forwarders
from tests.haven.broker.conftest import drain

pytestmark = pytest.mark.broker


def test_a_dead_first_node_is_passed_over_by_every_kind_of_connection(
    fresh_broker_url: str,
) -> None:
    with forwarders(1) as [live]:
        settings = BrokerSettings(
            urls=(dead_url(fresh_broker_url), live.url(fresh_broker_url)),
            publish_timeout=3.0,
            connect_timeout=1.0,
        )
        # One-off connections (provision, ops, a partner's pull): the list in order.
        declare_topology(settings)
        connection = connect(settings)
        assert connection.is_open
        connection.close()
        # The intake's publisher: its own I/O thread, one node at a time.
        publisher = ConfirmedPublisher(settings)
        try:
            publish_soon(publisher, "second", within=10)
        finally:
            publisher.close()
        assert live.accepted >= 3
    admin = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        queued = drain(admin.channel(), INTAKE_QUEUE)
    finally:
        admin.close()
    assert [properties.message_id for properties, _ in queued] == ["second"]


def test_the_publisher_moves_to_the_next_node_and_loses_no_accepted_request(
    fresh_broker_url: str,
) -> None:
    declare_topology(BrokerSettings(urls=(fresh_broker_url,)))
    with forwarders(2) as [first, second]:
        settings = through(fresh_broker_url, first, second, publish_timeout=3.0)
        publisher = ConfirmedPublisher(settings)
        accepted: list[str] = []
        refused: list[str] = []
        lock = threading.Lock()
        killed = threading.Event()
        after_kill: list[str] = []

        def requests(worker: int) -> None:
            # As request threads of the intake: each publish gets a 202
            # (accepted) or a 503 (refused), never both.
            for number in range(10_000):
                message_id = f"{worker}-{number}"
                was_killed = killed.is_set()
                try:
                    publisher.publish(message_id.encode(), message_id=message_id)
                except BrokerUnavailable:
                    with lock:
                        refused.append(message_id)
                    time.sleep(0.02)
                else:
                    with lock:
                        accepted.append(message_id)
                        if was_killed:
                            after_kill.append(message_id)
                with lock:
                    if len(after_kill) >= 100:
                        return

        try:
            threads = [threading.Thread(target=requests, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while len(accepted) < 100:
                assert time.monotonic() < deadline, "publishing never got under way"
                time.sleep(0.01)
            assert first.accepted >= 1 and second.accepted == 0
            first.kill()  # mid-stream: publishes in flight on the first node
            killed.set()
            for thread in threads:
                thread.join(timeout=30)
                assert not thread.is_alive(), "publishing did not resume on the second node"
        finally:
            publisher.close()
        assert second.accepted >= 1
    assert len(after_kill) >= 100
    admin = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        queued = Counter(p.message_id for p, _ in drain(admin.channel(), INTAKE_QUEUE))
    finally:
        admin.close()
    # Every 202 is in the queue exactly once; a 503 may or may not be
    # there (a confirm that came too late): its device sends it again,
    # under the same id, and the router drops the duplicate.
    assert {message_id: queued[message_id] for message_id in accepted} == dict.fromkeys(accepted, 1)
    assert set(queued) <= set(accepted) | set(refused)
    assert all(count == 1 for count in queued.values())


def test_a_node_that_goes_silent_is_left_for_the_next_within_seconds(
    fresh_broker_url: str,
) -> None:
    """A frozen node keeps its TCP connection: the publisher must not wait for heartbeats."""
    declare_topology(BrokerSettings(urls=(fresh_broker_url,)))
    with forwarders(2) as [first, second]:
        settings = through(fresh_broker_url, first, second, publish_timeout=2.0)
        publisher = ConfirmedPublisher(settings)
        try:
            publish_soon(publisher, "before", within=10)
            assert second.accepted == 0
            first.stalled.set()
            started = time.monotonic()
            publish_soon(publisher, "after", within=15)
            # Heartbeats (30 s, and two missed) would have taken a minute.
            assert time.monotonic() - started < 15
            assert second.accepted >= 1
        finally:
            publisher.close()


def publish_soon(publisher: ConfirmedPublisher, message_id: str, *, within: float) -> None:
    """Publish, retrying 503s, until confirmed; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            publisher.publish(b"a request", message_id=message_id)
            return
        except BrokerUnavailable:
            assert time.monotonic() < deadline, f"{message_id!r} not published in {within} s"
            time.sleep(0.1)


def through(broker_url: str, *nodes: Forwarder, publish_timeout: float) -> BrokerSettings:
    """Settings naming each forwarder as one node of the cluster, in order."""
    return BrokerSettings(
        urls=tuple(node.url(broker_url) for node in nodes),
        publish_timeout=publish_timeout,
        connect_timeout=1.0,
    )
