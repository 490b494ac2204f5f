"""`haven ops` against a live network: status, quarantine and unassigned metadata, replay, purge.

A request no partner can open is declined into quarantine by the partner
toolkit; a request for a category nobody serves lands in unassigned. The
operator sees both by id, category, reason and age, never their content;
replays the quarantined one to the router; purges the unassigned one.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker.topology import QUARANTINE_QUEUE, RETURNED_QUEUE, UNASSIGNED_QUEUE, partner_queue
from haven.directory import recipient_keys, sign_directory, with_partner
from haven.envelope import Labels, PrivateKey, digest, seal
from tests.haven.partner.conftest import (  # noqa: F401 - fixtures shared with the partner tests
    EXAMPLE,
    Network,
    channel,
    depth,
    fast_router,
    make_network,
    partner_entry,
    partner_private_keys,
    running_router,
    verified_loader,
    wait_until,
)

pytestmark = pytest.mark.broker
PARTNERS = ("alpha", "bravo")


def test_operator_sees_held_requests_replays_and_purges_them(
    make_network: Callable[..., Network],  # noqa: F811 - the fixture
    channel: BlockingChannel,  # noqa: F811 - the fixture
) -> None:
    network = make_network()
    env = {"HAVEN_AMQP_URL": network.broker_url}
    broken = bytearray(network.seal())
    broken[-100] ^= 0x01  # opens for nobody
    asylum = seal(
        EXAMPLE.replace(b'"desertion"', b'"asylum"'),
        Labels("asylum", "ru-central", "ru", "normal"),
        recipient_keys(network.directory, "asylum", "ru-central"),
    )
    # charlie serves asylum; a request sealed to it alone, then charlie leaves:
    # simpler to take the envelope to unassigned by hand, as the router would.
    with running_router(fast_router(network), verified_loader(network)):
        broken_id = network.submit(bytes(broken))
        wait_until(lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS) == 1)
        holder = next(p for p in PARTNERS if depth(channel, partner_queue(p)) == 1)
        assert network.pull(holder).code == 0
        wait_until(lambda: depth(channel, QUARANTINE_QUEUE) == 1, what="quarantined")

        def status_shows_it() -> bool:
            # The management API's figures lag the queues by its sampling interval (5 s).
            nonlocal status
            status = network.haven("ops", "status", "--json", env=env)
            assert status.code == 0, status.err
            rows = {row["queue"]: row for row in json.loads(status.out)["queues"]}
            # The router's consumer is sampled on the same interval as the counts.
            return bool(
                rows[QUARANTINE_QUEUE]["ready"] == 1 and rows["haven.intake"]["consumers"] == 1
            )

        status = network.haven("ops", "status", "--json", env=env)
        wait_until(status_shows_it, timeout=30, what="the status to show the quarantined request")
        document = json.loads(status.out)
        rows = {row["queue"]: row for row in document["queues"]}
        assert rows["haven.intake"]["consumers"] == 1  # the router
        assert {p["partner"] for p in document["partners"]} == {"alpha", "bravo", "charlie"}
        table = network.haven("ops", "status", env=env)
        assert "haven.quarantine" in table.out and "backlog" in table.out

        listed = network.haven("ops", "quarantine", env=env)
        assert listed.code == 0, listed.err
        assert broken_id in listed.out and "partner-undecryptable" in listed.out
        [held] = json.loads(network.haven("ops", "quarantine", "--json", env=env).out)
        assert held["id"] == broken_id
        assert held["category"] == "desertion"
        assert held["reason"] == "partner-undecryptable"
        assert held["tried"] == [holder]
        # Its acceptance time travelled with it through router, partner and decline.
        assert held["age_seconds"] is not None and 0 <= held["age_seconds"] < 600
        assert depth(channel, QUARANTINE_QUEUE) == 1  # listing took nothing away

        replayed = network.haven("ops", "replay", "quarantine", "--id", broken_id, env=env)
        assert replayed.code == 0, replayed.err
        assert "1 handed back to the router" in replayed.out
        # The router routes it afresh: to a partner again (tried list cleared).
        wait_until(
            lambda: (
                depth(channel, QUARANTINE_QUEUE) == 0
                and depth(channel, RETURNED_QUEUE) == 0
                and sum(depth(channel, partner_queue(p)) for p in PARTNERS) == 1
            ),
            what="replayed and routed",
        )

    # Unassigned: published as the router does when no partner is left.
    import pika  # noqa: PLC0415

    channel.basic_publish(
        "haven.unassigned",
        "unassigned",
        asylum,
        pika.BasicProperties(
            message_id=digest(asylum),
            delivery_mode=2,
            timestamp=1,
            headers={"x-haven-reason": "all-partners-tried", "x-haven-tried": "charlie"},
        ),
    )
    [held] = json.loads(network.haven("ops", "unassigned", "--json", env=env).out)
    assert held == {
        "id": digest(asylum),
        "category": "asylum",
        "reason": "all-partners-tried",
        "tried": ["charlie"],
        "age_seconds": held["age_seconds"],
    }
    assert held["age_seconds"] > 1_000_000  # from the message's timestamp
    refused = network.haven("ops", "purge", "unassigned", "--all", env=env)
    assert refused.code != 0 and "--yes" in refused.err
    assert depth(channel, UNASSIGNED_QUEUE) == 1
    purged = network.haven("ops", "purge", "unassigned", "--all", "--yes", env=env)
    assert purged.code == 0, purged.err
    assert "1 deleted" in purged.out
    assert depth(channel, UNASSIGNED_QUEUE) == 0
    # Metadata only: nothing of the content in any output.
    for result in (listed, replayed, purged, status):
        assert "Мобилизовали" not in result.out + result.err


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the test's own intake
        return bytes(answer.read())


def test_publish_directory_reaches_the_running_intake_without_restart(
    make_network: Callable[..., Network],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    network = make_network()
    served = network.directory_file
    old = served.read_bytes()
    newer = with_partner(
        network.directory,
        partner_entry("delta", PrivateKey.generate(), categories=["asylum"]),
        now=datetime.now(UTC),
    )
    fresh = tmp_path / "next-directory.json"
    fresh.write_bytes(sign_directory(newer, network.network_key))
    before = json.loads(_get(f"{network.intake_url}/v1/directory"))

    published = network.haven(
        "ops", "publish-directory", fresh, "--network-key", network.verify_key_file, "--to", served
    )
    assert published.code == 0, published.err
    assert f"version {newer.version}" in published.out
    # The running intake serves the new version at once: nothing restarted.
    after = _get(f"{network.intake_url}/v1/directory")
    assert after == served.read_bytes() == fresh.read_bytes()
    assert json.loads(after) != before

    (tmp_path / "old.json").write_bytes(old)
    refused = network.haven(
        "ops", "publish-directory", tmp_path / "old.json", "--network-key",
        network.verify_key_file, "--to", served,
    )  # fmt: skip
    assert refused.code == 1
    assert "already version" in refused.err
    assert served.read_bytes() == fresh.read_bytes()
    tampered = bytearray(fresh.read_bytes())
    tampered[tampered.index(b'"payload": "') + 20] ^= 0x01
    (tmp_path / "tampered.json").write_bytes(bytes(tampered))
    refused = network.haven(
        "ops", "publish-directory", tmp_path / "tampered.json", "--network-key",
        network.verify_key_file, "--to", served,
    )  # fmt: skip
    assert refused.code == 1
    assert served.read_bytes() == fresh.read_bytes()
