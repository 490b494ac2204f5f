"""The settings of the webhook delivery, parsed once from the environment and passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import BackoffPolicy
from haven.broker.settings import BrokerSettings, SettingsError, env_number
from haven.broker.topology import partner_queue
from worker.seal import RouterKeys


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    # Must equal the router's: the retry tiers are its queues, and the number
    # of tiers is the number of retries before quarantine.
    limits: RoutingLimits = field(default_factory=RoutingLimits)
    # `<secrets_dir>/<partner id>.secret`, mode 0600 (worker.webhook.signing.load_secret).
    secrets_dir: Path
    # Upper bound on one whole POST (connect, TLS, send, answer), seconds.
    timeout: float = 10.0
    # Extra CA certificates (PEM) trusted besides the system's, for partners
    # behind a private CA. Verification itself is never turned off.
    ca_file: Path | None = None
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    # How often the directory is re-read, seconds (as the router's).
    directory_refresh: float = 60.0
    # FOR TESTS ONLY (HAVEN_WEBHOOK_ALLOW_PRIVATE=1): let POSTs reach
    # loopback, private, link-local and unique-local addresses, so the test
    # suite's HTTPS server on 127.0.0.1 can play a partner. Off, a webhook
    # whose host resolves to one of them is refused as unreachable
    # (worker.webhook.address): in production, on, it would let a partner's
    # DNS point Haven's deliverer at the broker or a metadata service.
    allow_private: bool = False
    # Seals the routing state it writes (a redelivery), as the router does.
    router_keys: RouterKeys

    def __post_init__(self) -> None:
        # A POST holds the partner's one in-flight request and the thread's
        # broker connection: it must end well within a broker heartbeat round.
        if not 1 <= self.timeout <= 60:
            raise SettingsError("HAVEN_WEBHOOK_TIMEOUT must be between 1 and 60 seconds")
        if not 1 <= self.directory_refresh <= 86_400:
            raise SettingsError("HAVEN_DIRECTORY_REFRESH must be between 1 and 86400 seconds")

    def username(self) -> str:
        """This deliverer's broker user: the user_id its declines carry."""
        username = self.broker.username
        if not username:
            raise SettingsError("HAVEN_AMQP_URL must name a broker user")
        return username

    def secret_file(self, partner_id: str) -> Path:
        partner_queue(partner_id)  # the directory's id rule: no slash, no dot, no escape
        return self.secrets_dir / f"{partner_id}.secret"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookSettings:
        secrets_dir = environ.get("HAVEN_WEBHOOK_SECRETS_DIR")
        if not secrets_dir:
            raise SettingsError("HAVEN_WEBHOOK_SECRETS_DIR must name the directory of secret files")
        ca_file = environ.get("HAVEN_WEBHOOK_CA_FILE")
        allow_private = environ.get("HAVEN_WEBHOOK_ALLOW_PRIVATE", "")
        # Exactly 1 or 0: a typo must not turn the address check off, nor
        # leave a test run wondering why its local server is never reached.
        if allow_private not in ("", "0", "1"):
            raise SettingsError("HAVEN_WEBHOOK_ALLOW_PRIVATE must be 1 (tests only) or 0")
        return cls(
            broker=BrokerSettings.from_env(environ),
            limits=RoutingLimits.from_env(environ),
            secrets_dir=Path(secrets_dir),
            timeout=float(env_number(environ, "HAVEN_WEBHOOK_TIMEOUT", cls.timeout, float)),
            ca_file=Path(ca_file) if ca_file else None,
            directory_refresh=float(
                env_number(environ, "HAVEN_DIRECTORY_REFRESH", cls.directory_refresh, float)
            ),
            allow_private=allow_private == "1",
            router_keys=RouterKeys.from_env(environ),
        )
