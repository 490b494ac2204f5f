"""Confirmed publishing of sealed requests to the intake queue.

A 202 to a requester means "the broker has your request on a durable
queue". So a publish returns only after the broker's confirm, with
`mandatory` set (an unroutable message is an error, not silence), and it
fails within a bounded time with a reason the intake turns into a 503.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPError, NackError, UnroutableError

from haven.broker.connection import connect, declare
from haven.broker.settings import BrokerSettings
from haven.broker.topology import INTAKE_EXCHANGE, INTAKE_QUEUE, INTAKE_ROUTING_KEY, topology

MESSAGE_TYPE = "haven.envelope.v1"
Reason = Literal["down", "blocked", "full", "unroutable", "timeout"]
DEPTH_CACHE_SECONDS = 2.0


class BrokerUnavailable(Exception):  # noqa: N818 - reads as what the intake answers: 503
    """The broker cannot take the request now; the requester should retry later."""

    def __init__(self, reason: Reason, retry_after: int) -> None:
        super().__init__(f"broker unavailable: {reason}")
        self.reason = reason
        self.retry_after = retry_after


class _PublishTimeout(Exception):  # noqa: N818
    """Raised from a pika timer inside the connection's own I/O loop."""


@dataclass
class _Link:
    connection: BlockingConnection
    channel: BlockingChannel
    blocked: bool = False
    depth: int | None = None
    depth_at: float = 0.0


class ConfirmedPublisher:
    """Thread-safe by construction: each thread gets its own connection and channel."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self._topology = topology(settings)
        self._local = threading.local()
        self._links: list[_Link] = []
        self._lock = threading.Lock()

    def _link(self) -> _Link:
        link: _Link | None = getattr(self._local, "link", None)
        if link is not None and link.connection.is_open and link.channel.is_open:
            return link
        self._drop()
        try:
            connection = connect(self.settings)
            channel = connection.channel()
            channel.confirm_delivery()
        except AMQPError:
            raise BrokerUnavailable("down", self.settings.retry_after) from None
        except OSError:
            raise BrokerUnavailable("down", self.settings.retry_after) from None
        link = _Link(connection, channel)

        def on_blocked(*_: object) -> None:
            link.blocked = True

        def on_unblocked(*_: object) -> None:
            link.blocked = False

        connection.add_on_connection_blocked_callback(on_blocked)
        connection.add_on_connection_unblocked_callback(on_unblocked)
        self._local.link = link
        with self._lock:
            self._links.append(link)
        return link

    def _drop(self) -> None:
        link: _Link | None = getattr(self._local, "link", None)
        self._local.link = None
        if link is None:
            return
        with self._lock:
            if link in self._links:
                self._links.remove(link)
        try:
            if link.connection.is_open:
                link.connection.close()
        except (AMQPError, OSError):
            pass

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        """Return once the broker has confirmed the envelope on the intake queue."""
        link = self._link()
        if link.blocked:
            # The broker told us it is refusing publishers (memory or disk
            # alarm): answer at once rather than hold the requester.
            raise BrokerUnavailable("blocked", self.settings.retry_after)
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message_id,
            content_type="application/octet-stream",
            type=MESSAGE_TYPE,
        )

        def on_deadline() -> None:
            raise _PublishTimeout

        timer = link.connection.call_later(self.settings.publish_timeout, on_deadline)
        try:
            link.channel.basic_publish(
                INTAKE_EXCHANGE, INTAKE_ROUTING_KEY, envelope, properties=properties, mandatory=True
            )
        except UnroutableError:
            self._drop()
            raise BrokerUnavailable("unroutable", self.settings.retry_after) from None
        except NackError:
            # reject-publish: the intake queue is at its length limit.
            raise BrokerUnavailable("full", self.settings.retry_after) from None
        except _PublishTimeout:
            # The confirm may still come; the connection's state is unknown,
            # so it is dropped. A retried submission has the same id.
            self._drop()
            raise BrokerUnavailable("timeout", self.settings.retry_after) from None
        except pika.exceptions.ConnectionBlockedTimeout:
            self._drop()
            raise BrokerUnavailable("blocked", self.settings.retry_after) from None
        except (AMQPError, OSError):
            self._drop()
            raise BrokerUnavailable("down", self.settings.retry_after) from None
        else:
            link.connection.remove_timeout(timer)

    def ready(self) -> bool:
        """Broker reachable and every exchange and queue of the topology present."""
        try:
            link = self._link()
            check = link.connection.channel()
            try:
                declare(check, self._topology, passive=True)
            finally:
                if check.is_open:
                    check.close()
        except (BrokerUnavailable, AMQPError, OSError):
            return False
        return True

    def intake_depth(self) -> int | None:
        """Requests waiting in the intake queue (cached briefly); None when the broker is away."""
        try:
            link = self._link()
            now = time.monotonic()
            if link.depth is None or now - link.depth_at > DEPTH_CACHE_SECONDS:
                result = link.channel.queue_declare(INTAKE_QUEUE, passive=True)
                link.depth, link.depth_at = int(result.method.message_count), now
            return link.depth
        except (BrokerUnavailable, AMQPError, OSError):
            self._drop()
            return None

    def close(self) -> None:
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            try:
                if link.connection.is_open:
                    link.connection.close()
            except (AMQPError, OSError):
                pass
