"""Haven's RabbitMQ topology, in one place, as data.

The same description is declared at start-up (idempotently) and, with the
worker issue, rendered into the definitions file of the compose stack.
Every limit is an explicit argument so that RabbitMQ 3.10 (CI) and 4.x
(compose) behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from haven.broker.settings import BrokerSettings

INTAKE_EXCHANGE = "haven.intake"
INTAKE_QUEUE = "haven.intake"
INTAKE_ROUTING_KEY = "request"
QUARANTINE_EXCHANGE = "haven.quarantine"
QUARANTINE_QUEUE = "haven.quarantine"
QUARANTINE_ROUTING_KEY = "quarantine"


@dataclass(frozen=True)
class Exchange:
    name: str
    kind: str = "direct"


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    exchange: str
    queue: str
    routing_key: str


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[Exchange, ...]
    queues: tuple[Queue, ...]
    bindings: tuple[Binding, ...]


def _quorum(max_length: int, **extra: object) -> dict[str, object]:
    # reject-publish: a full queue refuses the newest message (the publisher
    # sees a nack and answers 503) instead of silently dropping the oldest.
    return {
        "x-queue-type": "quorum",
        "x-max-length": max_length,
        "x-overflow": "reject-publish",
        **extra,
    }


def topology(settings: BrokerSettings) -> Topology:
    intake = Queue(
        INTAKE_QUEUE,
        _quorum(
            settings.intake_max_length,
            **{
                # A message that keeps failing (poison) goes to quarantine
                # after a bounded number of deliveries, never round forever.
                "x-delivery-limit": settings.delivery_limit,
                "x-dead-letter-exchange": QUARANTINE_EXCHANGE,
                "x-dead-letter-routing-key": QUARANTINE_ROUTING_KEY,
                # at-least-once: the broker keeps a dead-lettered message until
                # the quarantine queue has confirmed it, so none is lost on the way.
                "x-dead-letter-strategy": "at-least-once",
            },
        ),
    )
    quarantine = Queue(QUARANTINE_QUEUE, _quorum(settings.quarantine_max_length))
    return Topology(
        exchanges=(Exchange(INTAKE_EXCHANGE), Exchange(QUARANTINE_EXCHANGE)),
        queues=(intake, quarantine),
        bindings=(
            Binding(INTAKE_EXCHANGE, INTAKE_QUEUE, INTAKE_ROUTING_KEY),
            Binding(QUARANTINE_EXCHANGE, QUARANTINE_QUEUE, QUARANTINE_ROUTING_KEY),
        ),
    )
