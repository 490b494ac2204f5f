"""From the requester's device to one partner's inbox, with the real broker, intake, router and CLI.

Each test builds a small network in a vhost of its own (conftest), submits
requests through the intake's HTTP API with proof of work, routes them with
a real router, and pulls them with the real `haven partner` command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pika
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker.topology import QUARANTINE_QUEUE, UNASSIGNED_QUEUE, partner_queue
from haven.directory import recipient_keys
from haven.envelope import Labels, digest, seal
from tests.forwarder import dead_url
from tests.haven.partner.conftest import (
    EXAMPLE,
    Network,
    depth,
    fast_router,
    running_router,
    take_all,
    verified_loader,
    wait_until,
)

MakeNetwork = Callable[..., Network]
PARTNERS = ("alpha", "bravo")


def _where(channel: BlockingChannel, request_count: int = 1) -> str:
    """The one partner queue holding the request(s)."""
    holding = [p for p in PARTNERS if depth(channel, partner_queue(p)) >= request_count]
    assert len(holding) == 1, holding
    return holding[0]


def _wait_routed(channel: BlockingChannel, count: int = 1) -> None:
    wait_until(
        lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS) == count,
        what=f"{count} request(s) in partner queues",
    )


def test_submitted_request_arrives_decrypted_in_exactly_one_inbox(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    envelope = network.seal()
    with running_router(fast_router(network), verified_loader(network)) as router:
        request_id = network.submit(envelope)
        _wait_routed(channel)
        chosen = _where(channel)
    other = "bravo" if chosen == "alpha" else "alpha"
    assert router.metrics.value("routed", category="desertion", partner=chosen) == 1

    for partner in PARTNERS:
        result = network.pull(partner)
        assert result.code == 0, result.err
    assert network.inbox_ids(chosen) == {request_id}
    assert network.inbox_ids(other) == set()
    assert depth(channel, partner_queue(chosen)) == 0  # taken and acked

    shown = network.haven(
        "partner", "show", request_id, *network.member_args(chosen, inbox=True), "--json"
    )
    assert shown.code == 0, shown.err
    document = json.loads(shown.out)
    assert document["content"] == json.loads(EXAMPLE)  # equal to what was sealed
    assert document["routing"]["category"] == "desertion"
    listed = network.haven("partner", "list", *network.member_args(chosen, inbox=True))
    assert request_id in listed.out and "desertion" in listed.out
    assert "status: new" in listed.out
    # The inbox database and folder are the partner's alone.
    assert (network.inbox(chosen) / "inbox.sqlite").stat().st_mode & 0o077 == 0
    assert network.inbox(chosen).stat().st_mode & 0o077 == 0


def test_decline_reroutes_to_the_next_partner_then_unassigned(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    with running_router(fast_router(network), verified_loader(network)) as router:
        request_id = network.submit(network.seal())
        _wait_routed(channel)
        first = _where(channel)
        second = "bravo" if first == "alpha" else "alpha"
        assert network.pull(first).code == 0
        declined = network.decline(first, request_id, "no-capacity")
        assert declined.code == 0, declined.err

        wait_until(lambda: depth(channel, partner_queue(second)) == 1, what="re-routed")
        assert network.pull(second).code == 0
        assert network.inbox_ids(second) == {request_id}
        # The first partner keeps the id (to recognise a redelivery), not the content.
        assert network.inbox_ids(first) == set()
        assert network.declined_ids(first) == {request_id}
        (kept,) = network.open_inbox(first).entries(declined=True)
        assert kept.content == {} and kept.declined == "no-capacity"

        assert network.decline(second, request_id, "not-our-work").code == 0
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, what="unassigned")
        assert (
            router.metrics.value(
                "declined", category="desertion", partner=first, reason="no-capacity"
            )
            == 1
        )
        assert router.metrics.value("rerouted", category="desertion", partner=second) == 1
    [(properties, body)] = take_all(channel, UNASSIGNED_QUEUE)
    assert digest(body) == request_id
    assert properties.headers["x-haven-reason"] == "all-partners-tried"
    assert properties.headers["x-haven-tried"] == f"{first},{second}"


def test_deadline_that_passes_reroutes_then_unassigned(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    # Directory deadlines are at least 10 minutes; the network-wide cap
    # (HAVEN_ROUTER_MAX_DEADLINE) brings them down to 1 s for the test.
    with running_router(fast_router(network, max_deadline=1), verified_loader(network)) as router:
        request_id = network.submit(network.seal(urgency="urgent"))
        _wait_routed(channel)
        first = _where(channel)
        # Nobody pulls: after 1 s the broker sends it back, the
        # router gives it to the other partner, whose deadline passes too.
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, timeout=30, what="unassigned")
        second = "bravo" if first == "alpha" else "alpha"
        assert router.metrics.value("expired", category="desertion", partner=first) == 1
        assert router.metrics.value("expired", category="desertion", partner=second) == 1
    [(properties, body)] = take_all(channel, UNASSIGNED_QUEUE)
    assert digest(body) == request_id
    assert properties.headers["x-haven-reason"] == "all-partners-tried"


def test_a_request_no_partner_can_open_is_declined_into_quarantine(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    envelope = bytearray(network.seal())
    envelope[-100] ^= 0x01  # the body, not the header: the intake and router cannot tell
    with running_router(fast_router(network), verified_loader(network)) as router:
        request_id = network.submit(bytes(envelope))
        _wait_routed(channel)
        chosen = _where(channel)
        result = network.pull(chosen)
        assert result.code == 0, result.err
        assert "declined 1: undecryptable" in result.out
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 1, what="quarantined")
        assert (
            router.metrics.value(
                "declined", category="desertion", partner=chosen, reason="undecryptable"
            )
            == 1
        )
    [(properties, body)] = take_all(channel, QUARANTINE_QUEUE)
    assert digest(body) == request_id
    assert properties.headers["x-haven-reason"] == "partner-undecryptable"
    assert network.inbox_ids(chosen) == set()
    assert network.declined_ids(chosen) == {request_id}


def test_content_that_fails_its_schema_is_declined_into_quarantine(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    # Sealed by a device that skipped validation: a field the category never asks.
    bad = json.dumps(
        {"v": 1, "category": "desertion", "fields": {"passport_number": "passport-1234"}}
    )
    envelope = seal(
        bad.encode(),
        Labels("desertion", "ru-central", "ru", "normal"),
        recipient_keys(network.directory, "desertion", "ru-central"),
    )
    with running_router(fast_router(network), verified_loader(network)):
        network.submit(envelope)
        _wait_routed(channel)
        chosen = _where(channel)
        result = network.pull(chosen)
        assert result.code == 0, result.err
        assert "declined 1: invalid-content" in result.out
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 1, what="quarantined")
    [(properties, _)] = take_all(channel, QUARANTINE_QUEUE)
    assert properties.headers["x-haven-reason"] == "partner-invalid-content"
    # Nothing of the refused content was written or printed.
    assert "passport-1234" not in result.out + result.err
    assert not any(b"passport-1234" in p.read_bytes() for p in network.inbox(chosen).rglob("*"))


def test_a_redelivered_duplicate_is_kept_once(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    envelope = network.seal()
    request_id = digest(envelope)
    properties = pika.BasicProperties(message_id=request_id, delivery_mode=2, headers={})
    # At-least-once: the same request twice in alpha's queue (a router died
    # between confirm and ack), then once more after the first pull.
    for _ in range(2):
        channel.basic_publish("", partner_queue("alpha"), envelope, properties)
    first = network.pull("alpha")
    assert first.code == 0, first.err
    assert "1 new, 1 duplicate" in first.out
    channel.basic_publish("", partner_queue("alpha"), envelope, properties)
    again = network.pull("alpha")
    assert "0 new, 1 duplicate" in again.out
    assert network.inbox_ids("alpha") == {request_id}
    assert depth(channel, partner_queue("alpha")) == 0


def test_a_router_crash_loop_message_ends_in_quarantine_after_the_delivery_limit(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    """A request that makes the router fail (a bug) is redelivered at most 5 times, then quarantined."""
    network = make_network()
    poison = network.seal()
    poison_id = digest(poison)
    healthy = network.seal()

    def uniform(key: str) -> float:
        if key.startswith(poison_id):
            raise RuntimeError("a router bug triggered by this one request")
        return 0.5

    with running_router(fast_router(network), verified_loader(network), uniform=uniform):
        network.submit(poison)
        healthy_id = network.submit(healthy)
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 1, timeout=60, what="quarantined")
        _wait_routed(channel)
    [(properties, body)] = take_all(channel, QUARANTINE_QUEUE)
    assert digest(body) == poison_id
    assert (
        properties.headers["x-first-death-reason"] == b"delivery_limit"
        or properties.headers["x-first-death-reason"] == "delivery_limit"
    )
    holder = _where(channel)
    assert network.pull(holder).code == 0
    assert network.inbox_ids(holder) == {healthy_id}


def test_pull_logs_and_prints_no_request_content(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    canary = "CANARY-токен-4e1f"
    document = json.loads(EXAMPLE)
    document["fields"]["message"] = canary
    envelope = network.seal(json.dumps(document, ensure_ascii=False).encode())
    with running_router(fast_router(network), verified_loader(network)):
        network.submit(envelope)
        _wait_routed(channel)
        chosen = _where(channel)
    result = network.pull(chosen)
    assert result.code == 0
    assert canary not in result.out + result.err
    listed = network.haven("partner", "list", *network.member_args(chosen, inbox=True), "--json")
    assert canary not in listed.out


def test_a_pulled_request_keeps_the_deadline_its_expiration_gives(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    envelope = network.seal(urgency="urgent")
    request_id = digest(envelope)
    # As the router publishes it: the partner's deadline for this urgency, in ms.
    allowed = timedelta(hours=6)
    properties = pika.BasicProperties(
        message_id=request_id,
        delivery_mode=2,
        headers={},
        expiration=str(int(allowed.total_seconds() * 1000)),
    )
    channel.basic_publish("", partner_queue("alpha"), envelope, properties)
    before = datetime.now(UTC).replace(microsecond=0)
    result = network.pull("alpha")
    after = datetime.now(UTC)
    assert result.code == 0, result.err

    case = network.open_inbox("alpha").case(request_id)
    assert case.deadline is not None
    assert before + allowed <= case.deadline <= after + allowed


def test_a_pull_given_two_broker_urls_passes_over_a_dead_first_node(
    make_network: MakeNetwork, channel: BlockingChannel
) -> None:
    network = make_network()
    with running_router(fast_router(network), verified_loader(network)):
        request_id = network.submit(network.seal())
        _wait_routed(channel)
    chosen = _where(channel)
    # The broker URL file of a cluster: one node per line, the first one down.
    nodes = f"{dead_url(network.broker_url)}\n{network.broker_url}"
    result = network.pull(chosen, broker_url=nodes)
    assert result.code == 0, result.err
    assert network.inbox_ids(chosen) == {request_id}
    assert depth(channel, partner_queue(chosen)) == 0
