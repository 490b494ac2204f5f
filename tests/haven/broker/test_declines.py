"""A decline echoes the sealed routing headers it received, unchanged, and nothing else."""

from __future__ import annotations

import pika
import pytest

from haven.broker.declines import DECLINE, decline_properties

SEAL = "v1.0a1b2c3d." + "00" * 16 + "." + "11" * 32


def test_a_decline_echoes_every_routing_header_and_the_seal_unchanged() -> None:
    received = pika.BasicProperties(
        message_id="ab" * 32,
        timestamp=1_700_000_000,
        headers={
            "x-haven-tried": "alpha,bravo",
            "x-haven-retries": 0,
            "x-haven-stage": "partner",
            "x-haven-partner": "bravo",
            "x-haven-attempts": 2,
            "x-haven-seal": SEAL,
            # The broker's and anything else's: not part of the assignment.
            "x-death": [{"reason": "expired"}],
            "x-haven-reason": "junk",
        },
    )
    properties = decline_properties(received, "no-capacity", "haven-partner-bravo")
    sent = {k: v for k, v in received.headers.items() if k not in ("x-death", "x-haven-reason")}
    assert properties.headers == {**sent, DECLINE: "no-capacity"}
    assert properties.user_id == "haven-partner-bravo"
    assert properties.message_id == received.message_id
    assert properties.timestamp == received.timestamp


def test_a_reason_outside_the_closed_set_is_refused() -> None:
    with pytest.raises(ValueError, match="not a decline reason"):
        decline_properties(pika.BasicProperties(headers={}), "because", "haven-partner-bravo")
