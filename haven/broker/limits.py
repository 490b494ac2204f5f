"""Limits of the routing queues, parsed once from the environment and passed in explicitly.

They become queue arguments, and a quorum queue refuses to be redeclared
with other arguments: changing one on a running broker means a new queue
(or a policy), never a silent difference between 3.10 and 4.x.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from haven.broker.settings import SettingsError, env_number


@dataclass(frozen=True)
class RoutingLimits:
    # Requests waiting for one partner; a full queue refuses the router's
    # publish (reject-publish) and the router retries later, never drops.
    partner_max_length: int = 10_000
    # Deliveries of one request to a partner's consumer that crashed or
    # requeued; past it the request goes back to the router (a decline).
    partner_delivery_limit: int = 5
    returned_max_length: int = 100_000
    unassigned_max_length: int = 100_000
    retry_max_length: int = 100_000
    # One delayed-retry queue per entry: seconds a request waits before the
    # router tries again after a transient failure. After the last, quarantine.
    retry_delays: tuple[int, ...] = (5, 30, 300)

    def __post_init__(self) -> None:
        for name in (
            "partner_max_length",
            "returned_max_length",
            "unassigned_max_length",
            "retry_max_length",
        ):
            if not 1 <= getattr(self, name) <= 10_000_000:
                raise SettingsError(f"{name} must be between 1 and 10000000")
        if not 1 <= self.partner_delivery_limit <= 100:
            raise SettingsError("HAVEN_PARTNER_DELIVERY_LIMIT must be between 1 and 100")
        if not 1 <= len(self.retry_delays) <= 10 or not all(
            1 <= delay <= 86_400 for delay in self.retry_delays
        ):
            raise SettingsError("HAVEN_RETRY_DELAYS: 1 to 10 delays of 1 to 86400 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RoutingLimits:
        def integer(name: str, default: int) -> int:
            return int(env_number(environ, name, default, int))

        delays = cls.retry_delays
        raw_delays = environ.get("HAVEN_RETRY_DELAYS")
        if raw_delays:
            try:
                delays = tuple(int(part) for part in raw_delays.split(","))
            except ValueError:
                raise SettingsError(
                    "HAVEN_RETRY_DELAYS must be comma-separated seconds, e.g. 5,30,300"
                ) from None
        return cls(
            partner_max_length=integer("HAVEN_PARTNER_MAX_LENGTH", cls.partner_max_length),
            partner_delivery_limit=integer(
                "HAVEN_PARTNER_DELIVERY_LIMIT", cls.partner_delivery_limit
            ),
            returned_max_length=integer("HAVEN_RETURNED_MAX_LENGTH", cls.returned_max_length),
            unassigned_max_length=integer("HAVEN_UNASSIGNED_MAX_LENGTH", cls.unassigned_max_length),
            retry_max_length=integer("HAVEN_RETRY_MAX_LENGTH", cls.retry_max_length),
            retry_delays=delays,
        )
