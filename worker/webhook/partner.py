"""Delivering one webhook partner's queue: the consume, POST, ack or hand-on loop.

Every onward publish is mandatory, persistent and confirmed, and the
source delivery is acked only after the confirm. A refused publish is not
acked: the connection is closed and rebuilt after a backoff, and the broker
redelivers (at-least-once; the partner may see the same webhook-id twice).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

from haven.broker.connection import connect
from haven.broker.declines import decline_properties
from haven.broker.reconnect import Backoff, Failover
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    RETRY_EXCHANGE,
    partner_queue,
    retry_routing_key,
)
from haven.envelope import is_message_id
from worker.headers import BadHeadersError, RoutingState
from worker.webhook.address import AddressPolicy, Resolver, system_resolver
from worker.webhook.client import Answer, Target, classify, post
from worker.webhook.metrics import Outcome, WebhookMetrics
from worker.webhook.settings import WebhookSettings
from worker.webhook.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SecretError,
    load_secret,
    signature_header,
)

log = logging.getLogger(__name__)

REFUSED = "webhook-refused"  # decline reason (haven.broker.declines)
# Decline reason after the last retry tier; the router's quarantine reason
# too, when no eligible partner is left to try.
FAILED = "webhook-failed"
# How often a deliverer thread looks at its stop event while its queue is idle.
_POLL = 0.2


@dataclass(frozen=True)
class _Job:
    """One delivery from the partner's queue whose POST failed for now."""

    tag: int
    properties: pika.BasicProperties
    body: bytes
    message_id: str
    state: RoutingState


class _PublishRefusedError(Exception):
    """The broker nacked or returned an onward publish: the source stays unacked."""


class PartnerDeliverer:
    """Deliver one webhook partner's queue until `stop_event` is set."""

    def __init__(
        self,
        settings: WebhookSettings,
        partner_id: str,
        url: str,
        context: ssl.SSLContext,
        metrics: WebhookMetrics,
        *,
        stop_event: threading.Event,
        on_consuming: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.partner_id = partner_id
        self.queue = partner_queue(partner_id)
        self.target = Target.from_url(url)
        self.context = context
        self.metrics = metrics
        self.stop_event = stop_event
        self._on_consuming = on_consuming
        self._clock = clock
        self._policy = AddressPolicy(allow_private=settings.allow_private, resolver=resolver)
        self._user = settings.username()
        self._keys: tuple[bytes, ...] = ()

    def run(self) -> None:
        log.info("partner %s: delivering to https://%s", self.partner_id, self.target.host)
        # One node at a time; after a failure or a lost connection, the next one.
        failover = Failover(len(self.settings.broker.urls), Backoff(self.settings.backoff))
        while not self.stop_event.is_set():
            try:
                # Read at every (re)connect: a rotated secret file takes
                # effect on the next reconnect or restart.
                self._keys = load_secret(self.settings.secret_file(self.partner_id))
            except SecretError as exc:
                # The message names the file and what is wrong, never its content.
                # Meanwhile the partner's requests expire back to the router.
                delay = failover.backoff.next_delay()
                log.error(
                    "partner %s: %s; not delivering, retry in %.1fs", self.partner_id, exc, delay
                )
                self.stop_event.wait(delay)
                continue
            try:
                self._serve(failover)
            except _PublishRefusedError as exc:
                log.warning("partner %s: %s; reconnecting", self.partner_id, exc)
            except (AMQPError, OSError) as exc:
                log.warning(
                    "partner %s: broker connection: %s", self.partner_id, type(exc).__name__
                )
            except Exception:
                # A bug must not ack or drop anything: the connection is closed
                # (unacked -> redelivered; the queue's delivery limit hands a
                # request that keeps failing back to the router).
                log.exception("partner %s: deliverer failed", self.partner_id)
            if self.stop_event.is_set():
                break
            delay = failover.next_delay()
            log.info("partner %s: reconnecting in %.1fs", self.partner_id, delay)
            self.stop_event.wait(delay)
        log.info("partner %s: deliverer stopped", self.partner_id)

    # -- one connection ------------------------------------------------------

    def _serve(self, failover: Failover) -> None:
        connection = connect(self.settings.broker, node=failover.node)
        try:
            channel = connection.channel()
            # Confirms: basic_publish returns only once the broker has the
            # message (raises NackError / UnroutableError otherwise).
            channel.confirm_delivery()
            # One request at a time: the rest wait in the queue, deadlines running.
            channel.basic_qos(prefetch_count=1)
            announced = False
            for method, properties, body in channel.consume(self.queue, inactivity_timeout=_POLL):
                if not announced:
                    announced = True
                    failover.connected()
                    if self._on_consuming is not None:
                        self._on_consuming()
                if method is not None:
                    self._deliver(connection, channel, method, properties, body)
                # Between deliveries only: an in-flight one is always finished.
                if self.stop_event.is_set():
                    channel.cancel()
                    return
            # The generator ends only when the broker cancels the consumer
            # (the queue was deleted): reconnect and find out.
            raise AMQPError("consumer cancelled by the broker")
        finally:
            if connection.is_open:
                connection.close()

    def _deliver(
        self,
        connection: Any,
        channel: Any,
        method: Any,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        tag = method.delivery_tag
        message_id = properties.message_id
        try:
            state: RoutingState | None = RoutingState.from_headers(properties.headers)
        except BadHeadersError:
            state = None
        if (
            state is None
            or state.stage != "partner"
            or state.partner != self.partner_id
            or not is_message_id(message_id)
        ):
            # Only a router writes this queue; what it did not write is not
            # POSTed. Rejected, it dead-letters to the router, which
            # quarantines it (bad headers / id mismatch) or routes it on.
            shown = message_id if is_message_id(message_id) else "-"
            log.warning(
                "message %s in %s's queue: no valid routing state; rejected", shown, self.partner_id
            )
            channel.basic_reject(tag, requeue=False)
            return
        answer = self._post(connection, message_id, body)
        self.metrics.post_seconds.labels(self.partner_id).observe(answer.seconds)
        verdict = classify(answer.status)
        what = str(answer.status) if answer.status is not None else answer.error
        if verdict == "accepted":
            channel.basic_ack(tag)
            self._count("accepted")
            log.info("request %s: delivered to %s (%s)", message_id, self.partner_id, what)
        elif verdict == "declined":
            self._publish(
                channel,
                DECLINES_EXCHANGE,
                DECLINES_ROUTING_KEY,
                body,
                decline_properties(properties, REFUSED, user_id=self._user),
            )
            channel.basic_ack(tag)
            self._count("declined")
            log.info("request %s: webhook of %s refused it (%s)", message_id, self.partner_id, what)
        else:
            self.metrics.failures.labels(self.partner_id, answer.failed).inc()
            if answer.failure == "blocked-address":
                # Host and kind of address only: the path and query may hold
                # the partner's token, and the address says nothing more.
                log.warning(
                    "request %s: webhook host %s of %s: %s; treated as unreachable",
                    message_id,
                    self.target.host,
                    self.partner_id,
                    answer.detail,
                )
            self._after_failure(channel, _Job(tag, properties, body, message_id, state), what)

    def _after_failure(self, channel: Any, job: _Job, what: str | None) -> None:
        attempts = job.state.attempts + 1
        if attempts > len(self.settings.limits.retry_delays):
            # Every tier waited out: a partner whose server is down must not
            # strand the request. Handed back to the router like a decline
            # (this deliverer's own user, which the router trusts), it goes
            # to the next eligible partner; quarantine only if none is left.
            exchange, key = DECLINES_EXCHANGE, DECLINES_ROUTING_KEY
            onward = decline_properties(job.properties, FAILED, user_id=self._user)
            outcome: Outcome = "passed-on"
        else:
            # Back to this same partner after the tier's delay: the router
            # sees stage "redeliver" and puts it in this queue again with
            # the attempts kept (and a fresh deadline).
            exchange, key = RETRY_EXCHANGE, retry_routing_key(attempts)
            # Sealed like the router's own state: the router takes routing
            # state on the returned path only under the shared router key.
            headers = self.settings.router_keys.seal(
                job.message_id,
                RoutingState(
                    tried=job.state.tried,
                    retries=0,
                    stage="redeliver",
                    partner=self.partner_id,
                    attempts=attempts,
                ),
            )
            onward = _onward(job.properties, job.message_id, headers)
            outcome = "retried"
        self._publish(channel, exchange, key, job.body, onward)
        channel.basic_ack(job.tag)
        self._count(outcome)
        log.log(
            logging.WARNING if outcome == "passed-on" else logging.INFO,
            "request %s: webhook of %s failed (%s), attempt %d: %s",
            job.message_id,
            self.partner_id,
            what,
            attempts,
            outcome,
        )

    def _publish(
        self,
        channel: Any,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
    ) -> None:
        try:
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        except (NackError, UnroutableError) as exc:
            # Never reject the source instead: its queue would dead-letter it
            # to the router as a decline. Unacked, it is redelivered.
            raise _PublishRefusedError(
                f"publish to {exchange} refused ({type(exc).__name__}); source left unacked"
            ) from None

    def _count(self, outcome: Outcome) -> None:
        self.metrics.deliveries.labels(self.partner_id, outcome).inc()

    # -- the POST --------------------------------------------------------------

    def _post(self, connection: Any, message_id: str, body: bytes) -> Answer:
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/octet-stream",
            "user-agent": "haven-webhook/1",
            ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature_header(self._keys, message_id, timestamp, body),
        }
        answer = post(
            self.target,
            body,
            headers,
            context=self.context,
            timeout=self.settings.timeout,
            policy=self._policy,
            thread_name=f"webhook-{self.partner_id}",
            # Serve the broker connection (heartbeats, a close) while waiting.
            while_waiting=lambda: connection.process_data_events(time_limit=0),
        )
        if answer.left_behind:
            # The partner may then see this webhook-id twice, which it must
            # tolerate anyway.
            log.warning("request %s: POST to %s did not stop", message_id, self.partner_id)
        return answer


def _onward(
    received: pika.BasicProperties, message_id: str, headers: dict[str, object]
) -> pika.BasicProperties:
    # Same id and bytes, persistent, no expiration: a retry tier's TTL is
    # the wait, and the router gives the request a fresh deadline after it.
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message_id,
        content_type=received.content_type,
        type=received.type,
        timestamp=received.timestamp,  # the intake's acceptance time, for operators
        headers=headers,
    )
