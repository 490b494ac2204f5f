"""Webhook delivery: POST each request in a webhook partner's queue to its https URL, still sealed.

One thread per webhook partner, each with its own blocking pika connection
(pika connections are not thread-safe), consuming `haven.partner.<id>`
with prefetch 1:

    2xx                          -> ack (the partner has it)
    4xx except 408 and 429       -> decline "webhook-refused": the router
                                    gives it to the next eligible partner
    anything else (5xx, 408, 429, 3xx, timeout, connection or TLS error)
                                 -> retry tier `attempts`, then back to the
                                    same partner through the router; after
                                    the last tier, quarantine "webhook-failed"

Every onward publish is mandatory, persistent and confirmed, and the
source delivery is acked only after the confirm. A refused publish is not
acked: the connection is closed and rebuilt after a backoff, and the broker
redelivers (at-least-once; the partner may see the same webhook-id twice).

Prefetch 1: a slow partner holds one request; the others wait in its queue
with their deadlines running, so an unresponsive webhook's requests expire
back to the router and go to the next partner.

Logs and metrics name message ids, partner ids, status codes and error
class names only: never the body, never the URL's path or query (it may
hold the partner's token), never the secret. The host is logged once.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError
from prometheus_client import CollectorRegistry, Counter, Histogram

from haven.broker.connection import connect
from haven.broker.declines import decline_properties
from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import Backoff, BackoffPolicy
from haven.broker.settings import BrokerSettings, SettingsError, env_number
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    QUARANTINE_EXCHANGE,
    QUARANTINE_ROUTING_KEY,
    RETRY_EXCHANGE,
    partner_queue,
    retry_routing_key,
)
from haven.envelope import is_message_id
from schemas.directory import Directory
from worker.directory import DirectoryLoader, reload_or_keep
from worker.headers import REASON, BadHeadersError, RoutingState
from worker.webhook_signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SecretError,
    load_secret,
    signature_header,
)

log = logging.getLogger(__name__)

Verdict = Literal["accepted", "declined", "transient"]
Outcome = Literal["accepted", "declined", "retried", "quarantined"]

REFUSED = "webhook-refused"  # decline reason (haven.broker.declines)
FAILED = "webhook-failed"  # quarantine reason
# The partner's answer body is read only this far, then dropped with the
# connection: a partner (or whoever sits at its URL) cannot make Haven
# buffer megabytes, and nothing of it is kept or logged.
MAX_ANSWER_BYTES = 4096
# After the deadline the socket is shut down; this long more for the POST
# thread to notice before it is left behind (a hung DNS lookup ignores
# socket timeouts).
_CUT_GRACE = 2.0
# How often a deliverer thread looks at its stop event while its queue is idle.
_POLL = 0.2


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    # Must equal the router's: the retry tiers are its queues, and the number
    # of tiers is the number of retries before quarantine.
    limits: RoutingLimits = field(default_factory=RoutingLimits)
    # `<secrets_dir>/<partner id>.secret`, mode 0600 (webhook_signing.load_secret).
    secrets_dir: Path
    # Upper bound on one whole POST (connect, TLS, send, answer), seconds.
    timeout: float = 10.0
    # Extra CA certificates (PEM) trusted besides the system's, for partners
    # behind a private CA. Verification itself is never turned off.
    ca_file: Path | None = None
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    # How often the directory is re-read, seconds (as the router's).
    directory_refresh: float = 60.0

    def __post_init__(self) -> None:
        # A POST holds the partner's one in-flight request and the thread's
        # broker connection: it must end well within a broker heartbeat round.
        if not 1 <= self.timeout <= 60:
            raise SettingsError("HAVEN_WEBHOOK_TIMEOUT must be between 1 and 60 seconds")
        if not 1 <= self.directory_refresh <= 86_400:
            raise SettingsError("HAVEN_DIRECTORY_REFRESH must be between 1 and 86400 seconds")

    def username(self) -> str:
        """This deliverer's broker user: the user_id its declines carry."""
        credentials = pika.URLParameters(self.broker.url).credentials
        if not isinstance(credentials, pika.PlainCredentials) or not credentials.username:
            raise SettingsError("HAVEN_AMQP_URL must name a broker user")
        return str(credentials.username)

    def secret_file(self, partner_id: str) -> Path:
        partner_queue(partner_id)  # the directory's id rule: no slash, no dot, no escape
        return self.secrets_dir / f"{partner_id}.secret"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookSettings:
        secrets_dir = environ.get("HAVEN_WEBHOOK_SECRETS_DIR")
        if not secrets_dir:
            raise SettingsError("HAVEN_WEBHOOK_SECRETS_DIR must name the directory of secret files")
        ca_file = environ.get("HAVEN_WEBHOOK_CA_FILE")
        return cls(
            broker=BrokerSettings.from_env(environ),
            limits=RoutingLimits.from_env(environ),
            secrets_dir=Path(secrets_dir),
            timeout=float(env_number(environ, "HAVEN_WEBHOOK_TIMEOUT", cls.timeout, float)),
            ca_file=Path(ca_file) if ca_file else None,
            directory_refresh=float(
                env_number(environ, "HAVEN_DIRECTORY_REFRESH", cls.directory_refresh, float)
            ),
        )


class WebhookMetrics:
    """Deliveries by partner and outcome, POST durations by partner; a registry of its own.

    Labels are partner ids (from the signed directory) and a closed set of
    outcomes: nothing about a requester, no unbounded label space.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.deliveries = Counter(
            "haven_webhook_deliveries",
            "Webhook deliveries by outcome: accepted, declined, retried, quarantined",
            ("partner", "outcome"),
            registry=self.registry,
        )
        self.post_seconds = Histogram(
            "haven_webhook_post_seconds",
            "Duration of one webhook POST, answered or not",
            ("partner",),
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )

    def value(self, partner: str, outcome: Outcome) -> float:
        """A delivery counter's current value (0 if never counted); for tests and operators."""
        found = self.registry.get_sample_value(
            "haven_webhook_deliveries_total", {"partner": partner, "outcome": outcome}
        )
        return found or 0.0


def classify(status: int | None) -> Verdict:
    """What a webhook's answer means. None: no HTTP answer at all (timeout, TLS, connection)."""
    if status is not None and 200 <= status <= 299:
        return "accepted"
    # 408 (it timed out reading) and 429 (slow down) are the partner's
    # server saying "later"; every other 4xx is a refusal of this request.
    if status is not None and 400 <= status <= 499 and status not in (408, 429):
        return "declined"
    # 5xx, 408, 429, and 3xx: redirects are never followed (the sealed
    # request goes only where the signed directory says), and a moved
    # endpoint is an operator's fix, as with Stripe's and Svix's webhooks.
    return "transient"


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host name verification always on; TLS 1.2 or later."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"HAVEN_WEBHOOK_CA_FILE {ca_file}: not a readable PEM CA file ({type(exc).__name__})"
            ) from None
    # The defaults, asserted: no setting anywhere can turn verification off.
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # noqa: S101
    return context


@dataclass(frozen=True)
class Target:
    """Where a partner's webhook listens. `path` (with query) is never logged."""

    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        # The directory allows https URLs only; checked again, because a
        # plain-http POST would show who gets what, and when, to the network.
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise SettingsError("a webhook URL must be https:// with a host and no credentials")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or 443, path)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP status line was received
    error: str | None  # the error's class name only: its text may quote the URL
    seconds: float


class _Post:
    """One POST, run in a thread of its own so the broker connection keeps its heartbeats."""

    def __init__(
        self,
        target: Target,
        body: bytes,
        headers: Mapping[str, str],
        context: ssl.SSLContext,
        timeout: float,
    ) -> None:
        self._target = target
        self._body = body
        self._headers = dict(headers)
        # http.client, not urllib.request: it never follows a redirect, never
        # takes a proxy from the environment, and leaves the socket in reach
        # so a whole POST can be cut off at its deadline (a socket timeout
        # bounds each read only; a server dripping a byte at a time would
        # otherwise hold the request for as long as it liked).
        self._connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=context
        )
        self.status: int | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._connection.request("POST", self._target.path, self._body, self._headers)
            response = self._connection.getresponse()
            # The status line is the answer; what follows is read boundedly and dropped.
            self.status = response.status
            response.read(MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            if self.status is None:
                self.error = type(exc).__name__
        finally:
            self._connection.close()
            self.done.set()

    def cut(self) -> None:
        """Past the deadline: shut the socket so the blocked read in `run` returns now."""
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by `run`
                sock.shutdown(socket.SHUT_RDWR)


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
        self._user = settings.username()
        self._keys: tuple[bytes, ...] = ()

    def run(self) -> None:
        log.info("partner %s: delivering to https://%s", self.partner_id, self.target.host)
        backoff = Backoff(self.settings.backoff)
        while not self.stop_event.is_set():
            try:
                # Read at every (re)connect: a rotated secret file takes
                # effect on the next reconnect or restart.
                self._keys = load_secret(self.settings.secret_file(self.partner_id))
            except SecretError as exc:
                # The message names the file and what is wrong, never its content.
                # Meanwhile the partner's requests expire back to the router.
                delay = backoff.next_delay()
                log.error(
                    "partner %s: %s; not delivering, retry in %.1fs", self.partner_id, exc, delay
                )
                self.stop_event.wait(delay)
                continue
            try:
                self._serve(backoff)
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
            delay = backoff.next_delay()
            log.info("partner %s: reconnecting in %.1fs", self.partner_id, delay)
            self.stop_event.wait(delay)
        log.info("partner %s: deliverer stopped", self.partner_id)

    # -- one connection ------------------------------------------------------

    def _serve(self, backoff: Backoff) -> None:
        connection = connect(self.settings.broker)
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
                    backoff.reset()
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
            self._after_failure(channel, _Job(tag, properties, body, message_id, state), what)

    def _after_failure(self, channel: Any, job: _Job, what: str | None) -> None:
        attempts = job.state.attempts + 1
        if attempts > len(self.settings.limits.retry_delays):
            # Every tier waited out: operators look at it (the partner's
            # endpoint has been failing for the whole retry schedule).
            exchange, key = QUARANTINE_EXCHANGE, QUARANTINE_ROUTING_KEY
            headers = {**job.state.headers(), REASON: FAILED}
            outcome: Outcome = "quarantined"
        else:
            # Back to this same partner after the tier's delay: the router
            # sees stage "redeliver" and puts it in this queue again with
            # the attempts kept (and a fresh deadline).
            exchange, key = RETRY_EXCHANGE, retry_routing_key(attempts)
            headers = RoutingState(
                tried=job.state.tried,
                retries=0,
                stage="redeliver",
                partner=self.partner_id,
                attempts=attempts,
            ).headers()
            outcome = "retried"
        self._publish(
            channel, exchange, key, job.body, _onward(job.properties, job.message_id, headers)
        )
        channel.basic_ack(job.tag)
        self._count(outcome)
        log.log(
            logging.WARNING if outcome == "quarantined" else logging.INFO,
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
        post = _Post(self.target, body, headers, self.context, self.settings.timeout)
        started = time.monotonic()
        deadline = started + self.settings.timeout
        worker = threading.Thread(target=post.run, name=f"webhook-{self.partner_id}", daemon=True)
        worker.start()
        # Serve the broker connection (heartbeats, a close) while waiting.
        while not post.done.wait(0.05):
            connection.process_data_events(time_limit=0)
            if time.monotonic() >= deadline:
                break
        if not post.done.is_set():
            post.cut()
            if not post.done.wait(_CUT_GRACE):
                # Left behind (it ends with its socket timeout); whatever it
                # does later changes nothing here. The partner may then see
                # this webhook-id twice, which it must tolerate anyway.
                log.warning("request %s: POST to %s did not stop", message_id, self.partner_id)
            return Answer(None, "Timeout", time.monotonic() - started)
        return Answer(post.status, post.error, time.monotonic() - started)


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


def webhook_partners(directory: Directory) -> dict[str, str]:
    """Partner id -> webhook URL, for the partners whose delivery is a webhook."""
    return {
        partner.id: partner.delivery.url
        for partner in directory.partners
        if partner.delivery.kind == "webhook" and partner.delivery.url is not None
    }


@dataclass
class _Running:
    url: str
    stop: threading.Event
    thread: threading.Thread


class _Readiness:
    """Calls `on_consuming` once every partner thread of the current set consumes."""

    def __init__(self, on_consuming: Callable[[], None] | None) -> None:
        self._on_consuming = on_consuming
        self._lock = threading.Lock()
        self._wanted: frozenset[str] = frozenset()
        self._ready: set[str] = set()
        self._told = False

    def expect(self, partner_ids: frozenset[str]) -> None:
        with self._lock:
            self._wanted = partner_ids
            self._ready &= partner_ids
        self._maybe_tell()

    def ready(self, partner_id: str) -> None:
        with self._lock:
            self._ready.add(partner_id)
        self._maybe_tell()

    def _maybe_tell(self) -> None:
        with self._lock:
            tell = not self._told and self._wanted <= self._ready
            self._told = self._told or tell
        if tell and self._on_consuming is not None:
            self._on_consuming()


def run_deliverer(
    settings: WebhookSettings,
    directory_loader: DirectoryLoader,
    stop_event: threading.Event,
    *,
    metrics: WebhookMetrics | None = None,
    on_consuming: Callable[[], None] | None = None,
) -> WebhookMetrics:
    """Deliver to every webhook partner of the verified directory until `stop_event` is set.

    The directory is reloaded every `directory_refresh` seconds (a failing
    reload keeps the last verified one); a partner whose URL changes, or who
    leaves, has its thread stopped (after its in-flight delivery), and a new
    one started. If the very first load fails its error propagates.
    """
    metrics = metrics if metrics is not None else WebhookMetrics()
    context = tls_context(settings.ca_file)
    settings.username()  # fail now, not in every thread, if the URL names no user
    directory = directory_loader()
    readiness = _Readiness(on_consuming)
    running: dict[str, _Running] = {}

    def start(partner_id: str, url: str) -> _Running:
        stop = threading.Event()
        deliverer = PartnerDeliverer(
            settings,
            partner_id,
            url,
            context,
            metrics,
            stop_event=stop,
            on_consuming=lambda: readiness.ready(partner_id),
        )
        thread = threading.Thread(target=deliverer.run, name=f"deliver-{partner_id}", daemon=True)
        thread.start()
        return _Running(url, stop, thread)

    try:
        while True:
            wanted = webhook_partners(directory)
            changed = [pid for pid, run in running.items() if wanted.get(pid) != run.url]
            for partner_id in changed:
                running[partner_id].stop.set()
            for partner_id in changed:
                running.pop(partner_id).thread.join()
            for partner_id, url in wanted.items():
                if partner_id not in running:
                    try:
                        running[partner_id] = start(partner_id, url)
                    except SettingsError as exc:
                        log.error("partner %s: %s; not delivering", partner_id, exc)
            readiness.expect(frozenset(running))
            if stop_event.wait(settings.directory_refresh):
                break
            directory = reload_or_keep(directory_loader, directory)
    finally:
        # Each thread finishes its in-flight delivery, acks nothing unfinished, closes.
        for run in running.values():
            run.stop.set()
        for run in running.values():
            run.thread.join()
    log.info("deliverer stopped")
    return metrics
