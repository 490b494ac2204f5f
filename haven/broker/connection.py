"""Opening a bounded pika connection to one of the broker's nodes, and declaring the topology on it.

Failover: `BrokerSettings.urls` lists the nodes of one cluster. Every
attempt at one node is bounded by `connect_timeout`. A one-off connection
(`connect()` without a node: provision, ops, a partner's pull) tries the
nodes in the configured order until one answers, as pika does with a
sequence of parameters. A long-running connection (the intake's publisher,
the router, the webhook deliverer) tries one node at a time and, after a
failed attempt or a lost connection, starts with the next node
(haven.broker.reconnect.Failover): a node that has just failed is the last
one tried again, and every process starts at the first, so operators can
put the node nearest each service first.
"""

from __future__ import annotations

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from haven.broker.settings import BrokerSettings
from haven.broker.topology import Topology, topology


def connection_parameters(
    settings: BrokerSettings, *, blocked_timeout: bool = True
) -> list[pika.URLParameters]:
    """Bounded connection parameters, one per node in the configured order.

    Each: one attempt, socket and stack timeouts, heartbeats. pika's
    BlockingConnection takes the whole list and tries each in turn.
    """
    return [_parameters(url, settings, blocked_timeout=blocked_timeout) for url in settings.urls]


def _parameters(url: str, settings: BrokerSettings, *, blocked_timeout: bool) -> pika.URLParameters:
    params = pika.URLParameters(url)
    # One attempt per node: a dead node costs at most connect_timeout (x2
    # for the handshake) before the next one is tried.
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


def connect(settings: BrokerSettings, *, node: int | None = None) -> BlockingConnection:
    """One blocking connection: to `node` (an index into settings.urls), or the first node that answers.

    pika connections are not thread-safe, so one per thread.
    """
    params = connection_parameters(settings)
    return BlockingConnection(params if node is None else params[node])


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


def declare_topology(
    settings: BrokerSettings, *, passive: bool = False, node: int | None = None
) -> None:
    """Declare the intake's part of the topology; passive: only check that it exists.

    The intake checks passively: its broker user may not configure anything
    (`haven provision` declares), so a compromised intake cannot delete or
    redeclare a queue. A passive check raises ChannelClosedByBroker (404) for
    anything missing. `node`: on that node only (see connect()).
    """
    connection = connect(settings, node=node)
    try:
        declare(connection.channel(), topology(settings), passive=passive)
    finally:
        connection.close()
