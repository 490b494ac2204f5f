"""Haven's RabbitMQ topology, in one place, as data.

The same description is declared at start-up (idempotently) and rendered
into the definitions file of the compose stack (haven.broker.definitions).
Every limit is an explicit argument so that RabbitMQ 3.10 (CI) and 4.x
(compose) behave the same. docs/routing.md has the table and the reasons.

`topology(settings)` is the intake's part (intake and quarantine);
`routing_topology(...)` adds the router's part for a directory's partners.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from haven.broker.limits import RoutingLimits
from haven.broker.settings import BrokerSettings, SettingsError

INTAKE_EXCHANGE = "haven.intake"
INTAKE_QUEUE = "haven.intake"
INTAKE_ROUTING_KEY = "request"
QUARANTINE_EXCHANGE = "haven.quarantine"
QUARANTINE_QUEUE = "haven.quarantine"
QUARANTINE_ROUTING_KEY = "quarantine"
QUARANTINE_DELIVERY_LIMIT = 1000
# Each partner's own queue, bound by its partner id.
PARTNER_EXCHANGE = "haven.partners"
PARTNER_QUEUE_PREFIX = "haven.partner."
PARTNER_USER_PREFIX = "haven-partner-"
# A partner's decline or an expired deadline, and a delayed retry, come
# back to the router through here.
RETURNED_EXCHANGE = "haven.returned"
RETURNED_QUEUE = "haven.returned"
RETURNED_ROUTING_KEY = "returned"
# A partner's decline with a reason code (the request, published back by
# the partner's own broker user), bound into the router's returned queue.
DECLINES_EXCHANGE = "haven.declines"
DECLINES_ROUTING_KEY = "decline"
RETRY_EXCHANGE = "haven.retry"
RETRY_QUEUE_PREFIX = "haven.retry."
UNASSIGNED_EXCHANGE = "haven.unassigned"
UNASSIGNED_QUEUE = "haven.unassigned"
UNASSIGNED_ROUTING_KEY = "unassigned"

# The directory's own rule for partner ids; queue names are built from
# them, so nothing else (no dot, no slash) may reach a queue name.
_PARTNER_ID = re.compile(r"[a-z0-9-]{3,32}\Z")


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
    # Quarantine is the end of the line: it has no dead-letter exchange, so
    # its delivery limit is set far above any operator's retries (4.x would
    # otherwise apply 20 and drop the message silently).
    quarantine = Queue(
        QUARANTINE_QUEUE,
        _quorum(settings.quarantine_max_length, **{"x-delivery-limit": QUARANTINE_DELIVERY_LIMIT}),
    )
    return Topology(
        exchanges=(Exchange(INTAKE_EXCHANGE), Exchange(QUARANTINE_EXCHANGE)),
        queues=(intake, quarantine),
        bindings=(
            Binding(INTAKE_EXCHANGE, INTAKE_QUEUE, INTAKE_ROUTING_KEY),
            Binding(QUARANTINE_EXCHANGE, QUARANTINE_QUEUE, QUARANTINE_ROUTING_KEY),
        ),
    )


def partner_queue(partner_id: str) -> str:
    if not _PARTNER_ID.match(partner_id):
        raise SettingsError(f"not a partner id: {partner_id!r}")
    return PARTNER_QUEUE_PREFIX + partner_id


def partner_username(partner_id: str) -> str:
    """The broker user of a partner: it may read its own queue and publish declines, nothing else."""
    partner_queue(partner_id)  # the same id rule; raises for anything else
    return PARTNER_USER_PREFIX + partner_id


def partner_of_user(username: str) -> str | None:
    """The partner id whose broker user this is, or None."""
    if not username.startswith(PARTNER_USER_PREFIX):
        return None
    partner_id = username[len(PARTNER_USER_PREFIX) :]
    return partner_id if _PARTNER_ID.match(partner_id) else None


def partner_of_queue(queue: str) -> str | None:
    """The partner id whose queue this is, or None."""
    if not queue.startswith(PARTNER_QUEUE_PREFIX):
        return None
    partner_id = queue[len(PARTNER_QUEUE_PREFIX) :]
    return partner_id if _PARTNER_ID.match(partner_id) else None


def backlog_queues(partner_ids: Iterable[str], *, partner_max_length: int) -> dict[str, int]:
    """Where routed requests wait beyond the intake queue, each with how many waiting there are not load.

    Every partner's queue and unassigned. The intake counts them (passively)
    into the backlog that prices its proof of work: the routers empty the
    intake queue at once, so a flood piles up here instead. A partner's
    queue counts only above half its capacity (`partner_max_length`, the
    routers' HAVEN_PARTNER_MAX_LENGTH): below that its depth is the partner's
    reading pace (one that pulls once a day keeps a day of requests), and
    honest requesters must not pay for it; near full, the routers' publishes
    are about to be refused, and that is when its backlog must price work.
    Unassigned counts in full: no partner will ever read it down.
    """
    half = partner_max_length // 2
    allowances = {partner_queue(p): half for p in sorted(set(partner_ids))}
    return {**allowances, UNASSIGNED_QUEUE: 0}


def retry_queue(tier: int) -> str:
    return f"{RETRY_QUEUE_PREFIX}{tier}"


def retry_routing_key(tier: int) -> str:
    return f"tier-{tier}"


def _back_to_router(**extra: object) -> dict[str, object]:
    return {
        "x-dead-letter-exchange": RETURNED_EXCHANGE,
        "x-dead-letter-routing-key": RETURNED_ROUTING_KEY,
        # The broker keeps the message until the returned queue confirms it:
        # a decline or an expiry can never lose a request on the way back.
        "x-dead-letter-strategy": "at-least-once",
        **extra,
    }


def _to_quarantine(delivery_limit: int) -> dict[str, object]:
    return {
        # A message the router cannot finish (it crashes, or the channel
        # dies under it) is redelivered at most this often, then quarantined.
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": QUARANTINE_EXCHANGE,
        "x-dead-letter-routing-key": QUARANTINE_ROUTING_KEY,
        "x-dead-letter-strategy": "at-least-once",
    }


def routing_topology(
    settings: BrokerSettings, limits: RoutingLimits, partner_ids: Iterable[str]
) -> Topology:
    """The intake's topology plus the router's: partners, returned path, retry tiers, unassigned."""
    base = topology(settings)
    ids = sorted(set(partner_ids))
    exchanges = (
        Exchange(PARTNER_EXCHANGE),
        Exchange(RETURNED_EXCHANGE),
        Exchange(DECLINES_EXCHANGE),
        Exchange(RETRY_EXCHANGE),
        Exchange(UNASSIGNED_EXCHANGE),
    )
    queues: list[Queue] = [
        Queue(
            RETURNED_QUEUE,
            _quorum(limits.returned_max_length, **_to_quarantine(settings.delivery_limit)),
        ),
        Queue(
            UNASSIGNED_QUEUE,
            # Operators read these; a reader that keeps failing on one sends
            # it to quarantine rather than (4.x default) dropping it.
            _quorum(limits.unassigned_max_length, **_to_quarantine(settings.delivery_limit)),
        ),
    ]
    bindings: list[Binding] = [
        Binding(RETURNED_EXCHANGE, RETURNED_QUEUE, RETURNED_ROUTING_KEY),
        Binding(DECLINES_EXCHANGE, RETURNED_QUEUE, DECLINES_ROUTING_KEY),
        Binding(UNASSIGNED_EXCHANGE, UNASSIGNED_QUEUE, UNASSIGNED_ROUTING_KEY),
    ]
    for tier, delay in enumerate(limits.retry_delays, start=1):
        # No consumer: every message waits exactly `delay` (one TTL for the
        # whole queue, so first in is first out), then dead-letters back to
        # the router. A delivery limit is set because 4.x would impose one.
        queues.append(
            Queue(
                retry_queue(tier),
                _quorum(
                    limits.retry_max_length,
                    **_back_to_router(
                        **{
                            "x-message-ttl": delay * 1000,
                            "x-delivery-limit": settings.delivery_limit,
                        }
                    ),
                ),
            )
        )
        bindings.append(Binding(RETRY_EXCHANGE, retry_queue(tier), retry_routing_key(tier)))
    for partner_id in ids:
        # The deadline is per message (`expiration`), not a queue argument:
        # a directory that changes a partner's deadline needs no redeclare.
        queues.append(
            Queue(
                partner_queue(partner_id),
                _quorum(
                    limits.partner_max_length,
                    **_back_to_router(**{"x-delivery-limit": limits.partner_delivery_limit}),
                ),
            )
        )
        bindings.append(Binding(PARTNER_EXCHANGE, partner_queue(partner_id), partner_id))
    return Topology(
        exchanges=base.exchanges + exchanges,
        queues=base.queues + tuple(queues),
        bindings=base.bindings + tuple(bindings),
    )
