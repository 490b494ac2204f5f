"""Confirmed publishing of sealed requests to the intake queue.

A 202 to a requester means "the broker has your request on a durable
queue". So a publish returns only after the broker's confirm, with
`mandatory` set (an unroutable message is an error, not silence), and it
fails within a bounded time with a reason the intake turns into a 503.

pika connections are not thread-safe. One I/O thread per process owns one
asynchronous connection: it keeps heartbeats, sees the broker's
blocked/unblocked notices, tracks confirms by delivery tag, polls the
intake queue's depth (and, on a second channel, the depths of the queues
the intake is told to watch: the partners' and unassigned), and reconnects
(checking the topology again each time): at once to the next node of the
cluster, with backoff only once every node has failed
(haven.broker.reconnect.Failover). Request threads only hand it work through
`add_callback_threadsafe` and wait on a future with a deadline, so no
request thread ever does broker I/O or waits past `publish_timeout`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import pika
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker
from pika.spec import Basic

from haven.broker.connection import connection_parameters, declare_topology
from haven.broker.reconnect import Backoff, BackoffPolicy, Failover
from haven.broker.settings import BrokerSettings
from haven.broker.topology import INTAKE_EXCHANGE, INTAKE_QUEUE, INTAKE_ROUTING_KEY

log = logging.getLogger(__name__)

MESSAGE_TYPE = "haven.envelope.v1"
Reason = Literal["down", "blocked", "full", "unroutable", "timeout"]
Outcome = Literal["ok", "down", "full", "unroutable"]
DEPTH_POLL_SECONDS = 1.0
# A depth older than this is not reported: the broker has not answered lately.
DEPTH_FRESH_SECONDS = 10.0
# A watched queue the broker does not have (a partner new to the directory
# whose queue the router has not declared yet) is asked about again after this.
MISSING_RETRY_SECONDS = 30.0
# How long a close already under way may take once the I/O loop has been
# asked to stop: the broker answers Close-Ok at once unless it is gone, and
# then the socket's error ends it sooner.
CLOSE_GRACE_SECONDS = 2.0
# A node that has answered nothing for this long (and at least the publish
# bound) while not blocking publishers is left for the next one.
SILENT_AFTER_SECONDS = 3.0


class BrokerUnavailable(Exception):  # noqa: N818 - reads as what the intake answers: 503
    """The broker cannot take the request now; the requester should retry later."""

    def __init__(self, reason: Reason, retry_after: int) -> None:
        super().__init__(f"broker unavailable: {reason}")
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Pending:
    message_id: str
    future: Future[Outcome]


class ConfirmedPublisher:
    """Thread-safe: any thread may publish; one I/O thread per process talks to the broker."""

    def __init__(self, settings: BrokerSettings, *, backoff: BackoffPolicy | None = None) -> None:
        self.settings = settings
        self._backoff = backoff or BackoffPolicy(initial=0.2, maximum=5.0)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._up = threading.Event()
        self._started_at = 0.0
        # Owned by the I/O thread; request threads only read the flags.
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._blocked = False
        self._depth: int | None = None
        self._depth_at = 0.0
        # The backlog beyond the intake queue: the queues to watch (set by
        # request threads), their last depths (replaced whole by the I/O
        # thread, so a reader never sees it change), and the probe channel:
        # a passive check of a missing queue closes its channel, so it is
        # never the publishing one.
        self._watched: Mapping[str, int] = MappingProxyType({})
        self._waiting: dict[str, tuple[int, float]] = {}
        self._missing_until: dict[str, float] = {}
        self._probe: Channel | None = None
        self._probe_opening = False
        self._probing: list[str] = []
        self._next_tag = 0
        self._pending: dict[int, _Pending] = {}
        self._returned: set[str] = set()
        self._was_up = False
        self._heard_at = 0.0  # when this connection's node last answered
        self._failover = Failover(len(settings.urls), Backoff(self._backoff))

    # --- what request threads call -------------------------------------

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        """Return once the broker has confirmed the envelope on the intake queue."""
        connection = self._wait_up()
        if self._blocked:
            # The broker said it refuses publishers (memory or disk alarm):
            # answer at once rather than hold the requester.
            raise BrokerUnavailable("blocked", self.settings.retry_after)
        future: Future[Outcome] = Future()
        try:
            connection.ioloop.add_callback_threadsafe(
                lambda: self._do_publish(envelope, message_id, future)
            )
        except Exception:  # noqa: BLE001 - a closing loop refuses callbacks: the broker is away
            raise BrokerUnavailable("down", self.settings.retry_after) from None
        try:
            outcome = future.result(timeout=self.settings.publish_timeout)
        except FutureTimeout:
            # The confirm may still come; a retried submission has the same
            # id and is dropped downstream as a duplicate.
            raise BrokerUnavailable("timeout", self.settings.retry_after) from None
        if outcome != "ok":
            raise BrokerUnavailable(outcome, self.settings.retry_after)

    def ready(self) -> bool:
        """Connected, topology declared, not blocked, and the intake queue answered lately."""
        try:
            self._wait_up()
        except BrokerUnavailable:
            return False
        return not self._blocked and self.intake_depth() is not None

    def intake_depth(self) -> int | None:
        """Requests waiting in the intake queue, as last polled; None when the broker is away."""
        self._ensure_started()
        if self._depth is None or time.monotonic() - self._depth_at > DEPTH_FRESH_SECONDS:
            return None
        return self._depth

    def watch(self, queues: Mapping[str, int]) -> None:
        """Count these queues too in backlog(), each only above its allowance (queue -> requests not counted).

        Only ever checked passively, never declared (haven.broker.topology.backlog_queues).
        """
        self._watched = MappingProxyType(dict(queues))

    def backlog(self) -> int | None:
        """Requests waiting in the intake queue, plus each watched queue's beyond its allowance; None when the broker is away.

        A watched queue not answered lately (missing, or the probe is
        reconnecting) counts as empty: the intake queue's depth stands.
        """
        depth = self.intake_depth()
        if depth is None:
            return None
        now, watched = time.monotonic(), self._watched
        return depth + sum(
            max(0, waiting - watched[queue])
            for queue, (waiting, at) in self._waiting.items()
            if queue in watched and now - at <= DEPTH_FRESH_SECONDS
        )

    def close(self) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            # A loop that has already stopped refuses the callback: closed is closed.
            with contextlib.suppress(Exception):
                connection.ioloop.add_callback_threadsafe(self._close_connection)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.settings.connect_timeout * 3)

    # --- start-up, fork safety ------------------------------------------

    def _ensure_started(self) -> None:
        # Started lazily and again after a fork: gunicorn builds the app in
        # its master (preload) and a thread does not survive fork().
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None:
                return
            self._pid = os.getpid()
            self._up.clear()
            self._connection, self._channel = None, None
            self._forget_probe()
            self._pending, self._returned = {}, set()
            self._stopping.clear()
            self._started_at = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="haven-publisher", daemon=True)
            self._thread.start()

    def _wait_up(self) -> SelectConnection:
        self._ensure_started()
        # Right after start-up the first connection is still being made;
        # later, a broker that is away is answered at once (no request
        # thread waits on a reconnect, so a flood cannot pin every thread).
        grace = self._started_at + self.settings.connect_timeout * 2 - time.monotonic()
        if not self._up.wait(timeout=max(0.0, grace)):
            raise BrokerUnavailable("down", self.settings.retry_after)
        connection = self._connection
        if connection is None:
            raise BrokerUnavailable("down", self.settings.retry_after)
        return connection

    # --- the I/O thread ---------------------------------------------------

    def _run(self) -> None:
        # One node at a time; after a failure or a loss, the next one
        # (haven.broker.reconnect.Failover): requests are answered 503 only
        # while no node at all takes them.
        failover = self._failover = Failover(len(self.settings.urls), Backoff(self._backoff))
        while not self._stopping.is_set():
            node = failover.node
            try:
                # Checked, never declared, every time: the intake's broker
                # user may not configure (a compromised intake must not
                # delete or redeclare a queue); `haven provision` declares.
                # Until the topology is there the intake is not ready (503).
                declare_topology(self.settings, passive=True, node=node)
                connection = SelectConnection(
                    # The I/O thread watches blocked/unblocked itself and
                    # answers "blocked" at once; it keeps the connection.
                    connection_parameters(self.settings, blocked_timeout=False)[node],
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_open_error,
                    on_close_callback=self._on_connection_closed,
                )
            except Exception as exc:  # noqa: BLE001 - any failure here means: not now, retry later
                log.warning("broker node %d not reachable: %s", node + 1, type(exc).__name__)
            else:
                self._connection = connection
                if self._stopping.is_set():
                    # close() ran while this connection was being made and
                    # found none to close: close it here, or its loop runs on.
                    self._close_connection()
                connection.add_on_connection_blocked_callback(self._on_blocked)
                connection.add_on_connection_unblocked_callback(self._on_unblocked)
                connection.ioloop.start()
                self._finish_close(connection)
                # Each connection brings its own loop (and its wake-up
                # socket pair): close it, or every reconnect leaks two sockets.
                connection.ioloop.close()
                self._was_up = False
                self._up.clear()
                self._fail_pending()
            self._stopping.wait(failover.next_delay())

    def _on_connection_open(self, connection: SelectConnection) -> None:
        if self._stopping.is_set():
            connection.close()
            return
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: SelectConnection, error: BaseException) -> None:
        log.warning("broker connection failed: %s", type(error).__name__)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: SelectConnection, reason: BaseException) -> None:
        self._channel = None
        self._forget_probe()
        self._up.clear()
        if not self._stopping.is_set():
            log.warning("broker connection closed: %s", type(reason).__name__)
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm)
        self._next_tag = 0
        self._blocked = False
        self._heard_at = time.monotonic()
        self._poll_depth()

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        # A closed channel (e.g. the intake queue is gone: 404) ends this
        # connection; the next one checks the topology again.
        self._channel = None
        self._up.clear()
        self._fail_pending()
        connection = self._connection
        if connection is not None and connection.is_open:
            connection.close()

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is None:
            return
        if connection.is_open:
            connection.close()
        elif connection.is_closed:
            connection.ioloop.stop()
        # Closing: the close callback stops the loop once the broker has
        # answered and the socket is shut. Still opening: closing now trips
        # pika's handshake; the open callback sees the stop flag and closes
        # it then.

    def _finish_close(self, connection: SelectConnection) -> None:
        # The loop can stop with the connection still open or half-closed
        # (a stop asked for elsewhere). Dropping it then would leave its
        # socket open until the garbage collector finds it: give the close
        # a bounded moment to finish on this loop instead.
        if connection.is_closed:
            return
        if connection.is_open:
            connection.close()
        connection.ioloop.call_later(CLOSE_GRACE_SECONDS, connection.ioloop.stop)
        connection.ioloop.start()

    def _on_blocked(self, *_: Any) -> None:
        self._blocked = True

    def _on_unblocked(self, *_: Any) -> None:
        self._blocked = False
        self._heard_at = time.monotonic()

    def _poll_depth(self) -> None:
        channel, connection = self._channel, self._connection
        if channel is None or connection is None or not channel.is_open:
            return
        silent = time.monotonic() - self._heard_at
        # With one node there is nowhere else to go: heartbeats decide.
        others = len(self.settings.urls) > 1
        if (
            others
            and silent > max(SILENT_AFTER_SECONDS, self.settings.publish_timeout)
            and not self._blocked
        ):
            # Connected but silent: a frozen node, or a link that drops
            # packets without a reset. Heartbeats would notice only after a
            # minute or more, every request answered 503 meanwhile while the
            # other nodes are well: leave it for the next now. (A node that
            # blocks publishers for an alarm is silent by design, and every
            # node of a cluster shares the alarm: that one is kept.)
            log.warning("broker node silent for %.0f s: leaving it", silent)
            self._up.clear()
            self._fail_pending()
            # Not close(): a silent node never answers its Close, and the
            # socket would stay open. Ended as pika's heartbeat check ends a
            # dead stream; the close callback then stops this loop and _run
            # moves to the next node.
            connection._terminate_stream(
                AMQPConnectionError(f"broker node silent for {silent:.0f} s")
            )
            return
        channel.queue_declare(INTAKE_QUEUE, passive=True, callback=self._on_depth)
        self._probe_backlog(connection)
        connection.ioloop.call_later(DEPTH_POLL_SECONDS, self._poll_depth)

    def _probe_backlog(self, connection: SelectConnection) -> None:
        probe = self._probe
        if probe is None or not probe.is_open:
            if not self._probe_opening:
                self._probe_opening = True
                connection.channel(on_open_callback=self._on_probe_open)
            return
        if self._probing:
            return  # the last pass is still being answered
        now = time.monotonic()
        queues = sorted(q for q in self._watched if self._missing_until.get(q, 0.0) <= now)
        # pika sends these one after another: the first unanswered is the one in flight.
        self._probing = list(queues)
        for queue in queues:
            probe.queue_declare(
                queue, passive=True, callback=functools.partial(self._on_probe_depth, queue)
            )

    def _on_probe_open(self, channel: Channel) -> None:
        self._probe_opening = False
        self._probe = channel
        channel.add_on_close_callback(self._on_probe_closed)

    def _on_probe_depth(self, queue: str, frame: Any) -> None:
        if queue in self._probing:
            self._probing.remove(queue)
        self._waiting = {
            **self._waiting,
            queue: (int(frame.method.message_count), time.monotonic()),
        }

    def _on_probe_closed(self, _channel: Channel, reason: BaseException) -> None:
        # 404: the queue asked about is not there yet; skip it for a while
        # rather than reopen the probe every second for it.
        if self._probing and isinstance(reason, ChannelClosedByBroker) and reason.reply_code == 404:
            missing = self._probing[0]
            self._missing_until[missing] = time.monotonic() + MISSING_RETRY_SECONDS
            self._waiting = {q: v for q, v in self._waiting.items() if q != missing}
        self._probe, self._probing = None, []

    def _forget_probe(self) -> None:
        self._probe, self._probe_opening, self._probing = None, False, []

    def _on_depth(self, frame: Any) -> None:
        self._depth, self._depth_at = int(frame.method.message_count), time.monotonic()
        self._heard_at = self._depth_at
        # The first answer proves the connection, the channel in confirm
        # mode and the intake queue: now requests may be published.
        if not self._was_up:
            self._failover.connected()
        self._was_up = True
        self._up.set()

    def _do_publish(self, envelope: bytes, message_id: str, future: Future[Outcome]) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            _settle(future, "down")
            return
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message_id,
            content_type="application/octet-stream",
            type=MESSAGE_TYPE,
            # When it was accepted, to the minute: operators see how long a
            # held request has waited; a seized disk learns no finer time.
            timestamp=int(time.time()) // 60 * 60,
        )
        channel.basic_publish(
            INTAKE_EXCHANGE, INTAKE_ROUTING_KEY, envelope, properties=properties, mandatory=True
        )
        self._next_tag += 1
        self._pending[self._next_tag] = _Pending(message_id, future)

    def _on_return(
        self, _channel: Channel, _method: Any, properties: pika.BasicProperties, _body: bytes
    ) -> None:
        # basic.return arrives before the ack of the same message: remember
        # it, so that ack settles as "unroutable", never as accepted.
        if properties.message_id:
            self._returned.add(properties.message_id)

    def _on_confirm(self, frame: Any) -> None:
        self._heard_at = time.monotonic()
        method = frame.method
        tags = (
            [tag for tag in self._pending if tag <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        for tag in sorted(tags):
            pending = self._pending.pop(tag, None)
            if pending is None:
                continue
            if isinstance(method, Basic.Nack):
                # reject-publish: the intake queue is at its length limit.
                _settle(pending.future, "full")
            elif pending.message_id in self._returned:
                self._returned.discard(pending.message_id)
                _settle(pending.future, "unroutable")
            else:
                _settle(pending.future, "ok")

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        self._returned = set()
        for entry in pending.values():
            _settle(entry.future, "down")


def _settle(future: Future[Outcome], outcome: Outcome) -> None:
    # The waiting request may have given up (timeout); settling is then moot.
    if not future.done():
        future.set_result(outcome)
