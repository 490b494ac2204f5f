"""The operators' hands on the holding queues (quarantine, unassigned): list, replay, purge.

Metadata only: the message id, the coarse category label from the
envelope's public header, the reason code, the partners tried and the age.
Never the envelope's bytes (which are ciphertext anyway) in any output.

Reading a quorum queue without taking messages is not possible: a
`basic.get` followed by a requeue counts as a delivery, and `haven.unassigned`
quarantines a message after 5. So every operation here walks the queue
once: each message is taken, then either published again to the tail of
the same queue (keep), handed to the router (replay) or dropped (purge),
and acked only after the broker confirmed the publish. A crash in between
leaves at worst a duplicate (same id), never a loss. After a full walk
the order of what was kept is unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import NackError, UnroutableError

from haven.broker.connection import connect
from haven.broker.settings import BrokerSettings
from haven.broker.topology import (
    QUARANTINE_QUEUE,
    RETURNED_EXCHANGE,
    RETURNED_ROUTING_KEY,
    UNASSIGNED_QUEUE,
)
from haven.envelope import EnvelopeFormatError, inspect

HOLDING_QUEUES = (QUARANTINE_QUEUE, UNASSIGNED_QUEUE)
Action = Literal["keep", "replay", "drop"]


class HoldingError(Exception):
    """The walk stopped; whatever was not acked is still in the queue."""


@dataclass(frozen=True)
class Held:
    message_id: str | None
    category: str
    reason: str
    tried: str
    age_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.message_id,
            "category": self.category,
            "reason": self.reason,
            "tried": self.tried.split(",") if self.tried else [],
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds),
        }


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value) if value is not None else ""


def describe(properties: pika.BasicProperties, body: bytes, *, now: float) -> Held:
    headers = properties.headers or {}
    try:
        category = inspect(body).labels.category
    except EnvelopeFormatError:
        category = "unknown"
    reason = _text(headers.get("x-haven-reason"))
    if not reason and "x-first-death-reason" in headers:
        # Dead-lettered by the broker (delivery limit, or a full queue's
        # at-least-once path), not by the router.
        queue = _text(headers.get("x-first-death-queue"))
        reason = f"{_text(headers['x-first-death-reason'])} in {queue}"
    timestamp = properties.timestamp
    return Held(
        message_id=properties.message_id if isinstance(properties.message_id, str) else None,
        category=category,
        reason=reason or "-",
        tried=_text(headers.get("x-haven-tried")),
        age_seconds=max(0.0, now - timestamp) if isinstance(timestamp, int) else None,
    )


def _publish(
    channel: BlockingChannel, exchange: str, key: str, body: bytes, properties: pika.BasicProperties
) -> None:
    try:
        channel.basic_publish(exchange, key, body, properties, mandatory=True)
    except (NackError, UnroutableError):
        raise HoldingError("the broker refused a publish; the message stays where it was") from None


def _username(settings: BrokerSettings) -> str | None:
    return settings.username


def walk(
    settings: BrokerSettings,
    queue: str,
    decide: Callable[[Held], Action],
    *,
    clock: Callable[[], float] = time.time,
) -> list[tuple[Held, Action]]:
    """Take every message once, decide, keep/replay/drop it; what was decided for each."""
    if queue not in HOLDING_QUEUES:
        raise HoldingError(f"not a holding queue: {queue}")
    connection = connect(settings)
    done: list[tuple[Held, Action]] = []
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        # Only the messages there now: what is kept goes to the tail and must
        # not be met again in the same walk.
        count = int(channel.queue_declare(queue, passive=True).method.message_count)
        for _ in range(count):
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            held = describe(properties, body, now=clock())
            action = decide(held)
            if action == "keep":
                _publish(channel, "", queue, body, properties)
            elif action == "replay":
                # Fresh routing state: the router routes it as new, so every
                # eligible partner gets another chance.
                fresh = pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=properties.message_id,
                    content_type=properties.content_type,
                    type=properties.type,
                    timestamp=properties.timestamp,
                    headers={},
                    # Checked by the broker: the router starts a request
                    # afresh only for a Haven user it trusts, never a partner.
                    user_id=_username(settings),
                )
                _publish(channel, RETURNED_EXCHANGE, RETURNED_ROUTING_KEY, body, fresh)
            channel.basic_ack(method.delivery_tag)
            done.append((held, action))
    finally:
        if connection.is_open:
            connection.close()
    return done


def list_held(settings: BrokerSettings, queue: str) -> list[Held]:
    return [held for held, _ in walk(settings, queue, lambda _: "keep")]


def replay(settings: BrokerSettings, queue: str, ids: Collection[str] | None) -> list[Held]:
    """Hand the messages with these ids (all when None) back to the router."""
    chosen = walk(
        settings,
        queue,
        lambda held: "replay" if ids is None or held.message_id in ids else "keep",
    )
    return [held for held, action in chosen if action == "replay"]


def purge(settings: BrokerSettings, queue: str, ids: Collection[str] | None) -> list[Held]:
    """Drop the messages with these ids (all when None), for good."""
    chosen = walk(
        settings,
        queue,
        lambda held: "drop" if ids is None or held.message_id in ids else "keep",
    )
    return [held for held, action in chosen if action == "drop"]
