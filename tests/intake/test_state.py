"""IntakeState: the one current difficulty that the API and the no-JavaScript bucket both read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import pytest

from intake import IntakeSettings, create_app
from intake.state import EXTENSION, IntakeState


class DepthOnly:
    """A publisher that only reports a backlog (None: the broker is away)."""

    def __init__(self, depth: int | None) -> None:
        self.depth = depth
        self.watched: dict[str, int] = {}

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        raise AssertionError("nothing is published here")

    def ready(self) -> bool:
        return self.depth is not None

    def watch(self, queues: Mapping[str, int]) -> None:
        self.watched = dict(queues)

    def backlog(self) -> int | None:
        return self.depth

    def close(self) -> None:
        return


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(None, 8), (0, 8), (2, 8), (3, 9), (7, 10), (10**6, 10)],
)
def test_current_difficulty_follows_the_backlog_within_the_settings(
    make_settings: Callable[..., IntakeSettings], depth: int | None, expected: int
) -> None:
    settings = make_settings(pow_min_bits=8, pow_max_bits=10, pow_depth_per_bit=3)
    app = create_app(settings, publisher=DepthOnly(depth))
    state = cast(IntakeState, app.extensions[EXTENSION])
    assert state.current_difficulty() == expected


def test_the_difficulty_is_read_at_each_call(make_settings: Callable[..., Any]) -> None:
    publisher = DepthOnly(0)
    settings = make_settings(pow_min_bits=8, pow_max_bits=10, pow_depth_per_bit=3)
    state = cast(IntakeState, create_app(settings, publisher=publisher).extensions[EXTENSION])
    assert state.current_difficulty() == 8
    publisher.depth = 6
    assert state.current_difficulty() == 10


def test_the_backlog_watched_is_every_partner_queue_and_unassigned(
    make_settings: Callable[..., Any],
) -> None:
    publisher = DepthOnly(0)
    settings = make_settings(partner_max_length=501)
    state = cast(IntakeState, create_app(settings, publisher=publisher).extensions[EXTENSION])
    state.current_difficulty()
    # A partner's queue counts above half its capacity; unassigned in full.
    assert publisher.watched == {
        "haven.partner.evacuators": 250,
        "haven.partner.lawyers": 250,
        "haven.unassigned": 0,
    }
