"""The one signed-token format: layout, per-purpose keys, one spelling, every forgery refused alike."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

import pytest

from haven.store import Store, StoreSettings, UsedTickets
from intake.guards.nojs import TICKET, Tickets
from intake.guards.pow import CHALLENGE
from intake.guards.signed import MAC_BYTES, Purpose, SignedTokens, TokenInvalid
from tests.intake.conftest import FakeClock

SECRET = bytes(range(32))
NONCE = b"\x07" * 16
# Two purposes with the same layout: only their contexts keep them apart.
FIRST = Purpose(version=1, fields="QB", mac_context=b"first\x00", key_context=b"first key")
SECOND = Purpose(version=1, fields="QB", mac_context=b"second\x00", key_context=b"second key")


def tokens(purpose: Purpose = FIRST, secret: bytes = SECRET) -> SignedTokens:
    return SignedTokens(secret, purpose, random_bytes=lambda n: NONCE[:n])


def test_a_token_opens_to_what_was_issued() -> None:
    text = tokens().issue(1_800_000_000, 1_800_000_300, 9)
    opened = tokens().open(text)
    assert (opened.issued_at, opened.fields, opened.nonce) == (
        1_800_000_000,
        (1_800_000_300, 9),
        NONCE,
    )
    assert opened.raw == base64.urlsafe_b64decode(text)
    assert len(opened.raw) == FIRST.size == 1 + 8 + 8 + 1 + 16 + MAC_BYTES
    assert len(text) == FIRST.text_length and "=" not in text


def test_the_mac_key_is_derived_per_purpose() -> None:
    raw = base64.urlsafe_b64decode(tokens().issue(5, 6, 7))
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    key = hmac.new(SECRET, b"first key", hashlib.sha256).digest()
    assert mac == hmac.new(key, b"first\x00" + body, hashlib.sha256).digest()


def test_the_challenge_keeps_its_mac_under_the_secret_itself() -> None:
    # docs/intake-api.md: challenges issued before this format still verify.
    raw = base64.urlsafe_b64decode(tokens(CHALLENGE).issue(5, 6, 7))
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    assert mac == hmac.new(SECRET, b"haven/v1 pow challenge\x00" + body, hashlib.sha256).digest()
    assert (CHALLENGE.size, CHALLENGE.text_length) == (66, 88)


def test_the_ticket_layout_and_key_are_unchanged(tmp_path: Path) -> None:
    clock = FakeClock()
    # Issuing never touches the store: this one is never opened.
    unused = UsedTickets(Store(StoreSettings(url=f"sqlite:///{tmp_path / 's'}")), clock=clock)
    text = Tickets(
        SECRET,
        used=unused,
        min_age=0,
        max_age=60,
        patient_age=30,
        clock=clock,
        random_bytes=lambda n: NONCE,
    ).issue()
    raw = base64.urlsafe_b64decode(text)
    assert (TICKET.size, len(text)) == (57, 76)
    assert raw[:25] == b"\x01" + int(clock.now).to_bytes(8, "big") + NONCE
    key = hmac.new(SECRET, b"haven/v1 nojs ticket key", hashlib.sha256).digest()
    assert (
        raw[25:] == hmac.new(key, b"haven/v1 nojs ticket\x00" + raw[:25], hashlib.sha256).digest()
    )


def test_a_token_of_one_purpose_never_opens_as_another() -> None:
    text = tokens(FIRST).issue(1, 2, 3)
    with pytest.raises(TokenInvalid):
        tokens(SECOND).open(text)
    with pytest.raises(TokenInvalid):
        tokens(FIRST, secret=bytes(32)).open(text)


def test_another_version_is_refused_even_with_a_good_mac() -> None:
    later = Purpose(version=2, fields="QB", mac_context=b"first\x00", key_context=b"first key")
    with pytest.raises(TokenInvalid):
        tokens(FIRST).open(tokens(later).issue(1, 2, 3))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t[:-2] + "==",
        lambda t: t.replace(t[10], "+" if t[10] != "+" else "/", 1),
        lambda t: ("B" if t[0] != "B" else "C") + t[1:],
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "",
    ],
    ids=["short", "long", "padded", "standard-alphabet", "body-flipped", "mac-flipped", "empty"],
)
def test_every_mangled_token_is_refused_alike(mangle: Callable[[str], str]) -> None:
    text = tokens().issue(1, 2, 3)
    with pytest.raises(TokenInvalid):
        tokens().open(mangle(text))


def test_a_layout_that_needs_base64_padding_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 3"):
        Purpose(version=1, fields="B", mac_context=b"x", key_context=None)
