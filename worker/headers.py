"""The message headers the router writes and reads: routing state, never requester data.

Only partner ids, counts and reason codes travel here. A partner can
publish a decline, headers of its choosing included, so the router takes
this state only under a valid seal (worker.seal); it is still parsed
strictly, and anything else is quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

TRIED = "x-haven-tried"
RETRIES = "x-haven-retries"
STAGE = "x-haven-stage"
PARTNER = "x-haven-partner"
REASON = "x-haven-reason"
# Failed webhook deliveries of the current assignment (worker.webhook).
ATTEMPTS = "x-haven-attempts"
# The HMAC over the message id, a nonce and the state above (worker.seal).
SEAL = "x-haven-seal"

# partner: sent to `partner`'s queue; retry: waiting to repeat a routing
# step; redeliver: waiting to go back to the same `partner` (a webhook
# delivery that failed for a transient reason).
Stage = Literal["partner", "retry", "redeliver"]
_PARTNER_ID = re.compile(r"[a-z0-9-]{3,32}\Z")
# More tries than a directory can hold partners means the header is forged or broken.
MAX_TRIED = 200
MAX_RETRIES = 10
MAX_ATTEMPTS = 10


class BadHeadersError(ValueError):
    """Routing headers that no router wrote."""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, str):
        return value
    raise BadHeadersError("not text")


@dataclass(frozen=True)
class RoutingState:
    """Where a request has been: partners tried (in order), retry count, where it was sent last."""

    tried: tuple[str, ...] = ()
    retries: int = 0
    stage: Stage | None = None
    partner: str | None = None
    attempts: int = 0

    def headers(self) -> dict[str, object]:
        out: dict[str, object] = {TRIED: ",".join(self.tried), RETRIES: self.retries}
        if self.stage is not None:
            out[STAGE] = self.stage
        if self.partner is not None:
            out[PARTNER] = self.partner
        if self.attempts:
            out[ATTEMPTS] = self.attempts
        return out

    @classmethod
    def from_headers(cls, headers: Mapping[str, object] | None) -> RoutingState:
        headers = headers or {}
        try:
            raw_tried = _text(headers.get(TRIED, ""))
            tried = tuple(raw_tried.split(",")) if raw_tried else ()
            retries = headers.get(RETRIES, 0)
            attempts = headers.get(ATTEMPTS, 0)
            stage = _text(headers[STAGE]) if STAGE in headers else None
            partner = _text(headers[PARTNER]) if PARTNER in headers else None
        except BadHeadersError:
            raise BadHeadersError("routing headers are not text") from None
        if len(tried) > MAX_TRIED or not all(_PARTNER_ID.match(p) for p in tried):
            raise BadHeadersError("tried list malformed")
        if len(set(tried)) != len(tried):
            raise BadHeadersError("tried list repeats a partner")
        if type(retries) is not int or not 0 <= retries <= MAX_RETRIES:
            raise BadHeadersError("retry count malformed")
        if type(attempts) is not int or not 0 <= attempts <= MAX_ATTEMPTS:
            raise BadHeadersError("attempt count malformed")
        if stage is None:
            known: Stage | None = None
        elif stage == "partner":
            known = "partner"
        elif stage == "retry":
            known = "retry"
        elif stage == "redeliver":
            known = "redeliver"
        else:
            raise BadHeadersError("stage unknown")
        if partner is not None and (known not in ("partner", "redeliver") or partner not in tried):
            raise BadHeadersError("partner header without a matching try")
        if known == "redeliver" and partner is None:
            raise BadHeadersError("redelivery without a partner")
        return cls(tried, retries, known, partner, attempts)


def death_reason(headers: Mapping[str, object] | None) -> str | None:
    """Why the broker dead-lettered the message: rejected, expired, delivery_limit.

    The router publishes fresh headers on every hop, so a returned message
    has died exactly once; 3.10 and 4.x both set x-first-death-reason.
    """
    headers = headers or {}
    try:
        if "x-first-death-reason" in headers:
            return _text(headers["x-first-death-reason"])
        deaths = headers.get("x-death")
        if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
            return _text(deaths[0].get("reason"))
    except BadHeadersError:
        return None
    return None
