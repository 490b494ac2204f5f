"""The router: one decision per delivery, each ending in exactly one confirmed publish and one ack.

For every message from the intake queue or the returned path:

    parse the header -> (poison?) quarantine with a reason
    choose one partner -> publish to its queue (deadline as expiration)
    none left -> haven.unassigned with a reason
    publish refused -> delayed retry tier; after the last tier, quarantine

The source delivery is acked only in the confirm callback of the publish
that carries the request onward; if even quarantine refuses it, the
delivery is rejected, and the source queue dead-letters it to quarantine
(at-least-once). Nothing is acked that was not handed on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pika

from haven.broker.consumer import ConfirmingConsumer, Delivery, Outcome, Outgoing
from haven.broker.declines import DECLINE, QUARANTINE_REASONS, REASONS, SERVICE_REASONS
from haven.broker.publisher import MESSAGE_TYPE
from haven.broker.topology import (
    INTAKE_QUEUE,
    PARTNER_EXCHANGE,
    QUARANTINE_EXCHANGE,
    QUARANTINE_ROUTING_KEY,
    RETRY_EXCHANGE,
    UNASSIGNED_EXCHANGE,
    UNASSIGNED_ROUTING_KEY,
    partner_of_user,
    partner_username,
    retry_routing_key,
)
from haven.envelope import EnvelopeFormatError, Header, digest, inspect, is_message_id
from haven.replies.message import PARTNER_ID_RE
from haven.store import StoreUnavailable
from schemas.directory import Directory, Partner
from schemas.routing import CATEGORIES, LANGUAGES, REGIONS, URGENCIES
from worker.budget import DeclineBudget
from worker.choice import (
    CandidateCache,
    Uniform,
    addressee,
    choose_partner,
    deadline_seconds,
    is_follow_up,
    sealed_to_addressee,
    stable_uniform,
)
from worker.consumed import ConsumedAssignments, honoured
from worker.directory import DirectoryLoader, reload_or_keep
from worker.headers import REASON, RoutingState, death_reason
from worker.metrics import NO_PARTNER, UNKNOWN_CATEGORY, RouterMetrics
from worker.metrics import Counter as _Counter
from worker.seal import BadSealError
from worker.seen import SeenIds
from worker.settings import RouterSettings

# Logs carry message ids (digests of ciphertext), partner ids and reason
# codes only: never envelope bytes, labels, or anything about a requester.
log = logging.getLogger(__name__)

# Reason codes written into x-haven-reason (docs/routing.md).
MALFORMED = "malformed-envelope"
ID_MISMATCH = "id-mismatch"
INVALID_LABELS = "invalid-labels"
RETRIES_EXHAUSTED = "retries-exhausted"
RETRY_UNAVAILABLE = "retry-unavailable"
NO_ELIGIBLE = "no-eligible-partner"
ALL_TRIED = "all-partners-tried"
# A follow-up sealed to a key that is not one of its partner's.
MISADDRESSED = "misaddressed-follow-up"
# Anything on the returned path without a valid seal for its assignment.
FORGED_DECLINE = "forged-decline"
UNKNOWN_SENDER = "unknown"

# A delivery handed back because the store was away waits this long, doubled
# for each earlier delivery (the quorum queue's x-delivery-count), at most
# STORE_RETRY_MAX: 2, 4, 8, 16, 32 s, then the delivery limit quarantines it.
STORE_RETRY_BASE = 2.0
STORE_RETRY_MAX = 32.0

# The state of a request fresh from the intake (immutable, so shared).
_FRESH = RoutingState()


@dataclass(frozen=True)
class _Request:
    delivery: Delivery
    header: Header
    message_id: str
    state: RoutingState
    # The assignment this decline or return consumed (worker.consumed):
    # settled when what carries the request on is confirmed.
    nonce: bytes | None = None

    @property
    def category(self) -> str:
        return self.header.labels.category

    @property
    def from_intake(self) -> bool:
        return self.delivery.queue == INTAKE_QUEUE


def _check_envelope(delivery: Delivery) -> tuple[Header, str] | str:
    """The parsed header and message id, or the quarantine reason."""
    try:
        header = inspect(delivery.body)
    except EnvelopeFormatError:
        return MALFORMED
    message_id = digest(delivery.body)
    if delivery.properties.message_id != message_id:
        # Duplicate suppression rests on id == digest(envelope); a
        # message that breaks it is not routed on trust.
        return ID_MISMATCH
    labels = header.labels
    if is_follow_up(header):
        # A follow-up's region is the id of the partner it answers
        # (docs/replies-v1.md section 5); whether that partner exists is
        # the directory's to say, in routing.
        known_labels = PARTNER_ID_RE.match(labels.region) is not None
    else:
        known_labels = labels.category in CATEGORIES and labels.region in REGIONS
    if not known_labels or labels.language not in LANGUAGES or labels.urgency not in URGENCIES:
        return INVALID_LABELS
    return header, message_id


def store_retry_delay(delivery: Delivery) -> float:
    """Seconds before a delivery that met the store away is handed back."""
    count = (delivery.properties.headers or {}).get("x-delivery-count", 0)
    # A header a partner wrote could be anything; only a small count counts.
    earlier = count if isinstance(count, int) and 0 <= count < 16 else 0
    return min(STORE_RETRY_BASE * float(2**earlier), STORE_RETRY_MAX)


class Router:
    """The routing decisions, as a `DeliveryHandler` for `ConfirmingConsumer`."""

    def __init__(
        self,
        settings: RouterSettings,
        directory: Directory,
        metrics: RouterMetrics,
        seen: SeenIds,
        *,
        declared_partners: frozenset[str],
        consumed: ConsumedAssignments,
        budget: DeclineBudget,
        reload: DirectoryLoader | None = None,
        uniform: Uniform = stable_uniform,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.metrics = metrics
        self.seen = seen
        self.declared_partners = declared_partners
        self.keys = settings.keys
        self.consumed = consumed
        self.budget = budget
        # Parsed once: checked on every returned message.
        self._trusted = settings.trusted_users()
        self._reload = reload
        self._uniform = uniform
        self._clock = clock
        self._loaded_at = clock()
        # Pools of first choices for the directory in use (keyed by its identity).
        self._candidates = CandidateCache()

    # -- entry ---------------------------------------------------------------

    def on_delivery(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None:
        self._maybe_refresh(consumer)
        try:
            if delivery.queue == INTAKE_QUEUE:
                self._from_intake(consumer, delivery)
            else:
                self._returned(consumer, delivery)
        except StoreUnavailable as exc:
            # Nothing was decided (the store is consulted before anything is
            # published). Handed back after a delay that grows with each
            # delivery, so the returned queue's delivery limit (5) gives the
            # store about a minute before an honest decline lands in
            # quarantine. One line, the error's type only (StoreUnavailable's
            # text is the driver error's type name, haven.store.db): the
            # driver's own text names the database's host and port, and
            # SQLAlchemy's the statement.
            delay = store_retry_delay(delivery)
            log.warning(
                "store unavailable (%s): a delivery from %s handed back in %.0fs",
                exc,
                delivery.queue,
                delay,
            )
            self.metrics.store_unavailable.inc()
            consumer.requeue_later(delivery, delay)

    def _from_intake(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None:
        checked = _check_envelope(delivery)
        if isinstance(checked, str):
            self._quarantine(consumer, delivery, checked, UNKNOWN_CATEGORY)
            return
        header, message_id = checked
        if is_follow_up(header):
            partner = addressee(self.directory, header)
            if partner is not None and not sealed_to_addressee(partner, header):
                # Another key could open it: not given to the partner it
                # names, nor to anyone else. Operators look at it (a key
                # rotation the router has not loaded yet looks the same,
                # and is replayed once it has).
                self._quarantine(consumer, delivery, MISADDRESSED, header.labels.category)
                return
        # Whatever headers came with it, a request from the intake starts afresh.
        request = _Request(delivery, header, message_id, _FRESH)
        if delivery.queue == INTAKE_QUEUE and message_id in self.seen:
            # Already routed by this router: the same envelope published twice.
            log.info("request %s: duplicate from intake dropped", message_id)
            self.metrics.duplicates.labels(request.category).inc()
            consumer.ack(delivery)
            return
        self._route(consumer, request)

    def _returned(self, consumer: ConfirmingConsumer, delivery: Delivery) -> None:
        """A decline, a dead-lettered return, a retry or an operator's replay.

        Partners can publish into this queue (through haven.declines), so
        nothing here is routed on its headers' word: only state sealed by a
        Haven service for this very message id, once per assignment.
        """
        headers = delivery.properties.headers or {}
        if self._operator_replay(delivery, headers):
            # Routed as new, like a request from the intake.
            self._from_intake(consumer, delivery)
            return
        checked = _check_envelope(delivery)
        if isinstance(checked, str):
            self._forged(consumer, delivery, UNKNOWN_CATEGORY)
            return
        header, message_id = checked
        try:
            sealed = self.keys.verify(message_id, headers)
        except BadSealError:
            self._forged(consumer, delivery, header.labels.category)
            return
        request = _Request(delivery, header, message_id, sealed.state, sealed.nonce)
        if DECLINE in headers:
            self._on_decline(consumer, request, sealed.nonce)
            return
        if not honoured(self.consumed.consume(sealed.nonce), delivery.redelivered):
            # The assignment was already answered (a decline honoured, and
            # now its dead-lettered twin; or a replayed return): routed once.
            # A redelivery of an unsettled one is a router's own unfinished
            # work after a crash, and is finished rather than dropped.
            who = sealed.state.partner or NO_PARTNER
            log.info("request %s: return of a used assignment (%s) dropped", message_id, who)
            self.metrics.used_returns.labels(self._sender(who)).inc()
            consumer.ack(delivery)
            return
        state = sealed.state
        if state.stage == "redeliver" and state.partner is not None:
            self._redeliver(consumer, request, state.partner)
            return
        if state.stage == "partner" and state.partner is not None:
            self._count_return(request, state.partner)
        self._route(consumer, request)

    def _operator_replay(self, delivery: Delivery, headers: Mapping[str, object]) -> bool:
        """`haven ops replay`: no routing state at all, published by a trusted Haven user.

        The broker checks user_id against the connection's user, and no
        partner user is trusted, so no partner can start a request afresh.
        """
        return delivery.properties.user_id in self._trusted and not any(
            name.startswith("x-haven-") for name in headers
        )

    def _count_return(self, request: _Request, partner_id: str) -> None:
        reason = death_reason(request.delivery.properties.headers)
        if reason == "expired":
            log.info("request %s: deadline passed at %s", request.message_id, partner_id)
            self.metrics.expired.labels(request.category, partner_id).inc()
        else:
            # rejected (a decline without a reason) or delivery_limit (the
            # partner's consumer kept failing on it): this partner did not take it.
            code = "delivery-limit" if reason == "delivery_limit" else "rejected"
            log.info("request %s: declined by %s (%s)", request.message_id, partner_id, code)
            self.metrics.declined.labels(request.category, partner_id, code).inc()

    def _on_decline(self, consumer: ConfirmingConsumer, request: _Request, nonce: bytes) -> None:
        """A request published back to haven.declines with a reason code.

        Honoured only for the current assignment of this request to the
        declining partner (stage partner, sealed), and only once.
        """
        state = request.state
        reason = request.delivery.properties.headers.get(DECLINE)
        if isinstance(reason, bytes):
            reason = reason.decode("ascii", "replace")
        if not isinstance(reason, str):
            # An AMQP array or table is unhashable: checked as it is, one
            # partner's decline would crash the consumer again and again.
            reason = None
        partner_id = state.partner
        sender = request.delivery.properties.user_id
        # The broker checked user_id against the connection's user: only the
        # partner the request was assigned to (or Haven's own services, for
        # webhook deliveries) may hand it back; a service reason (the webhook
        # delivery gave up) only Haven's services.
        if (
            state.stage != "partner"
            or partner_id is None
            or reason not in REASONS
            or (
                sender not in self._trusted
                and (reason in SERVICE_REASONS or sender != partner_username(partner_id))
            )
        ):
            self._forged(consumer, request.delivery, request.category)
            return
        # Last: a refused decline must not use up the assignment.
        consumption = self.consumed.consume(nonce)
        if consumption == "settled" and request.delivery.redelivered:
            # Handed back to the broker once (a store outage, a lost
            # connection) and redelivered, but its assignment was already
            # handed on: a replay, or this router's own decline whose ack
            # was lost after its confirm. Either way the work is done, so
            # it is acked and counted, neither routed again nor quarantined
            # (quarantine would show operators a copy of a request that is
            # where it should be).
            log.info("request %s: redelivered decline of a settled assignment", request.message_id)
            self.metrics.used_returns.labels(self._sender(partner_id)).inc()
            consumer.ack(request.delivery)
            return
        # A redelivery (the broker's flag, no partner can set it) of an
        # unsettled assignment is this decline again after a lost
        # connection: its first try consumed the nonce before its onward
        # publish was confirmed. Anything else already used is a replay.
        if not honoured(consumption, request.delivery.redelivered):
            self._forged(consumer, request.delivery, request.category)
            return
        log.info("request %s: declined by %s (%s)", request.message_id, partner_id, reason)
        self.metrics.declined.labels(request.category, partner_id, str(reason)).inc()
        if reason in QUARANTINE_REASONS:
            # Broken for this partner (cannot be opened, or its content is
            # invalid): operators look at it rather than the next partner.
            self._quarantine(
                consumer,
                request.delivery,
                f"partner-{reason}",
                request.category,
                state,
                nonce=nonce,
            )
            return
        # A webhook that failed every retry tier goes to the next partner;
        # with none left, to quarantine with its reason (operators check
        # the partner's server and replay it), not to unassigned.
        self._route(consumer, request, none_left=str(reason) if reason in SERVICE_REASONS else None)

    def _sender(self, partner_id: str | None) -> str:
        # Metric label and bucket key: a partner of the directory, or unknown
        # (a closed set, whatever a forger writes).
        known = partner_id is not None and any(p.id == partner_id for p in self.directory.partners)
        return partner_id if known and partner_id is not None else UNKNOWN_SENDER

    def _forged(self, consumer: ConfirmingConsumer, delivery: Delivery, category: str) -> None:
        """Not routing state a Haven service sealed for this assignment: never routed on."""
        user = delivery.properties.user_id
        sender = self._sender(partner_of_user(user) if isinstance(user, str) else None)
        if self.budget.take(sender):
            self.metrics.forged.labels(sender, "quarantined").inc()
            self._quarantine(consumer, delivery, FORGED_DECLINE, category)
            return
        # Over the sender's bound: not a request, so not kept. Logged with
        # the partner id only (its message id and headers are the forger's).
        self.metrics.forged.labels(sender, "dropped").inc()
        log.warning("forged decline from %s dropped: over the bound", sender)
        consumer.ack(delivery)

    def _redeliver(self, consumer: ConfirmingConsumer, request: _Request, partner_id: str) -> None:
        """A webhook delivery waited out a retry tier: back to the same partner if it still fits."""
        state = request.state
        kids = {kid.hex() for kid in request.header.kids}
        partner = next((p for p in self.directory.partners if p.id == partner_id), None)
        if partner is None or not any(key.kid in kids for key in partner.keys):
            # The partner left the directory (or lost the key) meanwhile:
            # route on to the next one, as after a decline.
            self._route(consumer, request)
            return
        onward = RoutingState(
            tried=state.tried,
            retries=0,
            stage="partner",
            partner=partner.id,
            attempts=state.attempts,
        )
        self._send_to_partner(consumer, request, partner, onward, self.metrics.redelivered)

    # -- routing ---------------------------------------------------------------

    def _route(
        self, consumer: ConfirmingConsumer, request: _Request, *, none_left: str | None = None
    ) -> None:
        """Send the request to its next partner; with none left, unassign it (or quarantine it
        with `none_left` as the reason)."""
        state = request.state
        partner = choose_partner(
            self.directory,
            request.header,
            state.tried,
            request.message_id,
            self._uniform,
            cache=self._candidates,
        )
        if partner is None:
            if none_left is not None:
                self._quarantine(
                    consumer,
                    request.delivery,
                    none_left,
                    request.category,
                    state,
                    nonce=request.nonce,
                )
            else:
                self._unassign(consumer, request, ALL_TRIED if state.tried else NO_ELIGIBLE)
            return
        onward = RoutingState(
            tried=(*state.tried, partner.id), retries=0, stage="partner", partner=partner.id
        )
        counter = self.metrics.rerouted if state.tried else self.metrics.routed
        self._send_to_partner(consumer, request, partner, onward, counter)

    def _send_to_partner(
        self,
        consumer: ConfirmingConsumer,
        request: _Request,
        partner: Partner,
        onward: RoutingState,
        counter: _Counter,
    ) -> None:
        seconds = deadline_seconds(
            partner, request.header.labels.urgency, self.settings.max_deadline
        )
        outgoing = Outgoing(
            PARTNER_EXCHANGE,
            partner.id,
            request.delivery.body,
            _properties(
                request.message_id,
                self.keys.seal(request.message_id, onward),
                request.delivery.properties,
                expiration_ms=seconds * 1000,
            ),
        )

        def done(outcome: Outcome) -> None:
            if outcome == "confirmed":
                self._settle(request.nonce)
                consumer.ack(request.delivery)
                self.metrics.child(counter, request.category, partner.id).inc()
                self._remember(request)
                log.info("request %s: routed to %s", request.message_id, partner.id)
            else:
                log.warning(
                    "request %s: %s by queue of %s", request.message_id, outcome, partner.id
                )
                self._retry(consumer, request, partner.id)

        consumer.publish(outgoing, done)

    def _unassign(self, consumer: ConfirmingConsumer, request: _Request, reason: str) -> None:
        headers = {**self.keys.seal(request.message_id, request.state), REASON: reason}
        outgoing = Outgoing(
            UNASSIGNED_EXCHANGE,
            UNASSIGNED_ROUTING_KEY,
            request.delivery.body,
            _properties(request.message_id, headers, request.delivery.properties),
        )

        def done(outcome: Outcome) -> None:
            if outcome == "confirmed":
                self._settle(request.nonce)
                consumer.ack(request.delivery)
                self.metrics.unassigned.labels(request.category).inc()
                self._remember(request)
                log.info("request %s: unassigned (%s)", request.message_id, reason)
            else:
                self._retry(consumer, request, NO_PARTNER)

        consumer.publish(outgoing, done)

    def _retry(self, consumer: ConfirmingConsumer, request: _Request, partner_id: str) -> None:
        tier = request.state.retries + 1
        self.metrics.retries.labels(request.category, partner_id).inc()
        if tier > len(self.settings.limits.retry_delays):
            self._quarantine(
                consumer,
                request.delivery,
                RETRIES_EXHAUSTED,
                request.category,
                request.state,
                nonce=request.nonce,
            )
            return
        # The tried list is kept as it was: the retry repeats the same step
        # (and, by the stable choice, usually the same partner).
        waiting = RoutingState(tried=request.state.tried, retries=tier, stage="retry")
        outgoing = Outgoing(
            RETRY_EXCHANGE,
            retry_routing_key(tier),
            request.delivery.body,
            _properties(
                request.message_id,
                self.keys.seal(request.message_id, waiting),
                request.delivery.properties,
            ),
        )

        def done(outcome: Outcome) -> None:
            if outcome == "confirmed":
                self._settle(request.nonce)
                consumer.ack(request.delivery)
                log.info("request %s: retry tier %d", request.message_id, tier)
            else:
                self._quarantine(
                    consumer,
                    request.delivery,
                    RETRY_UNAVAILABLE,
                    request.category,
                    request.state,
                    nonce=request.nonce,
                )

        consumer.publish(outgoing, done)

    def _quarantine(
        self,
        consumer: ConfirmingConsumer,
        delivery: Delivery,
        reason: str,
        category: str,
        state: RoutingState | None = None,
        *,
        nonce: bytes | None = None,
    ) -> None:
        claimed = delivery.properties.message_id
        message_id = claimed if is_message_id(claimed) else None
        # Only state that verified (or that this router made) is sealed again.
        sealed = self.keys.seal(message_id, state) if state and message_id else {}
        headers = {**sealed, REASON: reason}
        outgoing = Outgoing(
            QUARANTINE_EXCHANGE,
            QUARANTINE_ROUTING_KEY,
            delivery.body,
            _properties(message_id, headers, delivery.properties),
        )

        def done(outcome: Outcome) -> None:
            if outcome == "confirmed":
                self._settle(nonce)
                consumer.ack(delivery)
            else:
                # Quarantine itself refused: the source queue dead-letters
                # the rejected delivery to quarantine, and at-least-once
                # dead-lettering holds it until quarantine has room. Not
                # settled: a reject has no confirm, and if the connection
                # dies before the broker takes it, the redelivery must find
                # the assignment unsettled and finish the work; settled, it
                # would be acked (a decline) or dropped (a return) and the
                # request lost.
                consumer.reject(delivery)
            self.metrics.quarantined.labels(category).inc()
            log.warning("message %s: quarantined (%s)", message_id or "-", reason)

        consumer.publish(outgoing, done)

    def _settle(self, nonce: bytes | None) -> None:
        """Record a consumed assignment as handed on, before its source is acked."""
        if nonce is None:
            return
        try:
            self.consumed.settle(nonce)
        except StoreUnavailable as exc:
            # The request is handed on, so its source is acked all the same.
            # The record remembers it settled in memory and writes it with
            # its next settle (haven.store.assignments); until then a replay
            # redelivered to another router could be honoured once more.
            log.warning("store unavailable (%s): assignment left unsettled", exc)
            self.metrics.store_unavailable.inc()

    def _remember(self, request: _Request) -> None:
        if request.from_intake:
            self.seen.add(request.message_id)

    # -- directory -------------------------------------------------------------

    def _maybe_refresh(self, consumer: ConfirmingConsumer) -> None:
        if (
            self._reload is None
            or self._clock() - self._loaded_at < self.settings.directory_refresh
        ):
            return
        self._loaded_at = self._clock()
        fresh = reload_or_keep(self._reload, self.directory)
        if {partner.id for partner in fresh.partners} <= self.declared_partners:
            self.directory = fresh
        else:
            # New partners need their queues declared first: finish what is
            # in flight with the old directory, then reconnect and declare.
            log.info("directory version %d adds partners: restarting to declare", fresh.version)
            consumer.stop("restart")


def _properties(
    message_id: str | None,
    headers: dict[str, object],
    source: pika.BasicProperties,
    *,
    expiration_ms: int | None = None,
) -> pika.BasicProperties:
    # The intake's acceptance time (to the minute) travels unchanged on
    # every hop, so operators see how long a held request has waited.
    timestamp = source.timestamp if isinstance(source.timestamp, int) else None
    return pika.BasicProperties(
        timestamp=timestamp,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message_id,
        content_type="application/octet-stream",
        type=MESSAGE_TYPE,
        headers=headers,
        expiration=str(expiration_ms) if expiration_ms is not None else None,
    )
