"""Broker settings, parsed once from the environment and passed in explicitly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import pika

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
# Between two URLs of a list: whitespace (a newline in a file), or a comma
# before the next URL's scheme. A comma elsewhere stays: a password may hold
# one. Any scheme splits, so a stray http:// is refused, not read as a vhost.
_URL_SEPARATOR = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


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


def split_urls(raw: str) -> tuple[str, ...]:
    """The broker URLs of one setting: separated by commas and/or whitespace."""
    # A comma at either end separates nothing (it would end the last vhost).
    return tuple(part for part in _URL_SEPARATOR.split(raw.strip().strip(",").strip()) if part)


def check_urls(urls: tuple[str, ...], name: str) -> None:
    """SettingsError naming `name` unless `urls` are the amqp(s) URLs of nodes of one cluster.

    Every URL must name the same user, password, vhost, scheme and options:
    a list mixing users would let one misconfigured entry send a service's
    traffic as another user, one mixing amqps:// and amqp:// would drop TLS
    on failing over. The message names positions, never a URL (it holds the
    password).
    """
    if not urls:
        raise SettingsError(f"{name} holds no broker URL")
    first: tuple[str, str, str, str, str] | None = None
    for position, url in enumerate(urls, start=1):
        if not url.startswith(("amqp://", "amqps://")):
            raise SettingsError(f"{name}: URL {position} must be an amqp:// or amqps:// URL")
        try:
            params = pika.URLParameters(url)
        except Exception:  # noqa: BLE001 - pika raises many kinds for one bad URL
            raise SettingsError(f"{name}: URL {position} is not a valid AMQP URL") from None
        credentials = params.credentials
        user = credentials.username if isinstance(credentials, pika.PlainCredentials) else ""
        password = credentials.password if isinstance(credentials, pika.PlainCredentials) else ""
        # The scheme and the query (TLS options among them) too: a list
        # mixing amqps:// and amqp:// would, on failing over, send the
        # service's password and every request's envelope in clear.
        split = urlsplit(url)
        named = (str(user), str(password), str(params.virtual_host), split.scheme, split.query)
        if first is None:
            first = named
            continue
        for index, part in enumerate(
            ("user", "password", "vhost", "scheme", "query (TLS options)")
        ):
            if named[index] != first[index]:
                raise SettingsError(
                    f"{name}: URL {position} names another {part} than URL 1; every URL "
                    "must be a node of one cluster with the same user, password, vhost, "
                    "scheme and options"
                )


@dataclass(frozen=True)
class BrokerSettings:
    """How Haven talks to RabbitMQ. Every limit is explicit (DESIGN.md: same behaviour on 3.10 and 4.x)."""

    # The nodes of one cluster, tried in this order (haven.broker.connection):
    # one user, password and vhost for all (check_urls).
    urls: tuple[str, ...] = (DEFAULT_URL,)
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
        check_urls(self.urls, "HAVEN_AMQP_URL")
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

    @property
    def credentials(self) -> pika.PlainCredentials | None:
        """The one user and password of every URL; None when the URLs name none."""
        credentials = pika.URLParameters(self.urls[0]).credentials
        return credentials if isinstance(credentials, pika.PlainCredentials) else None

    @property
    def username(self) -> str | None:
        credentials = self.credentials
        return str(credentials.username) if credentials is not None else None

    @property
    def virtual_host(self) -> str:
        """The one vhost of every URL."""
        return str(pika.URLParameters(self.urls[0]).virtual_host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BrokerSettings:
        def number(name: str, default: float, kind: type[int] | type[float]) -> float:
            return env_number(environ, name, default, kind)

        return cls(
            urls=split_urls(environ.get("HAVEN_AMQP_URL") or DEFAULT_URL),
            publish_timeout=float(number("HAVEN_PUBLISH_TIMEOUT", cls.publish_timeout, float)),
            connect_timeout=float(number("HAVEN_CONNECT_TIMEOUT", cls.connect_timeout, float)),
            retry_after=int(number("HAVEN_RETRY_AFTER", cls.retry_after, int)),
            delivery_limit=int(number("HAVEN_DELIVERY_LIMIT", cls.delivery_limit, int)),
            intake_max_length=int(number("HAVEN_INTAKE_MAX_LENGTH", cls.intake_max_length, int)),
            quarantine_max_length=int(
                number("HAVEN_QUARANTINE_MAX_LENGTH", cls.quarantine_max_length, int)
            ),
        )
