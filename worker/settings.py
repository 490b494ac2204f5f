"""Router settings, parsed once from the environment and passed in explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from haven.broker import BrokerSettings, SettingsError
from haven.broker.consumer import ConsumerSettings
from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import BackoffPolicy
from haven.broker.settings import env_number
from haven.store import StoreSettings, StoreSettingsError
from schemas.directory import MAX_DEADLINE_SECONDS
from worker.seal import RouterKeys

# How long a consumed assignment is remembered (worker.consumed), seconds.
# An assignment comes back (a decline, or its dead-lettered twin) at the
# latest when the partner's deadline has run out and the broker's delivery
# limit is spent; deadlines are at most 14 days (schemas.directory), so 30
# days leaves more than two weeks for a broker or router outage in between.
# Past it, a replay of that assignment's decline is honoured once more.
DEFAULT_CONSUMED_RETENTION = 30 * 86_400
# Never less than the longest deadline a directory may give and a day.
_MIN_CONSUMED_RETENTION = MAX_DEADLINE_SECONDS + 86_400
_MAX_CONSUMED_RETENTION = 365 * 86_400


@dataclass(frozen=True)
class RouterSettings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    limits: RoutingLimits = field(default_factory=RoutingLimits)
    # Unacked deliveries per consumed queue: what one router holds at once.
    prefetch: int = 50
    # Message ids of intake requests this router has routed, kept to drop
    # re-published duplicates (bounded: the oldest are forgotten first).
    seen_capacity: int = 100_000
    # Network-wide upper bound on any partner's response deadline, seconds;
    # None keeps the directory's deadlines as they are.
    max_deadline: int | None = None
    shutdown_timeout: float = 10.0
    # How often the directory is re-read while routing, seconds.
    directory_refresh: float = 60.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    # Broker users of Haven's own services whose declines the router trusts
    # for any partner (the webhook delivery); the router's own user always is.
    service_users: frozenset[str] = frozenset()
    # Forged declines quarantined per sending partner per minute; beyond
    # that they are dropped (counted), so they cannot fill quarantine.
    declines_per_minute: int = 20
    # Where consumed assignments are recorded (worker.consumed): the
    # deployment's store, shared by every router. None (tests, embedding)
    # keeps them in this router's memory, `consumed_capacity` at most.
    store: StoreSettings | None = None
    consumed_retention: int = DEFAULT_CONSUMED_RETENTION
    consumed_capacity: int = 200_000
    # The key that seals routing state (worker.seal); shared with the
    # webhook delivery, never with partners.
    keys: RouterKeys = field(kw_only=True)

    def __post_init__(self) -> None:
        if not 1 <= self.prefetch <= 1000:
            raise SettingsError("HAVEN_ROUTER_PREFETCH must be between 1 and 1000")
        if not 1 <= self.seen_capacity <= 10_000_000:
            raise SettingsError("HAVEN_ROUTER_SEEN_CAPACITY must be between 1 and 10000000")
        if self.max_deadline is not None and not 1 <= self.max_deadline <= MAX_DEADLINE_SECONDS:
            raise SettingsError(
                f"HAVEN_ROUTER_MAX_DEADLINE must be between 1 and {MAX_DEADLINE_SECONDS} seconds"
            )
        if not 0 < self.shutdown_timeout <= 300:
            raise SettingsError("HAVEN_ROUTER_SHUTDOWN_TIMEOUT must be between 0 and 300 seconds")
        if not 1 <= self.directory_refresh <= 86_400:
            raise SettingsError("HAVEN_DIRECTORY_REFRESH must be between 1 and 86400 seconds")
        if not 1 <= self.declines_per_minute <= 10_000:
            raise SettingsError("HAVEN_DECLINES_PER_MINUTE must be between 1 and 10000")
        if not 1_000 <= self.consumed_capacity <= 10_000_000:
            raise SettingsError("consumed_capacity must be between 1000 and 10000000")
        if not _MIN_CONSUMED_RETENTION <= self.consumed_retention <= _MAX_CONSUMED_RETENTION:
            raise SettingsError(
                f"HAVEN_ROUTER_CONSUMED_RETENTION must be between {_MIN_CONSUMED_RETENTION} "
                f"and {_MAX_CONSUMED_RETENTION} seconds (15 to 365 days)"
            )

    def trusted_users(self) -> frozenset[str]:
        name = self.broker.username
        return self.service_users | ({name} if name else set())

    def consumer_settings(self) -> ConsumerSettings:
        return ConsumerSettings(
            broker=self.broker,
            prefetch=self.prefetch,
            blocked_timeout=max(self.broker.publish_timeout, 5.0),
            shutdown_timeout=self.shutdown_timeout,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RouterSettings:
        def number(name: str, default: float, kind: type[int] | type[float]) -> float:
            return env_number(environ, name, default, kind)

        raw_cap = environ.get("HAVEN_ROUTER_MAX_DEADLINE")
        return cls(
            broker=BrokerSettings.from_env(environ),
            limits=RoutingLimits.from_env(environ),
            prefetch=int(number("HAVEN_ROUTER_PREFETCH", cls.prefetch, int)),
            seen_capacity=int(number("HAVEN_ROUTER_SEEN_CAPACITY", cls.seen_capacity, int)),
            max_deadline=int(number("HAVEN_ROUTER_MAX_DEADLINE", 0, int)) if raw_cap else None,
            shutdown_timeout=float(
                number("HAVEN_ROUTER_SHUTDOWN_TIMEOUT", cls.shutdown_timeout, float)
            ),
            directory_refresh=float(
                number("HAVEN_DIRECTORY_REFRESH", cls.directory_refresh, float)
            ),
            service_users=frozenset(
                name for name in environ.get("HAVEN_SERVICE_USERS", "").split(",") if name
            ),
            declines_per_minute=int(
                number("HAVEN_DECLINES_PER_MINUTE", cls.declines_per_minute, int)
            ),
            consumed_retention=int(
                number("HAVEN_ROUTER_CONSUMED_RETENTION", cls.consumed_retention, int)
            ),
            keys=RouterKeys.from_env(environ),
            store=_store(environ),
        )


def _store(environ: Mapping[str, str]) -> StoreSettings:
    # Required: a router that kept consumed assignments to itself would
    # honour a replayed decline that reached another router, or came after
    # a restart (the store is what makes "once" hold for the deployment).
    try:
        return StoreSettings.from_env(environ)
    except StoreSettingsError as exc:
        raise SettingsError(str(exc)) from None
