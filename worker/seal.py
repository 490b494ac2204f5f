"""The routing seal: routing state a Haven service wrote, and nobody else.

A partner's broker user may publish to `haven.declines`, which is bound
into the router's returned queue, and it writes every header and property
of what it publishes. So the router takes routing state (tried, retries,
stage, partner, attempts) only when it carries a seal that a router or the
webhook delivery made:

    x-haven-seal: v1.<key id, 8 hex>.<nonce, 32 hex>.<HMAC-SHA256, 64 hex>

over the message id (the envelope's digest), a fresh random nonce (one
per assignment: it is what the router records as consumed) and the
canonical encoding of the state. The key (`HAVEN_ROUTER_KEY_FILE`, 32
random bytes) is shared by the routers and the webhook delivery only;
partners never hold it. The key id names which key sealed, so a new key
can be rolled out while the previous one still verifies what is queued
(`HAVEN_ROUTER_PREVIOUS_KEY_FILE`). Keys are never logged or shown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from haven.broker.settings import SettingsError
from haven.files import read_setting_file
from worker.headers import SEAL, BadHeadersError, RoutingState

KEY_BYTES = 32
NONCE_BYTES = 16
_VERSION = "v1"
# The MAC input starts with this label, so a seal can never be taken for
# any other HMAC made under the same key.
_LABEL = b"haven-routing-seal-v1\0"
_SEAL = re.compile(r"v1\.([0-9a-f]{8})\.([0-9a-f]{32})\.([0-9a-f]{64})\Z")


class BadSealError(ValueError):
    """Routing state without a valid seal for this message id."""


def canonical(state: RoutingState) -> bytes:
    """One byte string per state: JSON of a fixed-order list, no spaces."""
    document = [list(state.tried), state.retries, state.stage, state.partner, state.attempts]
    return json.dumps(document, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True, repr=False)
class RouterKey:
    secret: bytes
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise SettingsError(f"a router key is exactly {KEY_BYTES} bytes")
        # The id is derived, never chosen: two deployments' keys cannot
        # collide by configuration, and the id says nothing about the key.
        kid = hashlib.sha256(b"haven-router-key-id\0" + self.secret).hexdigest()[:8]
        object.__setattr__(self, "key_id", kid)

    def __repr__(self) -> str:
        return f"RouterKey({self.key_id})"

    def mac(self, message_id: str, nonce: bytes, state: RoutingState) -> bytes:
        # message id (64 hex) and nonce have fixed lengths: the input is unambiguous.
        data = _LABEL + message_id.encode("ascii") + nonce + canonical(state)
        return hmac.new(self.secret, data, hashlib.sha256).digest()

    @classmethod
    def generate(cls) -> RouterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_file(cls, path: Path, variable: str) -> RouterKey:
        # Errors name the variable and the file, never a byte of the key.
        secret = read_setting_file(variable, path, KEY_BYTES, error=SettingsError)
        if len(secret) != KEY_BYTES:
            raise SettingsError(f"{variable}: {path} must hold exactly {KEY_BYTES} random bytes")
        return cls(secret)


@dataclass(frozen=True)
class Sealed:
    """Routing state whose seal verified, and the nonce of its assignment."""

    state: RoutingState
    nonce: bytes


@dataclass(frozen=True, repr=False)
class RouterKeys:
    """The key that seals, and the previous one, which still verifies during a rotation."""

    current: RouterKey
    previous: tuple[RouterKey, ...] = ()

    def __repr__(self) -> str:
        return f"RouterKeys({self.current!r}, previous={self.previous!r})"

    def seal(self, message_id: str, state: RoutingState) -> dict[str, object]:
        """The headers of `state` with a seal under a fresh nonce: one new assignment."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        mac = self.current.mac(message_id, nonce, state)
        value = f"{_VERSION}.{self.current.key_id}.{nonce.hex()}.{mac.hex()}"
        return {**state.headers(), SEAL: value}

    def verify(self, message_id: str, headers: Mapping[str, object] | None) -> Sealed:
        """The sealed state of this very message id, or BadSealError."""
        headers = headers or {}
        raw = headers.get(SEAL)
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        found = _SEAL.match(raw) if isinstance(raw, str) else None
        if found is None:
            raise BadSealError("no seal")
        kid, nonce_hex, mac_hex = found.groups()
        key = next((k for k in (self.current, *self.previous) if k.key_id == kid), None)
        if key is None:
            raise BadSealError("sealed under an unknown key")
        try:
            state = RoutingState.from_headers(headers)
        except BadHeadersError:
            raise BadSealError("routing headers malformed") from None
        nonce = bytes.fromhex(nonce_hex)
        # Constant time: a forger learns nothing from how long a refusal took.
        if not hmac.compare_digest(key.mac(message_id, nonce, state), bytes.fromhex(mac_hex)):
            raise BadSealError("seal does not match")
        return Sealed(state, nonce)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RouterKeys:
        path = environ.get("HAVEN_ROUTER_KEY_FILE")
        if not path:
            raise SettingsError(
                "HAVEN_ROUTER_KEY_FILE must name the router key file (32 random bytes)"
            )
        current = RouterKey.from_file(Path(path), "HAVEN_ROUTER_KEY_FILE")
        old = environ.get("HAVEN_ROUTER_PREVIOUS_KEY_FILE")
        previous = (
            (RouterKey.from_file(Path(old), "HAVEN_ROUTER_PREVIOUS_KEY_FILE"),) if old else ()
        )
        return cls(current, previous)
