"""Broker fixtures: settings for this run's vhost, a publisher, a way to read the queue back."""

from __future__ import annotations

from collections.abc import Iterator

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import BrokerSettings, ConfirmedPublisher, declare_topology


@pytest.fixture
def settings(broker_url: str) -> BrokerSettings:
    declare_topology(BrokerSettings(urls=(broker_url,)))
    return BrokerSettings(urls=(broker_url,), publish_timeout=3.0)


@pytest.fixture
def publisher(settings: BrokerSettings) -> Iterator[ConfirmedPublisher]:
    publisher = ConfirmedPublisher(settings)
    yield publisher
    publisher.close()


@pytest.fixture
def channel(broker_url: str) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    yield connection.channel()
    connection.close()


def drain(channel: BlockingChannel, queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    """Take every message off `queue` (acked), in order."""
    taken = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return taken
        taken.append((properties, body))
