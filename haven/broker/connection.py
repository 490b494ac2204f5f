"""Opening a bounded pika connection, and declaring the topology on it."""

from __future__ import annotations

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from haven.broker.settings import BrokerSettings
from haven.broker.topology import Topology, topology


def connection_parameters(
    settings: BrokerSettings, *, blocked_timeout: bool = True
) -> pika.URLParameters:
    """Bounded connection parameters: one attempt, socket and stack timeouts, heartbeats."""
    params = pika.URLParameters(settings.url)
    params.connection_attempts = 1
    params.socket_timeout = settings.connect_timeout
    params.stack_timeout = settings.connect_timeout * 2
    if blocked_timeout:
        # A broker under a memory alarm blocks publishers; past this a
        # blocking connection is torn down so no caller waits without bound.
        params.blocked_connection_timeout = settings.publish_timeout
    params.heartbeat = 30
    params.client_properties = {"connection_name": "haven"}
    return params


def connect(settings: BrokerSettings) -> BlockingConnection:
    """One blocking connection; pika connections are not thread-safe, so one per thread."""
    return BlockingConnection(connection_parameters(settings))


def declare(channel: BlockingChannel, wanted: Topology, *, passive: bool = False) -> None:
    """Declare (or, passive, check) every exchange, queue and binding; idempotent."""
    for exchange in wanted.exchanges:
        channel.exchange_declare(
            exchange.name, exchange_type=exchange.kind, durable=True, passive=passive
        )
    for queue in wanted.queues:
        if passive:
            channel.queue_declare(queue.name, passive=True)
        else:
            channel.queue_declare(queue.name, durable=True, arguments=dict(queue.arguments))
    if not passive:
        for binding in wanted.bindings:
            channel.queue_bind(binding.queue, binding.exchange, routing_key=binding.routing_key)


def declare_topology(settings: BrokerSettings, *, passive: bool = False) -> None:
    """Declare the intake's part of the topology; passive: only check that it exists.

    The intake checks passively: its broker user may not configure anything
    (`haven provision` declares), so a compromised intake cannot delete or
    redeclare a queue. A passive check raises ChannelClosedByBroker (404) for
    anything missing.
    """
    connection = connect(settings)
    try:
        declare(connection.channel(), topology(settings), passive=passive)
    finally:
        connection.close()
