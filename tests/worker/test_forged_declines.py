"""A provisioned partner attacks the returned path; the router routes on nothing it did not seal.

The partner's own broker user may publish to haven.declines (bound into the
router's returned queue) and writes every header and property of what it
publishes. Against the real broker, with real partner users, it publishes:
fresh envelopes (with and without the decline header, with and without
user_id), a decline whose tried list it chose, 1,000 `undecryptable`
declines, and, after one honest decline, that decline again and its
dead-letter twin. No other partner receives anything but the request that
was really handed on, and quarantine holds what the per-sender bound allows.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker.declines import DECLINE, decline_properties
from haven.broker.management import ManagementClient
from haven.broker.provision import provision
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    DECLINES_ROUTING_KEY,
    QUARANTINE_QUEUE,
    RETURNED_QUEUE,
    UNASSIGNED_QUEUE,
    partner_queue,
    partner_username,
)
from haven.directory import empty_directory, with_partner
from haven.envelope import PrivateKey, digest
from haven.store import (
    Consumption,
    Store,
    StoreConsumedAssignments,
    StoreSettings,
    StoreUnavailable,
    migrate,
)
from schemas.directory import Directory
from tests.haven.broker.test_provision import as_partner
from tests.worker.conftest import (
    NOW,
    ROUTER_KEYS,
    depth,
    partner_entry,
    router_settings,
    running_router,
    sealed,
    take_all,
    wait_until,
)
from worker.budget import DeclineBudget
from worker.consumed import ConsumedAssignments, MemoryConsumedAssignments
from worker.headers import TRIED
from worker.metrics import RouterMetrics
from worker.router import FORGED_DECLINE
from worker.settings import DEFAULT_CONSUMED_RETENTION

pytestmark = pytest.mark.broker

BOUND = 20
FLOOD = 1000


@pytest.fixture
def network(
    fresh_broker_url: str,
    management_url: str,
    partner_keys: dict[str, PrivateKey],
    tmp_path: Path,
) -> Iterator[tuple[Directory, Path]]:
    """Three Russian-speaking partners with broker users of their own (deleted at the end)."""
    suffix = secrets.token_hex(3)
    ids = [f"{name}-{suffix}" for name in ("alpha", "bravo", "charlie")]
    d = empty_directory("haven-test", now=NOW)
    for partner_id, name in zip(ids, ("alpha", "bravo", "delta"), strict=True):
        d = with_partner(d, partner_entry(partner_id, partner_keys[name]), now=NOW)
    admin = ManagementClient(management_url, "guest", "guest")
    settings = router_settings(fresh_broker_url)
    credentials = tmp_path / "credentials"
    try:
        provision(
            admin,
            unquote(urlsplit(fresh_broker_url).path[1:]),
            ids,
            credentials,
            broker_settings=settings.broker,
            limits=settings.limits,
        )
        yield d, credentials
    finally:
        for partner_id in ids:
            admin.delete_user(partner_username(partner_id))


def test_a_partner_cannot_route_quarantine_or_replay_through_the_returned_path(
    fresh_broker_url: str,
    network: tuple[Directory, Path],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    directory, credentials = network
    ids = [p.id for p in directory.partners]
    settings = router_settings(fresh_broker_url, declines_per_minute=BOUND)
    # A clock that stands still: the bound is exact, whatever the test's pace.
    budget = DeclineBudget(BOUND, clock=lambda: 0.0)
    with running_router(settings, directory, budget=budget) as router:
        request_id = publish(sealed(directory))

        def in_queues() -> dict[str, int]:
            return {p: depth(channel, partner_queue(p)) for p in ids}

        wait_until(lambda: sum(in_queues().values()) == 1, what="the request routed")
        holder = next(p for p, n in in_queues().items() if n == 1)
        others = [p for p in ids if p != holder]
        user = partner_username(holder)

        connection = as_partner(fresh_broker_url, credentials, holder)
        attacker = connection.channel()
        attacker.confirm_delivery()
        method, received, body = attacker.basic_get(partner_queue(holder), auto_ack=False)
        assert method is not None and received.message_id == request_id
        assert received.headers["x-haven-seal"].startswith("v1.")

        def send(envelope: bytes, headers: dict[str, Any], user_id: str | None) -> None:
            properties = pika.BasicProperties(
                delivery_mode=2, message_id=digest(envelope), headers=headers, user_id=user_id
            )
            attacker.basic_publish(
                DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, envelope, properties, mandatory=True
            )

        sent = {"holder": 0, "unknown": 0}

        def forge(envelope: bytes, headers: dict[str, Any], user_id: str | None) -> None:
            send(envelope, headers, user_id)
            sent["holder" if user_id else "unknown"] += 1

        fresh = sealed(directory, content=b'{"a": "request the partner made up"}')
        # Fresh envelopes, routing state copied from its real assignment
        # (a seal for another message id), to the partner it picks.
        chosen = {**received.headers, TRIED: ",".join([holder, others[0]])}
        for with_decline in (True, False):
            for user_id in (user, None):
                headers = {**chosen, DECLINE: "other"} if with_decline else chosen
                forge(fresh, headers, user_id)
        # The real request, declined with a tried list of the partner's choosing.
        forge(body, {**chosen, DECLINE: "no-capacity"}, user)
        # A reason that is an AMQP array or table, with a valid seal: refused,
        # never a crash of the router's consumer.
        forge(body, {**received.headers, DECLINE: ["no-capacity"]}, user)
        forge(body, {**received.headers, DECLINE: {"reason": "no-capacity"}}, user)
        # A flood of undecryptable declines, to fill quarantine.
        for _ in range(FLOOD):
            forge(fresh, {**received.headers, DECLINE: "undecryptable"}, user)

        # Then one honest decline, echoing what it received, and acked.
        honest = decline_properties(received, "no-capacity", user)
        attacker.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest)
        attacker.basic_ack(method.delivery_tag)
        # That decline replayed, and its dead-letter twin (no decline header, no user_id).
        forge(body, dict(honest.headers), user)
        twin = {k: v for k, v in honest.headers.items() if k != DECLINE}
        send(body, twin, None)
        connection.close()

        forged = sent["holder"] + sent["unknown"]
        wait_until(
            lambda: (
                depth(channel, RETURNED_QUEUE) == 0
                and router.metrics.value("used_returns", partner=holder) == 1
                and sum(
                    router.metrics.value("forged", partner=who, outcome=outcome)
                    for who in (holder, "unknown")
                    for outcome in ("quarantined", "dropped")
                )
                == forged
            ),
            timeout=60,
            what="every forgery handled",
        )
        wait_until(lambda: sum(in_queues().values()) == 1, what="the request handed on")
        metrics = router.metrics

    delivered = {p: take_all(channel, partner_queue(p)) for p in ids}
    quarantined = take_all(channel, QUARANTINE_QUEUE)
    rerouted = sum(metrics.value("rerouted", category="desertion", partner=p) for p in ids)
    expected_quarantine = min(BOUND, sent["holder"]) + min(BOUND, sent["unknown"])
    wrong = [p for p in ids for props, _ in delivered[p] if props.message_id != request_id]
    print(
        f"forged {forged}, re-routed {rerouted - 1:.0f} beyond the honest decline, "
        f"delivered to another partner {len(wrong)}, "
        f"quarantined {len(quarantined)} (bound {BOUND} per sender: "
        f"{min(BOUND, sent['holder'])} {holder}, {min(BOUND, sent['unknown'])} unknown), "
        f"dead-letter twin dropped {metrics.value('used_returns', partner=holder):.0f}"
    )
    # The honest decline handed the real request on once, to another partner.
    (taker,) = [p for p in ids if delivered[p]]
    assert taker in others
    [(properties, _)] = delivered[taker]
    assert properties.message_id == request_id
    assert properties.headers[TRIED] == f"{holder},{taker}"
    assert rerouted == 1 and wrong == []
    assert metrics.value("routed", category="desertion", partner=holder) == 1
    assert (
        metrics.value("declined", category="desertion", partner=holder, reason="no-capacity") == 1
    )
    # Quarantine holds exactly what the bound allows, all of it named forged.
    assert len(quarantined) == expected_quarantine == BOUND + 2
    assert {props.headers["x-haven-reason"] for props, _ in quarantined} == {FORGED_DECLINE}
    assert all("x-haven-seal" not in props.headers for props, _ in quarantined)
    assert metrics.value("forged", partner=holder, outcome="quarantined") == BOUND
    assert metrics.value("forged", partner=holder, outcome="dropped") == sent["holder"] - BOUND
    assert depth(channel, UNASSIGNED_QUEUE) == 0


def test_a_decline_redelivered_after_a_lost_connection_is_still_honoured(
    fresh_broker_url: str,
    network: tuple[Directory, Path],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    """Its first try consumed the nonce, then the connection went before the onward confirm.

    The broker redelivers the decline (its `redelivered` flag, which no
    partner can set): handed on, not quarantined as forged, not lost.
    """
    directory, credentials = network
    ids = [p.id for p in directory.partners]
    settings = router_settings(fresh_broker_url)
    consumed = MemoryConsumedAssignments(10_000)
    with running_router(settings, directory, consumed=consumed):
        request_id = publish(sealed(directory))
        wait_until(lambda: sum(depth(channel, partner_queue(p)) for p in ids) == 1, what="routed")
    holder = next(p for p in ids if depth(channel, partner_queue(p)) == 1)
    connection = as_partner(fresh_broker_url, credentials, holder)
    try:
        own = connection.channel()
        own.confirm_delivery()
        method, received, body = own.basic_get(partner_queue(holder), auto_ack=False)
        assert method is not None and received.message_id == request_id
        honest = decline_properties(received, "no-capacity", partner_username(holder))
        own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
        own.basic_ack(method.delivery_tag)
    finally:
        connection.close()
    # A router took the decline and consumed its nonce, then lost its
    # connection: the broker puts the delivery back, marked redelivered.
    consumed.consume(ROUTER_KEYS.verify(request_id, honest.headers).nonce)
    taken = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        method, _, _ = taken.channel().basic_get(RETURNED_QUEUE, auto_ack=False)
        assert method is not None
    finally:
        taken.close()
    with running_router(settings, directory, consumed=consumed) as router:
        wait_until(lambda: depth(channel, RETURNED_QUEUE) == 0, what="the decline taken")
        wait_until(
            lambda: sum(depth(channel, partner_queue(p)) for p in ids if p != holder) == 1,
            what="the request handed on",
        )
        forged = sum(
            router.metrics.value("forged", partner=who, outcome=outcome)
            for who in (holder, "unknown")
            for outcome in ("quarantined", "dropped")
        )
    assert forged == 0
    assert depth(channel, QUARANTINE_QUEUE) == 0
    [(properties, _)] = [m for p in ids if p != holder for m in take_all(channel, partner_queue(p))]
    assert properties.message_id == request_id


def _on_store(request: pytest.FixtureRequest) -> Callable[[], ConsumedAssignments]:
    """Each router its own handle on the one store of the deployment."""
    url = str(request.getfixturevalue("postgres_url"))
    first = Store(StoreSettings(url=url))
    migrate(first)
    request.addfinalizer(first.close)

    def record() -> ConsumedAssignments:
        handle = Store(StoreSettings(url=url))
        request.addfinalizer(handle.close)
        return StoreConsumedAssignments(
            handle, retention=DEFAULT_CONSUMED_RETENTION, clock=time.time
        )

    return record


@pytest.fixture(
    params=[
        "store",
        # The per-router record cannot pass: kept to prove the test tells them apart.
        pytest.param("memory", marks=pytest.mark.xfail(strict=True, reason="per router")),
    ]
)
def router_record(request: pytest.FixtureRequest) -> Callable[[], ConsumedAssignments]:
    """How a router process gets its record of consumed assignments."""
    if request.param == "store":
        return _on_store(request)
    return lambda: MemoryConsumedAssignments(10_000)


def test_a_decline_replayed_to_another_router_is_forged(
    fresh_broker_url: str,
    network: tuple[Directory, Path],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
    router_record: Callable[[], ConsumedAssignments],
) -> None:
    """One router honours a partner's decline; the partner sends it again, and another router takes it.

    The second router never saw the first one's decision: only the record
    they share (the deployment's store) tells it the assignment is used up.
    It quarantines the replay as forged, and nothing is routed again. The
    second router is also what the first becomes after a restart.
    """
    directory, credentials = network
    ids = [p.id for p in directory.partners]
    settings = router_settings(fresh_broker_url)

    def in_queues() -> dict[str, int]:
        return {p: depth(channel, partner_queue(p)) for p in ids}

    def rerouted(metrics: RouterMetrics) -> float:
        return sum(metrics.value("rerouted", category="desertion", partner=p) for p in ids)

    with running_router(settings, directory, consumed=router_record()) as first:
        request_id = publish(sealed(directory))
        wait_until(lambda: sum(in_queues().values()) == 1, what="the request routed")
        holder = next(p for p, n in in_queues().items() if n == 1)
        connection = as_partner(fresh_broker_url, credentials, holder)
        try:
            own = connection.channel()
            own.confirm_delivery()
            method, received, body = own.basic_get(partner_queue(holder), auto_ack=False)
            assert method is not None and received.message_id == request_id
            honest = decline_properties(received, "no-capacity", partner_username(holder))
            own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
            own.basic_ack(method.delivery_tag)
        finally:
            connection.close()
        wait_until(lambda: rerouted(first.metrics) == 1, what="the decline honoured")
        wait_until(lambda: sum(in_queues().values()) == 1, what="the request handed on")
    (taker,) = [p for p, n in in_queues().items() if n == 1]
    assert taker != holder

    with running_router(settings, directory, consumed=router_record()) as second:
        # The same decline again, as the partner can publish it at any time.
        connection = as_partner(fresh_broker_url, credentials, holder)
        try:
            own = connection.channel()
            own.confirm_delivery()
            own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
        finally:
            connection.close()
        wait_until(lambda: depth(channel, RETURNED_QUEUE) == 0, what="the replay taken")
        wait_until(
            lambda: (
                second.metrics.value("forged", partner=holder, outcome="quarantined")
                + rerouted(second.metrics)
                >= 1
            ),
            what="the replay decided",
        )
        metrics = second.metrics

    print(
        f"replay at the second router: forged "
        f"{metrics.value('forged', partner=holder, outcome='quarantined'):.0f}, re-routed "
        f"{rerouted(metrics):.0f}"
    )
    assert rerouted(metrics) == 0
    assert metrics.value("forged", partner=holder, outcome="quarantined") == 1
    delivered = {p: take_all(channel, partner_queue(p)) for p in ids}
    assert {p: len(m) for p, m in delivered.items()} == {p: 1 if p == taker else 0 for p in ids}
    [(quarantined, _)] = take_all(channel, QUARANTINE_QUEUE)
    assert quarantined.headers["x-haven-reason"] == FORGED_DECLINE
    assert depth(channel, UNASSIGNED_QUEUE) == 0


class _FailsWhenArmed:
    """The deployment's record, with one consume that fails when armed (a store hiccup)."""

    def __init__(self, inner: ConsumedAssignments) -> None:
        self.inner = inner
        self.armed = False

    def consume(self, nonce: bytes) -> Consumption:
        if self.armed:
            self.armed = False
            raise StoreUnavailable("OperationalError")
        return self.inner.consume(nonce)

    def settle(self, nonce: bytes) -> None:
        self.inner.settle(nonce)


def test_a_replayed_decline_handed_back_once_is_not_honoured_when_redelivered(
    fresh_broker_url: str,
    network: tuple[Directory, Path],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
    request: pytest.FixtureRequest,
) -> None:
    """The partner replays a decline that was honoured; the replay's first delivery is handed back.

    The broker redelivers it, flagged redelivered. That flag marks a
    router's own unfinished work only while the assignment is unsettled;
    this one was handed on, so the replay is acked and counted, never
    routed a second time.
    """
    directory, credentials = network
    ids = [p.id for p in directory.partners]
    settings = router_settings(fresh_broker_url)
    record = _FailsWhenArmed(_on_store(request)())

    def rerouted(metrics: RouterMetrics) -> float:
        return sum(metrics.value("rerouted", category="desertion", partner=p) for p in ids)

    with running_router(settings, directory, consumed=record) as router:
        request_id = publish(sealed(directory))
        wait_until(lambda: sum(depth(channel, partner_queue(p)) for p in ids) == 1, what="routed")
        holder = next(p for p in ids if depth(channel, partner_queue(p)) == 1)
        connection = as_partner(fresh_broker_url, credentials, holder)
        try:
            own = connection.channel()
            own.confirm_delivery()
            method, received, body = own.basic_get(partner_queue(holder), auto_ack=False)
            assert method is not None and received.message_id == request_id
            honest = decline_properties(received, "no-capacity", partner_username(holder))
            own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
            own.basic_ack(method.delivery_tag)
            wait_until(lambda: rerouted(router.metrics) == 1, what="the decline honoured")
            # The replay; its first delivery meets the store away and is handed back.
            record.armed = True
            own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
        finally:
            connection.close()
        wait_until(
            lambda: (
                not record.armed
                and depth(channel, RETURNED_QUEUE) == 0
                and router.metrics.value("used_returns", partner=holder) + rerouted(router.metrics)
                >= 2
            ),
            timeout=30,
            what="the replay decided",
        )
        metrics = router.metrics
    forged = sum(
        metrics.value("forged", partner=holder, outcome=outcome)
        for outcome in ("quarantined", "dropped")
    )
    print(f"redelivered replay: rerouted {rerouted(metrics) - 1:.0f}, forged {forged:.0f}")
    assert rerouted(metrics) == 1
    assert metrics.value("used_returns", partner=holder) == 1
    assert forged == 0
    delivered = {p: take_all(channel, partner_queue(p)) for p in ids}
    assert sum(len(m) for m in delivered.values()) == 1
    assert depth(channel, QUARANTINE_QUEUE) == 0


def _closed_port() -> int:
    """A local port nothing listens on: the store's database, down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _StoreThatComesBack:
    """The deployment's record, reached through a database that is down until `up`.

    Down, it is a real store on a closed port (psycopg's connection refused,
    turned into StoreUnavailable by haven.store); up, the run's PostgreSQL.
    """

    def __init__(self, down: ConsumedAssignments, up: ConsumedAssignments) -> None:
        self._down, self._up = down, up
        self.is_up = False

    def _record(self) -> ConsumedAssignments:
        return self._up if self.is_up else self._down

    def consume(self, nonce: bytes) -> Consumption:
        return self._record().consume(nonce)

    def settle(self, nonce: bytes) -> None:
        self._record().settle(nonce)


def test_a_decline_waits_out_a_store_outage_and_is_honoured_when_it_is_back(
    fresh_broker_url: str,
    network: tuple[Directory, Path],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
    *,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store is away when an honest decline arrives: not quarantined, honoured once it is back.

    Handed back with a growing delay (2, 4, 8… s), not at once: five
    immediate redeliveries would spend the returned queue's delivery limit
    in a fraction of a second. The router's log says the store was away in
    one line, without the database's address.
    """
    directory, credentials = network
    ids = [p.id for p in directory.partners]
    settings = router_settings(fresh_broker_url)
    port = _closed_port()
    unreachable = Store(
        StoreSettings(url=f"postgresql://postgres@127.0.0.1:{port}/haven", timeout=1)
    )
    request.addfinalizer(unreachable.close)
    record = _StoreThatComesBack(
        StoreConsumedAssignments(
            unreachable, retention=DEFAULT_CONSUMED_RETENTION, clock=time.time
        ),
        _on_store(request)(),
    )

    def rerouted(metrics: RouterMetrics) -> float:
        return sum(metrics.value("rerouted", category="desertion", partner=p) for p in ids)

    caplog.set_level(logging.INFO)
    with running_router(settings, directory, consumed=record) as router:
        request_id = publish(sealed(directory))
        wait_until(lambda: sum(depth(channel, partner_queue(p)) for p in ids) == 1, what="routed")
        holder = next(p for p in ids if depth(channel, partner_queue(p)) == 1)
        connection = as_partner(fresh_broker_url, credentials, holder)
        try:
            own = connection.channel()
            own.confirm_delivery()
            method, received, body = own.basic_get(partner_queue(holder), auto_ack=False)
            assert method is not None and received.message_id == request_id
            honest = decline_properties(received, "no-capacity", partner_username(holder))
            own.basic_publish(DECLINES_EXCHANGE, DECLINES_ROUTING_KEY, body, honest, mandatory=True)
            own.basic_ack(method.delivery_tag)
        finally:
            connection.close()
        # Five immediate redeliveries would have quarantined it in well under a second.
        time.sleep(5)
        assert depth(channel, QUARANTINE_QUEUE) == 0
        assert router.metrics.value("store_unavailable") >= 2  # handed back, delivered again
        assert rerouted(router.metrics) == 0
        record.is_up = True
        wait_until(lambda: rerouted(router.metrics) == 1, timeout=40, what="the decline honoured")
        metrics = router.metrics
    print(
        f"store away: handed back {metrics.value('store_unavailable'):.0f} times, "
        f"quarantined {depth(channel, QUARANTINE_QUEUE)}, rerouted {rerouted(metrics):.0f}"
    )
    assert depth(channel, QUARANTINE_QUEUE) == 0
    delivered = [m for p in ids if p != holder for m in take_all(channel, partner_queue(p))]
    assert [props.message_id for props, _ in delivered] == [request_id]
    # One line per hand-back, the error's type only: no address, no statement.
    # (pika's own lines name the broker's address; only Haven's are checked.)
    logged = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if record.name.startswith(("worker", "haven"))
    )
    assert "store unavailable (OperationalError)" in logged
    assert str(port) not in logged
    assert "127.0.0.1" not in logged
    assert "[SQL" not in logged
    assert "Traceback" not in logged
