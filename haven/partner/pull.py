"""Pulling a partner's requests: take each one, open it here, keep it, then tell the broker.

Runs on the partner's own machine with the partner's own broker user,
which may read only this partner's queue and publish only declines.

For every request, in this order (each step is what makes the next safe):

    duplicate id (taken or declined before) -> ack
    cannot be opened with our keys          -> decline "undecryptable"  (router: quarantine)
    content fails its category's schema      -> decline "invalid-content" (router: quarantine)
    otherwise: store it, sealed, in the inbox (one transaction) -> ack

A follow-up (category label "follow_up", docs/replies-v1.md section 5) is
taken the same way, its content checked as a follow-up's and its region
label as this partner's id. A request whose content names a mailbox is
stored with its automatic "received" status pending: `haven partner pull`
posts it once the broker work is done (haven.partner.outbox), and a pull
that could not keeps it pending for the next.

A decline is the same request published back to `haven.declines` and
confirmed by the broker *before* the delivery is acked; a crash in between
gives at most a redelivery, which the inbox recognises by id. Nothing is
acked that is not either on disk here or confirmed back to the router.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, NackError, UnroutableError

from haven.broker.connection import connection_parameters
from haven.broker.declines import decline_properties
from haven.broker.publisher import MESSAGE_TYPE
from haven.broker.settings import BrokerSettings
from haven.broker.topology import DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, partner_queue
from haven.envelope import OpenError, PrivateKey, digest
from haven.partner.entry import format_time
from haven.partner.inbox import FOLLOW_UP, PENDING, Entry, Inbox, valid_id
from haven.partner.opening import ContentRefused, OpenedItem, open_item

# Ids and outcomes only: never labels, content, or the envelope.
log = logging.getLogger(__name__)


class PullError(Exception):
    """The pull could not go on; what was already taken stays taken."""


@dataclass
class PullReport:
    taken: int = 0
    duplicates: int = 0
    declined: dict[str, int] = field(default_factory=dict)
    # Messages left in the queue after the last one taken, as the broker said.
    remaining: int = 0

    @property
    def handled(self) -> int:
        return self.taken + self.duplicates + sum(self.declined.values())

    def line(self) -> str:
        declined = sum(self.declined.values())
        return (
            f"{self.handled} pulled, {self.remaining} left: {self.taken} new, "
            f"{self.duplicates} duplicate, {declined} declined"
        )


@dataclass(frozen=True)
class PartnerSettings:
    # The partner's own broker user (haven provision writes its password).
    broker: BrokerSettings
    partner_id: str

    @property
    def username(self) -> str:
        username = self.broker.username
        if username is None:
            raise PullError("the broker URL names no user")
        return username


def _now() -> str:
    return format_time(datetime.now(UTC))


def _deadline(received: datetime, expiration: object) -> datetime | None:
    """When the router takes the request back: its `expiration` (ms) counted from now."""
    try:
        milliseconds = int(str(expiration))
    except ValueError:
        return None
    return received + timedelta(milliseconds=milliseconds) if milliseconds >= 0 else None


class _Puller:
    def __init__(
        self,
        channel: BlockingChannel,
        settings: PartnerSettings,
        keys: Sequence[PrivateKey],
        inbox: Inbox,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.keys = keys
        self.inbox = inbox
        self.report = PullReport()

    def handle(self, tag: int, properties: pika.BasicProperties, body: bytes) -> None:
        claimed = properties.message_id
        request_id = claimed if isinstance(claimed, str) and valid_id(claimed) else None
        if request_id is not None and digest(body) == request_id and self.inbox.has(request_id):
            # Taken (or declined) before: at-least-once delivery sent it again.
            self.report.duplicates += 1
            self.channel.basic_ack(tag)
            return
        if request_id is None or digest(body) != request_id:
            # Not what the router sent: nobody can be sure what it is.
            self._decline(tag, properties, body, "undecryptable", request_id=None)
            return
        try:
            opened = open_item(body, self.keys)
        except OpenError:
            self._decline(tag, properties, body, "undecryptable", request_id=request_id)
            return
        except ContentRefused as refused:
            self._decline(
                tag,
                properties,
                body,
                "invalid-content",
                request_id=request_id,
                labels=refused.labels,
            )
            return
        now = datetime.now(UTC)
        entry = self._entry(request_id, opened, format_time(now))
        if entry is None:
            self._decline(
                tag,
                properties,
                body,
                "invalid-content",
                request_id=request_id,
                labels=opened.labels,
            )
            return
        self.inbox.store(
            entry,
            body,
            _routing_headers(properties.headers),
            deadline=_deadline(now, properties.expiration),
        )
        self.channel.basic_ack(tag)
        self.report.taken += 1
        log.info("request %s: taken into the inbox", request_id)

    def _entry(self, request_id: str, opened: OpenedItem, received_at: str) -> Entry | None:
        if opened.kind != FOLLOW_UP:
            # A requester who chose replies through Haven is told, by the
            # automatic status, that an organisation has the request.
            received = PENDING if opened.content.get("mailbox_id") is not None else None
            return Entry(
                request_id,
                received_at,
                opened.labels,
                opened.server_sealed,
                opened.content,
                received_status=received,
            )
        if opened.labels["region"] != self.settings.partner_id:
            # Labelled for another partner: the router gives a follow-up
            # only to the one it names, so this is not what it routed.
            return None
        entry = Entry(
            request_id,
            received_at,
            opened.labels,
            opened.server_sealed,
            opened.content,
            kind=FOLLOW_UP,
        )
        if self.inbox.contradicts_thread(entry):
            # In a requester's thread, in their name, with another key: not
            # theirs (docs/replies-v1.md section 5), declined as invalid.
            return None
        return entry

    def _decline(
        self,
        tag: int,
        properties: pika.BasicProperties,
        body: bytes,
        reason: str,
        *,
        request_id: str | None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        publish_decline(self.channel, properties, body, reason, self.settings.username)
        if request_id is not None:
            self.inbox.record_declined(Entry(request_id, _now(), labels or {}, False, {}), reason)
        self.channel.basic_ack(tag)
        self.report.declined[reason] = self.report.declined.get(reason, 0) + 1
        log.warning("request %s: declined (%s)", request_id or "-", reason)


def _close(connection: pika.BlockingConnection) -> None:
    # The broker may have gone between the check and the close: closing is
    # best effort, whatever was not acked goes back to the queue anyway.
    with contextlib.suppress(AMQPError, OSError):
        if connection.is_open:
            connection.close()


def _routing_headers(headers: Mapping[str, object] | None) -> dict[str, object]:
    kept: dict[str, object] = {}
    for name, value in (headers or {}).items():
        if name.startswith("x-haven-"):
            kept[name] = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return kept


def publish_decline(
    channel: BlockingChannel,
    received: pika.BasicProperties,
    body: bytes,
    reason: str,
    username: str,
) -> None:
    """Hand a request back to the router with a reason; returns once the broker confirmed it."""
    try:
        channel.basic_publish(
            DECLINES_EXCHANGE,
            DECLINES_ROUTING_KEY,
            body,
            decline_properties(received, reason, username),
            mandatory=True,
        )
    except (NackError, UnroutableError):
        # Not confirmed: the delivery is not acked, so the broker gives it
        # back to this queue; nothing is lost, the pull stops here.
        raise PullError("the broker refused a decline; the request stays in your queue") from None


def pull(
    settings: PartnerSettings,
    keys: Sequence[PrivateKey],
    inbox: Inbox,
    *,
    limit: int | None = None,
    progress: Callable[[PullReport], None] | None = None,
) -> PullReport:
    """Take requests from this partner's queue until it is empty (or `limit` are handled)."""
    inbox.create()
    queue = partner_queue(settings.partner_id)
    try:
        connection = pika.BlockingConnection(connection_parameters(settings.broker))
    except (AMQPError, OSError) as exc:
        raise PullError(f"cannot connect to the broker: {type(exc).__name__}") from None
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        puller = _Puller(channel, settings, keys, inbox)
        while limit is None or puller.report.handled < limit:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            puller.report.remaining = int(method.message_count or 0)
            puller.handle(method.delivery_tag, properties, body)
            if progress is not None:
                progress(puller.report)
        return puller.report
    except pika.exceptions.ChannelClosedByBroker as exc:
        # 403 ACCESS_REFUSED (not our queue, wrong user) or 404 (no such
        # queue): the broker's reply names the queue, never a request.
        raise PullError(f"the broker refused: {exc.reply_code} {exc.reply_text}") from None
    except (AMQPError, OSError) as exc:
        raise PullError(
            f"the broker connection failed ({type(exc).__name__}); unacknowledged requests "
            "go back to your queue"
        ) from None
    finally:
        _close(connection)


def decline_taken(settings: PartnerSettings, inbox: Inbox, request_id: str, reason: str) -> None:
    """Decline a request already in the inbox: it goes back to the router for the next partner."""
    envelope, headers = inbox.sealed_copy(request_id)
    received = pika.BasicProperties(
        message_id=request_id,
        content_type="application/octet-stream",
        type=MESSAGE_TYPE,
        headers=headers,
    )
    try:
        connection = pika.BlockingConnection(connection_parameters(settings.broker))
    except (AMQPError, OSError) as exc:
        raise PullError(f"cannot connect to the broker: {type(exc).__name__}") from None
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        publish_decline(channel, received, envelope, reason, settings.username)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise PullError(f"the broker refused: {exc.reply_code} {exc.reply_text}") from None
    except (AMQPError, OSError) as exc:
        raise PullError(f"the broker connection failed ({type(exc).__name__})") from None
    finally:
        _close(connection)
    # Only after the broker confirmed: a failed decline leaves the request here.
    inbox.mark_declined(request_id, reason)
    log.info("request %s: declined after acceptance (%s)", request_id, reason)
