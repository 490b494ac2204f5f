"""Follow-ups against the real broker: the partner they name, or nobody (docs/routing.md)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import QUARANTINE_QUEUE
from haven.broker.topology import RETURNED_QUEUE, UNASSIGNED_QUEUE, partner_queue
from haven.envelope import Labels, PrivateKey, PublicKey, seal
from haven.replies import FollowUp, seal_follow_up
from schemas.directory import Directory
from tests.worker.conftest import (
    depth,
    router_settings,
    running_router,
    take_all,
    wait_until,
)

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo", "charlie", "delta")


def follow_up(partner_id: str, keys: list[PublicKey], *, language: str = "ru") -> bytes:
    """A follow-up as a requester's device seals it: to `keys`, labelled for `partner_id`."""
    reply = PrivateKey.generate().public_key
    content = FollowUp(mailbox_id=os.urandom(32), reply_key=reply.to_bytes(), text="и ещё одно")
    return seal_follow_up(content, partner_id, language, keys)


def queued(channel: BlockingChannel) -> dict[str, int]:
    return {
        p: depth(channel, partner_queue(p)) for p in PARTNERS if depth(channel, partner_queue(p))
    }


def reject_one(channel: BlockingChannel, partner_id: str) -> None:
    method, _, _ = channel.basic_get(partner_queue(partner_id))
    assert method is not None, f"nothing in {partner_id}'s queue"
    channel.basic_reject(method.delivery_tag, requeue=False)


@pytest.mark.parametrize("partner_id", ["alpha", "charlie", "delta"])
def test_a_follow_up_reaches_only_the_partner_it_names(
    partner_id: str,
    *,
    fresh_broker_url: str,
    directory: Directory,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    # alpha has the least capacity of the Russian speakers, charlie speaks
    # only English and delta serves only asylum: none of that matters.
    envelope = follow_up(partner_id, [partner_keys[partner_id].public_key])
    with running_router(router_settings(fresh_broker_url), directory) as router:
        message_id = publish(envelope)
        wait_until(lambda: sum(queued(channel).values()) == 1, what="one routed follow-up")
    assert queued(channel) == {partner_id: 1}
    ((properties, body),) = take_all(channel, partner_queue(partner_id))
    assert body == envelope
    assert properties.message_id == message_id
    assert properties.headers["x-haven-tried"] == partner_id
    assert router.metrics.value("routed", category="follow_up", partner=partner_id) == 1


def test_a_declined_follow_up_goes_to_unassigned_never_to_another_partner(
    fresh_broker_url: str,
    directory: Directory,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    with running_router(router_settings(fresh_broker_url), directory) as router:
        message_id = publish(follow_up("alpha", [partner_keys["alpha"].public_key]))
        wait_until(lambda: depth(channel, partner_queue("alpha")) == 1, what="routed to alpha")
        reject_one(channel, "alpha")
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, what="unassigned")
        metrics = router.metrics
    assert queued(channel) == {}
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.message_id == message_id
    assert properties.headers["x-haven-reason"] == "all-partners-tried"
    assert properties.headers["x-haven-tried"] == "alpha"
    assert metrics.value("unassigned", category="follow_up") == 1
    assert metrics.value("rerouted", category="follow_up", partner="bravo") == 0
    assert depth(channel, RETURNED_QUEUE) == 0


def test_a_follow_up_past_its_deadline_goes_to_unassigned(
    fresh_broker_url: str,
    directory: Directory,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    settings = router_settings(fresh_broker_url, max_deadline=1)
    with running_router(settings, directory):
        message_id = publish(follow_up("bravo", [partner_keys["bravo"].public_key]))
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, timeout=20, what="unassigned")
    assert queued(channel) == {}
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.message_id == message_id
    assert properties.headers["x-haven-tried"] == "bravo"


def test_a_follow_up_for_a_partner_not_in_the_directory_waits_in_unassigned(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    # A partner that left the directory after the requester's device sealed
    # it: nobody else may have it, and operators see it waiting.
    gone = PrivateKey.generate()
    with running_router(router_settings(fresh_broker_url), directory) as router:
        message_id = publish(follow_up("zulu", [gone.public_key]))
        wait_until(lambda: depth(channel, UNASSIGNED_QUEUE) == 1, what="unassigned")
    assert queued(channel) == {}
    ((properties, _),) = take_all(channel, UNASSIGNED_QUEUE)
    assert properties.message_id == message_id
    assert properties.headers["x-haven-reason"] == "no-eligible-partner"
    assert router.metrics.value("unassigned", category="follow_up") == 1


def test_a_follow_up_another_key_could_open_is_quarantined(
    fresh_broker_url: str,
    directory: Directory,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    alpha, bravo = partner_keys["alpha"].public_key, partner_keys["bravo"].public_key
    outsider = PrivateKey.generate().public_key
    envelopes = [
        follow_up("alpha", [alpha, bravo]),  # another partner's key too
        follow_up("alpha", [bravo]),  # only another partner's key
        follow_up("alpha", [alpha, outsider]),  # a key outside the directory
    ]
    with running_router(router_settings(fresh_broker_url), directory) as router:
        for envelope in envelopes:
            publish(envelope)
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 3, what="quarantine")
    assert queued(channel) == {}
    reasons = [p.headers["x-haven-reason"] for p, _ in take_all(channel, QUARANTINE_QUEUE)]
    assert reasons == ["misaddressed-follow-up"] * 3
    assert router.metrics.value("quarantined", category="follow_up") == 3


def test_follow_up_labels_that_name_no_partner_id_are_invalid(
    fresh_broker_url: str,
    directory: Directory,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    # The envelope's alphabet allows "_", a partner id does not; and a
    # follow-up is not a way to smuggle an unknown category past the router.
    alpha = partner_keys["alpha"].public_key
    bad = [
        seal(b"{}", Labels("follow_up", "al_pha", "ru", "normal"), [alpha]),
        seal(b"{}", Labels("follow_up", "alpha", "de", "normal"), [alpha]),
        seal(b"{}", Labels("follow-up", "alpha", "ru", "normal"), [alpha]),
    ]
    with running_router(router_settings(fresh_broker_url), directory):
        for envelope in bad:
            publish(envelope)
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 3, what="quarantine")
    assert queued(channel) == {}
    reasons = [p.headers["x-haven-reason"] for p, _ in take_all(channel, QUARANTINE_QUEUE)]
    assert reasons == ["invalid-labels"] * 3
