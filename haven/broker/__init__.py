"""RabbitMQ topology, confirmed publishing and consuming.

Quorum queues, publisher confirms with `mandatory`, persistent messages,
explicit limits, dead-lettering at-least-once (DESIGN.md "Queues").
"""

from haven.broker.connection import connect, declare, declare_topology
from haven.broker.limits import RoutingLimits
from haven.broker.publisher import BrokerUnavailable, ConfirmedPublisher
from haven.broker.settings import BrokerSettings, SettingsError
from haven.broker.topology import (
    INTAKE_EXCHANGE,
    INTAKE_QUEUE,
    QUARANTINE_QUEUE,
    Topology,
    backlog_queues,
    topology,
)

__all__ = [
    "INTAKE_EXCHANGE",
    "INTAKE_QUEUE",
    "QUARANTINE_QUEUE",
    "BrokerSettings",
    "BrokerUnavailable",
    "ConfirmedPublisher",
    "RoutingLimits",
    "SettingsError",
    "Topology",
    "backlog_queues",
    "connect",
    "declare",
    "declare_topology",
    "topology",
]
