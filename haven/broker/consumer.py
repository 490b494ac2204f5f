"""A consumer that publishes with confirms and acks its source only after the confirm.

Written as a state machine of `on_*` handlers on pika's SelectConnection,
in the manner of pika's asynchronous consumer example:

    connecting -> opening -> consuming -> stopping -> closing -> (ioloop stops)

Why asynchronous rather than a BlockingConnection loop: a blocking channel
waits one round trip for each publisher confirm, so a router would move one
request per round trip. Here many publishes are in flight at once (up to the
prefetch), each source delivery is acked when *its* confirm arrives, and a
stop request or a dead broker is noticed within one poll interval.

One instance is one connection, used by one thread only (pika connections
are not thread-safe); the thread that calls `run` owns it. Another thread
asks it to stop through a `threading.Event`, polled by a timer in the
connection's own I/O loop. Reconnecting is the caller's business
(`haven.broker.reconnect`): `run` returns how the connection ended.

Invariant: a source delivery is acked only from a confirm callback, i.e.
after the broker has taken responsibility for what the handler published.
When the connection dies first, unconfirmed publishes are forgotten and the
broker redelivers their sources: at-least-once, never at-most-once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pika
from pika.adapters.select_connection import SelectConnection
from pika.spec import Basic

from haven.broker.connection import connection_parameters
from haven.broker.settings import BrokerSettings

log = logging.getLogger(__name__)

Outcome = Literal["confirmed", "nacked", "returned"]
Ending = Literal["stopped", "restart", "lost"]
State = Literal["idle", "connecting", "opening", "consuming", "stopping", "closing", "closed"]


@dataclass(frozen=True)
class ConsumerSettings:
    # The nodes and their timeouts (connect_timeout bounds each attempt).
    broker: BrokerSettings
    # Deliveries in flight per queue consumed: bounds memory and how much a
    # crashed consumer hands back to the broker at once.
    prefetch: int = 50
    heartbeat: int = 30
    # A broker under a resource alarm blocks publishers; past this the
    # connection is torn down and rebuilt rather than wait without bound.
    blocked_timeout: float = 30.0
    # Graceful stop: how long to wait for in-flight confirms before closing
    # anyway (their sources are then redelivered, never lost).
    shutdown_timeout: float = 10.0
    poll_interval: float = 0.1


@dataclass(frozen=True)
class Delivery:
    queue: str
    delivery_tag: int
    redelivered: bool
    properties: pika.BasicProperties
    body: bytes


@dataclass(frozen=True)
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties


class DeliveryHandler(Protocol):
    def on_delivery(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None: ...


@dataclass
class _Pending:
    outgoing: Outgoing
    done: Callable[[Outcome], None]
    returned: bool = False


class ConsumerClosedError(RuntimeError):
    """Publishing was attempted with no open channel."""


class ConfirmingConsumer:
    def __init__(
        self,
        settings: ConsumerSettings,
        queues: Sequence[str],
        handler: DeliveryHandler,
        stop_event: threading.Event,
        on_consuming: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.queues = tuple(queues)
        self.handler = handler
        self.stop_event = stop_event
        self._on_consuming = on_consuming
        self.state: State = "idle"
        self._ending: Ending = "lost"
        self._connection: Any = None
        self._consume_channel: Any = None
        self._publish_channel: Any = None
        self._consumer_tags: set[str] = set()
        # Publish sequence number -> what it carries, oldest first (numbers
        # only grow), so a `multiple` confirm settles a run from the front.
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._publish_seq = 0
        self._stop_deadline = 0.0
        # Delivery tags handed back after their handler failed: a confirm
        # that arrives later for one of them must not ack or reject it again
        # (a second settlement of one tag closes the channel).
        self._abandoned: set[int] = set()

    # -- running -----------------------------------------------------------

    def run(self, node: int = 0) -> Ending:
        """Connect to `node` (an index into the broker's URLs), consume until stopped or the connection is lost; return which."""
        if self.stop_event.is_set():
            return "stopped"
        params = connection_parameters(self.settings.broker)[node]
        params.heartbeat = self.settings.heartbeat
        params.blocked_connection_timeout = self.settings.blocked_timeout
        params.client_properties = {"connection_name": "haven-router"}
        self.state = "connecting"
        self._connection = SelectConnection(
            params,
            on_open_callback=self.on_connection_open,
            on_open_error_callback=self.on_connection_open_error,
            on_close_callback=self.on_connection_closed,
        )
        try:
            self._connection.ioloop.start()
        finally:
            self._connection.ioloop.close()
            self.state = "closed"
        return self._ending

    # -- what a handler may do -----------------------------------------------

    def publish(self, outgoing: Outgoing, done: Callable[[Outcome], None]) -> None:
        """Publish mandatory and persistent; `done` gets the broker's verdict.

        `done` is never called if the connection dies first: the source
        delivery is then redelivered by the broker.
        """
        channel = self._publish_channel
        if channel is None or not channel.is_open:
            raise ConsumerClosedError("no open publishing channel")
        channel.basic_publish(
            outgoing.exchange,
            outgoing.routing_key,
            outgoing.body,
            properties=outgoing.properties,
            mandatory=True,
        )
        # Confirm mode numbers publishes 1, 2, 3... on this channel.
        self._publish_seq += 1
        self._pending[self._publish_seq] = _Pending(outgoing, done)

    def ack(self, delivery: Delivery) -> None:
        channel = self._consume_channel
        if delivery.delivery_tag in self._abandoned:
            self._abandoned.discard(delivery.delivery_tag)
            return
        if channel is not None and channel.is_open:
            channel.basic_ack(delivery.delivery_tag)

    def reject(self, delivery: Delivery) -> None:
        """Reject without requeue: the source queue dead-letters it (at-least-once)."""
        channel = self._consume_channel
        if delivery.delivery_tag in self._abandoned:
            self._abandoned.discard(delivery.delivery_tag)
            return
        if channel is not None and channel.is_open:
            channel.basic_reject(delivery.delivery_tag, requeue=False)

    def requeue_later(self, delivery: Delivery, delay: float) -> None:
        """Hand `delivery` back to the broker (reject with requeue) after `delay` seconds.

        For a delivery that cannot be decided now (the store is away): an
        immediate requeue would come straight back and spend the queue's
        delivery limit in a fraction of a second, sending an honest message
        to quarantine. Meanwhile it holds one prefetch slot. The handler must
        not have published for it.
        """
        connection = self._connection
        channel = self._consume_channel
        tag = delivery.delivery_tag
        # Settled by the timer only: an ack or reject of this tag meanwhile
        # (a late confirm) is ignored, since a second settlement of one tag
        # closes the channel.
        self._abandoned.add(tag)

        def hand_back() -> None:
            # A replaced connection or channel: its deliveries went back to
            # the broker with it, and this tag means nothing on the new one.
            if self._connection is not connection or self._consume_channel is not channel:
                return
            if channel is not None and channel.is_open:
                channel.basic_reject(tag, requeue=True)

        if connection is not None:
            connection.ioloop.call_later(delay, hand_back)

    def stop(self, ending: Ending = "stopped") -> None:
        """Stop consuming, finish what is in flight, then close."""
        if self.state in ("stopping", "closing", "closed"):
            return
        self._ending = ending
        self.state = "stopping"
        self._stop_deadline = time.monotonic() + self.settings.shutdown_timeout
        channel = self._consume_channel
        if channel is not None and channel.is_open:
            for tag in tuple(self._consumer_tags):
                channel.basic_cancel(tag, callback=functools.partial(self.on_cancel_ok, tag))
        else:
            self._consumer_tags.clear()
        self._maybe_close()

    # -- connection and channels ---------------------------------------------

    def on_connection_open(self, connection: Any) -> None:
        self.state = "opening"
        connection.ioloop.call_later(self.settings.poll_interval, self.on_poll)
        connection.channel(on_open_callback=self.on_consume_channel_open)

    def on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        log.warning("broker connection failed: %s", type(error).__name__)
        self._ending = "lost"
        connection.ioloop.stop()

    def on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if self._pending:
            # Their sources stay unacked and come back from the broker.
            log.warning("connection closed with %d publishes unconfirmed", len(self._pending))
        self._pending.clear()
        self._abandoned.clear()
        self._consume_channel = self._publish_channel = None
        if self.state not in ("stopping", "closing"):
            log.warning("broker connection lost: %s", type(reason).__name__)
            self._ending = "lost"
        connection.ioloop.stop()

    def on_consume_channel_open(self, channel: Any) -> None:
        self._consume_channel = channel
        channel.add_on_close_callback(self.on_channel_closed)
        self._connection.channel(on_open_callback=self.on_publish_channel_open)

    def on_publish_channel_open(self, channel: Any) -> None:
        self._publish_channel = channel
        channel.add_on_close_callback(self.on_channel_closed)
        channel.add_on_return_callback(self.on_return)
        channel.confirm_delivery(ack_nack_callback=self.on_confirm, callback=self.on_confirm_ok)

    def on_confirm_ok(self, _frame: Any) -> None:
        self._consume_channel.basic_qos(
            prefetch_count=self.settings.prefetch, callback=self.on_qos_ok
        )

    def on_qos_ok(self, _frame: Any) -> None:
        if self.state != "opening":
            return
        for queue in self.queues:
            tag = self._consume_channel.basic_consume(
                queue, on_message_callback=functools.partial(self.on_message, queue)
            )
            self._consumer_tags.add(tag)
        self.state = "consuming"
        if self._on_consuming is not None:
            self._on_consuming()

    def on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        if self.state in ("closing", "closed"):
            return
        # Either channel gone means deliveries or confirms can no longer be
        # matched up: rebuild the whole connection.
        log.warning("channel closed by broker: %s", reason)
        if self.state != "stopping":
            self._ending = "lost"
        self._close()

    def on_cancel_ok(self, tag: str, _frame: Any) -> None:
        self._consumer_tags.discard(tag)
        self._maybe_close()

    def on_poll(self) -> None:
        if self.state in ("closing", "closed"):
            return
        if self.stop_event.is_set() and self.state not in ("stopping",):
            self.stop("stopped")
        if self.state == "stopping":
            self._maybe_close()
        if self.state not in ("closing", "closed"):
            self._connection.ioloop.call_later(self.settings.poll_interval, self.on_poll)

    # -- messages and confirms -----------------------------------------------

    def on_message(
        self, queue: str, _channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        delivery = Delivery(queue, method.delivery_tag, bool(method.redelivered), properties, body)
        try:
            self.handler.on_delivery(self, delivery)
        except Exception:
            # A bug must not ack or drop anything: hand this one delivery
            # back. basic.reject with requeue counts as a failed delivery on
            # every RabbitMQ this runs on (basic.nack does not from 4.3 on),
            # so the queue's delivery limit ends a poison loop in quarantine.
            # Only the failing delivery is charged: closing the connection
            # instead would return every request in flight with it and spend
            # their delivery limits too, until an honest request that only
            # shared a prefetch window with a poison one landed in quarantine.
            # The traceback names code, never message content.
            log.exception("handler failed on a delivery from %s", queue)
            self._abandoned.add(delivery.delivery_tag)
            channel = self._consume_channel
            if channel is not None and channel.is_open:
                channel.basic_reject(delivery.delivery_tag, requeue=True)

    def on_return(self, _channel: Any, method: Any, properties: Any, _body: bytes) -> None:
        # The broker sends basic.return before the confirm of the same
        # publish, in publish order: the oldest matching publish is the one.
        for pending in self._pending.values():
            out = pending.outgoing
            if (
                not pending.returned
                and out.exchange == method.exchange
                and out.routing_key == method.routing_key
                and out.properties.message_id == properties.message_id
            ):
                pending.returned = True
                return

    def on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        pending_map = self._pending
        if method.multiple:
            # Every publish up to this number, oldest first; one at a time,
            # as a `done` may publish (a higher number, never settled here).
            while pending_map and next(iter(pending_map)) <= method.delivery_tag:
                self._settle(pending_map.popitem(last=False)[1], acked)
        else:
            pending = pending_map.pop(method.delivery_tag, None)
            if pending is not None:
                self._settle(pending, acked)
        if self.state == "stopping":
            self._maybe_close()

    @staticmethod
    def _settle(pending: _Pending, acked: bool) -> None:
        outcome: Outcome = "returned" if pending.returned else "confirmed" if acked else "nacked"
        pending.done(outcome)

    # -- closing ---------------------------------------------------------------

    def _maybe_close(self) -> None:
        if self.state != "stopping":
            return
        if not self._consumer_tags and not self._pending:
            self._close()
        elif time.monotonic() >= self._stop_deadline:
            log.warning(
                "stop: closing with %d publishes unconfirmed; their sources are redelivered",
                len(self._pending),
            )
            self._close()

    def _close(self) -> None:
        if self.state in ("closing", "closed"):
            return
        self.state = "closing"
        connection = self._connection
        if connection is None or connection.is_closing:
            return  # on_connection_closed follows and stops the loop
        if connection.is_closed:
            connection.ioloop.stop()
        else:
            connection.close()
