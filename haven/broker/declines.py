"""A decline with a reason: how a partner (or the webhook delivery) hands a request back.

A plain `basic.reject` also sends a request back (its queue dead-letters
it to the router), but carries no reason. A decline with a reason is the
same request, byte for byte, published by the partner's own broker user to
`haven.declines` (bound into the router's returned queue) with the routing
headers it arrived with and `x-haven-decline: <code>`; the partner then
acks its delivery. The `user_id` property is checked by the broker against
the connection's user, so the router knows which partner declined; the
sealed headers say which assignment the decline answers (worker.seal).

Reason codes are a closed set: they become metric labels and operators
read them, and nothing about a requester can travel in one.
"""

from __future__ import annotations

from collections.abc import Mapping

import pika

DECLINE = "x-haven-decline"
# The routing headers a decline carries back unchanged, the seal with them:
# the router honours a decline only for the assignment sealed in these
# (worker.seal), so a partner cannot choose or edit them, only echo them.
ROUTING_HEADERS = (
    "x-haven-tried",
    "x-haven-retries",
    "x-haven-stage",
    "x-haven-partner",
    "x-haven-attempts",
    "x-haven-seal",
)

# The partner cannot act on it; the router tries the next eligible partner.
REROUTE_REASONS = frozenset(
    {
        "not-our-work",  # outside what this organisation does
        "no-capacity",  # no one free to take it now
        "language",  # no one who speaks the request's language
        "region",  # cannot help in that region
        "conflict",  # a conflict of interest
        "other",
        "webhook-refused",  # the partner's webhook answered 4xx (Haven's delivery, not a person)
    }
)
# The request is broken for this partner: no next partner would do better,
# so operators look at it in quarantine.
QUARANTINE_REASONS = frozenset(
    {
        "undecryptable",  # no key of the partner opens it (or it was tampered with)
        "invalid-content",  # it opens, but the content fails its category's schema
    }
)
# Only Haven's own webhook delivery sends these (the router refuses them
# from a partner's user): every retry tier failed, so the router tries the
# next eligible partner, and quarantines only when none is left.
SERVICE_REASONS = frozenset({"webhook-failed"})
REASONS = REROUTE_REASONS | QUARANTINE_REASONS | SERVICE_REASONS


def decline_properties(
    received: pika.BasicProperties, reason: str, user_id: str
) -> pika.BasicProperties:
    """Properties for publishing a received request back to the router with a reason."""
    if reason not in REASONS:
        raise ValueError(f"not a decline reason: {reason!r}")
    headers: Mapping[str, object] = received.headers or {}
    kept: dict[str, object] = {name: headers[name] for name in ROUTING_HEADERS if name in headers}
    kept[DECLINE] = reason
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=received.message_id,
        content_type=received.content_type,
        type=received.type,
        timestamp=received.timestamp,  # the intake's acceptance time, for operators
        headers=kept,
        # The broker refuses a user_id that is not the connection's user, so
        # this names who declined and cannot be forged by another partner.
        user_id=user_id,
    )
