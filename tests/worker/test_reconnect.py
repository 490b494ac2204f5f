"""The broker drops the router's connection mid-stream, or its node dies: it reconnects (to the next node) and loses nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import BrokerSettings
from haven.broker.topology import partner_queue
from schemas.directory import Directory
from tests.conftest import rabbitmqctl
from tests.forwarder import forwarders
from tests.worker.conftest import (
    depth,
    router_settings,
    running_router,
    sealed,
    take_all,
    wait_until,
)
from worker import declare_routing

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo", "charlie", "delta")


def close_router_connections(vhost: str) -> int:
    """Force-close (as a broker restart would) every router connection in this vhost only."""
    listing = rabbitmqctl(
        "list_connections", "-q", "--no-table-headers", "pid", "vhost", "client_properties"
    )
    closed = 0
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] == vhost and "haven-router" in fields[2]:
            rabbitmqctl("close_connection", fields[0], "test: broker went away")
            closed += 1
    return closed


def assert_each_with_one_partner(channel: BlockingChannel, ids: set[str]) -> None:
    """Every id is in exactly one partner's queue, and nothing else is."""
    holders: dict[str, set[str]] = defaultdict(set)
    for partner in PARTNERS:
        for properties, _ in take_all(channel, partner_queue(partner)):
            holders[properties.message_id].add(partner)
    assert set(holders) == ids
    assert all(len(partners) == 1 for partners in holders.values())


def test_router_reconnects_and_every_request_ends_with_one_partner(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    vhost = unquote(urlsplit(fresh_broker_url).path[1:])
    settings = router_settings(fresh_broker_url, prefetch=20)
    declare_routing(settings, frozenset(PARTNERS))
    ids = {publish(sealed(directory, content=str(i).encode())) for i in range(300)}
    in_partners = lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS)  # noqa: E731
    with running_router(settings, directory):
        wait_until(lambda: in_partners() > 0, what="routing under way")
        assert close_router_connections(vhost) >= 1
        wait_until(lambda: in_partners() >= len(ids), timeout=30, what="all routed")
        # A request confirmed but not yet acked when the connection died is
        # routed again: by the stable choice, into the same partner's queue.
        assert_each_with_one_partner(channel, ids)


def test_a_router_whose_node_dies_resumes_on_the_next_node_and_routes_the_rest(
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    declare_routing(router_settings(fresh_broker_url), frozenset(PARTNERS))
    ids = {publish(sealed(directory, content=str(i).encode())) for i in range(300)}
    in_partners = lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS)  # noqa: E731
    with forwarders(2) as [first, second]:
        nodes = (first.url(fresh_broker_url), second.url(fresh_broker_url))
        settings = router_settings(
            fresh_broker_url,
            prefetch=20,
            broker=BrokerSettings(urls=nodes, publish_timeout=3.0, connect_timeout=1.0),
        )
        with running_router(settings, directory):
            wait_until(lambda: in_partners() > 0, what="routing under way")
            assert in_partners() < len(ids), "routed everything before the node died"
            assert second.accepted == 0
            first.kill()
            wait_until(lambda: in_partners() >= len(ids), timeout=30, what="the rest routed")
            assert second.accepted >= 1
    assert_each_with_one_partner(channel, ids)
