"""Broker settings, parsed once from the environment and passed in explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


class SettingsError(ValueError):
    """A setting is missing or out of range; the message names the variable."""


def env_number(
    environ: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]
) -> float:
    """The variable `name` as an int or float, `default` when unset or empty."""
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}") from None


@dataclass(frozen=True)
class BrokerSettings:
    """How Haven talks to RabbitMQ. Every limit is explicit (DESIGN.md: same behaviour on 3.10 and 4.x)."""

    url: str = DEFAULT_URL
    # Upper bound on one confirmed publish; past it the caller answers 503.
    publish_timeout: float = 5.0
    connect_timeout: float = 3.0
    # What a 503 tells the requester's device to wait before trying again.
    retry_after: int = 5
    # Deliveries of one message before it is dead-lettered to quarantine.
    delivery_limit: int = 5
    # Beyond this many waiting requests the intake queue refuses new ones
    # (reject-publish), so a flood cannot push out what is already queued.
    intake_max_length: int = 100_000
    quarantine_max_length: int = 100_000

    def __post_init__(self) -> None:
        if not self.url.startswith(("amqp://", "amqps://")):
            raise SettingsError("HAVEN_AMQP_URL must be an amqp:// or amqps:// URL")
        if not 0 < self.publish_timeout <= 60 or not 0 < self.connect_timeout <= 60:
            raise SettingsError(
                "HAVEN_PUBLISH_TIMEOUT and HAVEN_CONNECT_TIMEOUT must be between 0 and 60 seconds"
            )
        if not 1 <= self.retry_after <= 3600:
            raise SettingsError("HAVEN_RETRY_AFTER must be between 1 and 3600 seconds")
        if not 1 <= self.delivery_limit <= 100:
            raise SettingsError("HAVEN_DELIVERY_LIMIT must be between 1 and 100")
        if (
            not 1 <= self.intake_max_length <= 10_000_000
            or not 1 <= self.quarantine_max_length <= 10_000_000
        ):
            raise SettingsError("queue lengths must be between 1 and 10000000")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BrokerSettings:
        def number(name: str, default: float, kind: type[int] | type[float]) -> float:
            return env_number(environ, name, default, kind)

        return cls(
            url=environ.get("HAVEN_AMQP_URL") or DEFAULT_URL,
            publish_timeout=float(number("HAVEN_PUBLISH_TIMEOUT", cls.publish_timeout, float)),
            connect_timeout=float(number("HAVEN_CONNECT_TIMEOUT", cls.connect_timeout, float)),
            retry_after=int(number("HAVEN_RETRY_AFTER", cls.retry_after, int)),
            delivery_limit=int(number("HAVEN_DELIVERY_LIMIT", cls.delivery_limit, int)),
            intake_max_length=int(number("HAVEN_INTAKE_MAX_LENGTH", cls.intake_max_length, int)),
            quarantine_max_length=int(
                number("HAVEN_QUARANTINE_MAX_LENGTH", cls.quarantine_max_length, int)
            ),
        )
