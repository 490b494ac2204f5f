"""Proof-of-work challenges: issued, solved, refused; time and randomness through seams."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest

from intake.guards.pow import (
    DIFFICULTY_SLACK,
    SLACK_SECONDS,
    TOKEN_BYTES,
    TOKEN_TEXT_LENGTH,
    DifficultyRule,
    Load,
    PowRejected,
    ProofOfWork,
    difficulty_for,
    leading_zero_bits,
)
from schemas.http import CHALLENGE_TOKEN_LENGTH
from tests.intake.conftest import FakeClock, solve, work

SECRET = bytes(range(32))
ENVELOPE = b"a sealed envelope"
DIGEST = hashlib.sha256(ENVELOPE).digest()


def make(clock: FakeClock, min_bits: int = 4, secret: bytes = SECRET) -> ProofOfWork:
    return ProofOfWork(
        secret, lifetime=300, min_bits=min_bits, clock=clock, random_bytes=lambda n: b"\x07" * n
    )


def test_token_layout_is_the_documented_one() -> None:
    clock = FakeClock()
    clock.now = 1_800_000_000.5
    challenge = make(clock).issue(9)
    raw = base64.urlsafe_b64decode(challenge.token)
    assert len(raw) == TOKEN_BYTES == 66
    assert len(challenge.token) == TOKEN_TEXT_LENGTH == CHALLENGE_TOKEN_LENGTH == 88
    assert "=" not in challenge.token
    version, issued, expires, bits, nonce = struct.unpack(">BQQB16s", raw[:34])
    assert (version, issued, expires, bits, nonce) == (
        1,
        1_800_000_000,
        1_800_000_300,
        9,
        b"\x07" * 16,
    )
    assert (challenge.issued_at, challenge.expires_at, challenge.difficulty) == (
        issued,
        expires,
        9,
    )
    assert raw[34:] == hmac.new(SECRET, b"haven/v1 pow challenge\x00" + raw[:34], "sha256").digest()


def test_solution_is_accepted() -> None:
    pow_ = make(FakeClock())
    challenge = pow_.issue(10)
    nonce = solve(challenge.token, ENVELOPE, 10)
    pow_.verify(challenge.token, nonce, DIGEST)
    # The same nonce in hex spelling is another nonce: only the ASCII counts.
    assert work(challenge.token, ENVELOPE, nonce) >= 10


def test_refusals() -> None:
    clock = FakeClock()
    pow_ = make(clock)
    challenge = pow_.issue(6)
    nonce = solve(challenge.token, ENVELOPE, 6)

    def reason(token: str, nonce: str, digest: bytes = DIGEST) -> tuple[str, str]:
        with pytest.raises(PowRejected) as refused:
            pow_.verify(token, nonce, digest)
        return refused.value.reason, refused.value.field

    other_secret = make(clock, secret=b"x" * 32).issue(6).token
    assert reason(other_secret, nonce) == ("invalid", "pow.challenge")
    assert reason(challenge.token[:-1], nonce) == ("invalid", "pow.challenge")
    assert reason(challenge.token[:-1] + "!", nonce) == ("invalid", "pow.challenge")
    bad = next(str(n) for n in range(10_000) if work(challenge.token, ENVELOPE, str(n)) < 6)
    assert reason(challenge.token, bad) == ("insufficient", "pow.nonce")
    # The work was done for ENVELOPE; another envelope's digest does not fit it.
    other = next(e for e in (bytes([i]) for i in range(256)) if work(challenge.token, e, nonce) < 6)
    assert reason(challenge.token, nonce, hashlib.sha256(other).digest()) == (
        "insufficient",
        "pow.nonce",
    )
    below_floor = make(clock, min_bits=0).issue(3).token
    assert reason(below_floor, solve(below_floor, ENVELOPE, 3)) == (
        "insufficient",
        "pow.challenge",
    )
    clock.advance(300)
    assert reason(challenge.token, nonce) == ("expired", "pow.challenge")


def test_a_token_below_the_current_difficulty_less_the_slack_is_refused() -> None:
    pow_ = make(FakeClock(), min_bits=4)
    token = pow_.issue(6).token
    nonce = solve(token, ENVELOPE, 6)
    assert DIFFICULTY_SLACK == 1
    # Issued at 6 bits; the intake now asks for 7: still within the slack.
    pow_.verify(token, nonce, DIGEST, lambda: 7)
    with pytest.raises(PowRejected) as refused:
        pow_.verify(token, nonce, DIGEST, lambda: 8)
    assert (refused.value.reason, refused.value.field) == ("insufficient", "pow.challenge")


def test_the_slack_is_for_a_fresh_token_only() -> None:
    """A token stocked in a quiet minute cannot be spent at its old price once the load rose."""
    clock = FakeClock()
    pow_ = make(clock, min_bits=4)
    token = pow_.issue(6).token
    nonce = solve(token, ENVELOPE, 6)
    clock.advance(SLACK_SECONDS)
    pow_.verify(token, nonce, DIGEST, lambda: 7)  # as long as it takes a phone to solve: slack
    clock.advance(1)
    pow_.verify(token, nonce, DIGEST, lambda: 6)  # still good at its own price
    with pytest.raises(PowRejected) as refused:
        pow_.verify(token, nonce, DIGEST, lambda: 7)
    assert (refused.value.reason, refused.value.field) == ("insufficient", "pow.challenge")


def test_the_slack_lasts_twenty_seconds() -> None:
    """Long enough for a slow phone's floor solve; short, since pre-solved floor envelopes spend it."""
    clock = FakeClock()
    pow_ = make(clock, min_bits=4)
    token = pow_.issue(6).token
    nonce = solve(token, ENVELOPE, 6)
    clock.advance(20)
    pow_.verify(token, nonce, DIGEST, lambda: 7)
    clock.advance(1)
    with pytest.raises(PowRejected) as refused:
        pow_.verify(token, nonce, DIGEST, lambda: 7)
    assert refused.value.reason == "insufficient"


def test_the_current_difficulty_is_asked_only_of_an_authentic_token() -> None:
    clock = FakeClock()
    pow_ = make(clock)
    asked: list[int] = []

    def current() -> int:
        asked.append(1)
        return 4

    for forged in ("A" * 88, make(clock, secret=b"x" * 32).issue(6).token):
        with pytest.raises(PowRejected):
            pow_.admit(forged, current)
    assert asked == []
    admitted = pow_.admit(pow_.issue(6).token, current)
    assert (admitted.difficulty, asked) == (6, [1])


RULE = DifficultyRule(min_bits=16, max_bits=22, baseline_per_minute=20, backlog_per_bit=1000)


@pytest.mark.parametrize(
    ("backlog", "bits"),
    [(None, 16), (0, 16), (999, 16), (1000, 17), (3500, 19), (10**9, 22)],
)
def test_difficulty_rises_with_the_backlog_within_bounds(backlog: int | None, bits: int) -> None:
    assert difficulty_for(Load(accepted_per_minute=0, backlog=backlog), RULE) == bits


@pytest.mark.parametrize(
    ("rate", "bits"),
    [
        (None, 16),  # the store is away: no extra bit
        (0, 16),
        (19, 16),
        (20, 16),  # the baseline itself is free
        (39, 16),
        (40, 17),  # one bit per doubling over the baseline
        (79, 17),
        (80, 18),
        (160, 19),
        (1280, 22),
        (10**9, 22),  # never above the ceiling
    ],
)
def test_difficulty_rises_a_bit_per_doubling_of_the_acceptance_rate(
    rate: int | None, bits: int
) -> None:
    assert difficulty_for(Load(accepted_per_minute=rate, backlog=0), RULE) == bits


def test_rate_and_backlog_add_up_to_the_ceiling() -> None:
    # The review's flood: routers empty the intake queue at once, so only the rate sees it.
    assert difficulty_for(Load(accepted_per_minute=800, backlog=0), RULE) == 21
    assert difficulty_for(Load(accepted_per_minute=80, backlog=2500), RULE) == 20
    assert difficulty_for(Load(accepted_per_minute=800, backlog=2500), RULE) == 22


def test_leading_zero_bits() -> None:
    assert leading_zero_bits(b"\x00\x00") == 16
    assert leading_zero_bits(b"\x00\x80") == 8
    assert leading_zero_bits(b"\x01\xff") == 7
    assert leading_zero_bits(b"\xff") == 0


def test_documented_vector() -> None:
    """The example of docs/intake-api.md, "Proof of work", end to end."""
    clock = FakeClock()
    clock.now = 1_800_000_000
    pow_ = ProofOfWork(
        bytes(range(32)),
        lifetime=300,
        min_bits=8,
        clock=clock,
        random_bytes=lambda n: bytes(range(0xA0, 0xA0 + n)),
    )
    challenge = pow_.issue(12)
    assert challenge.token == (
        "AQAAAABrSdIAAAAAAGtJ0ywMoKGio6SlpqeoqaqrrK2ur8Fjh0Ow8q2FnpdKQv6iwAf6Ptfr61hPV2CcGaiJ_f_O"
    )
    envelope = b"example envelope bytes"
    assert solve(challenge.token, envelope, 12) == "3097"
    assert work(challenge.token, envelope, "3097") == 13
    pow_.verify(challenge.token, "3097", hashlib.sha256(envelope).digest())
