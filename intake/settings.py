"""Intake settings, parsed once from the environment and passed in explicitly."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from haven.broker import BrokerSettings, RoutingLimits, SettingsError
from haven.directory import DirectoryError, read_network_verify_key
from haven.envelope import MAX_ENVELOPE_BYTES, NetworkVerifyKey
from haven.files import read_setting_file
from haven.store import StoreSettings, StoreSettingsError

# The largest body a valid submission can have: the largest envelope in
# base64 plus the routing labels, the challenge, the nonce and some
# whitespace. Anything longer is refused before it is read.
JSON_OVERHEAD_BYTES = 4096
MAX_BODY_BYTES = 4 * -(-MAX_ENVELOPE_BYTES // 3) + JSON_OVERHEAD_BYTES

MIN_POW_SECRET_BYTES = 32
_MAX_SECRET_FILE_BYTES = 4096
# How long a reply mailbox is kept after its last message (docs/replies-v1.md
# section 4.3): long enough for a requester who checks once a week or two,
# short enough that a seized store holds little.
DEFAULT_MAILBOX_RETENTION = 30 * 86_400
_MIN_MAILBOX_RETENTION = 86_400
_MAX_MAILBOX_RETENTION = 365 * 86_400

# A phone over Tor must still solve the hardest challenge in reasonable
# time; 2^32 hashes is far past that, so no setting may ask for more.
MAX_POW_BITS = 32

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class IntakeSettings:
    """What the intake needs to run. Secrets are kept out of repr()."""

    broker: BrokerSettings
    # The deployment's database: single use of no-JavaScript tickets across instances.
    store: StoreSettings
    # The signed partner directory the intake serves; re-read when it changes.
    directory_file: Path
    # Pinned: the intake refuses to serve a directory this key did not sign.
    network_verify_key: NetworkVerifyKey
    # Authenticates challenge tokens; whoever holds it can mint free challenges.
    pow_secret: bytes = field(repr=False)
    pow_min_bits: int = 16
    # What a low-end phone solves in about 10 seconds (docs/intake-api.md,
    # "What honest requesters pay"): a requester is never asked for more.
    pow_max_bits: int = 18
    # One extra bit of difficulty per this many requests waiting anywhere
    # (the intake queue, the partners' queues, unassigned).
    pow_depth_per_bit: int = 1000
    # Acceptances per minute, across the deployment, that cost no extra bit;
    # one bit more per doubling above it (docs/intake-api.md, "Proof of work").
    pow_baseline_per_minute: int = 20
    # The routers' HAVEN_PARTNER_MAX_LENGTH (the same variable, so the two
    # agree): a partner's queue counts into the backlog only above half of
    # it (haven.broker.topology.backlog_queues).
    partner_max_length: int = RoutingLimits.partner_max_length
    challenge_lifetime: int = 300
    # HSTS only when TLS is terminated in front of the intake (never over plain HTTP or onion).
    behind_tls: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    # Where the newest directory version served is recorded, so that after a
    # restart an older (validly signed) directory file is still refused.
    directory_state: Path | None = None
    # Without JavaScript (docs/web-form.md): a form's ticket is accepted only
    # this many seconds after the form was served (a person takes longer, a
    # script posting at once does not) ...
    nojs_ticket_min_age: int = 5
    # ... and no later than this (a ticket is single use, remembered this long).
    nojs_ticket_max_age: int = 3600
    # Server-sealed submissions share one token bucket across the intake:
    # at most this many at once, refilled at this rate (halved per extra
    # bit of proof-of-work difficulty, so it tightens as the queue grows).
    nojs_bucket_size: int = 10
    nojs_refill_per_minute: int = 6
    # This share of the bucket (percent) is kept for tickets at least
    # nojs_patient_age seconds old: a script posting young tickets as fast as
    # it may cannot take the tokens of a person who took a minute to write.
    nojs_reserved_percent: int = 50
    nojs_patient_age: int = 60
    # The operators' listener (/healthz, /readyz, /metrics): never the public
    # one, which answers 404 for them (an onion service cannot filter paths,
    # and the accepted-requests counter by category is a timeline of who
    # asked for which help). HAVEN_OPS_BIND, an IP literal and a port.
    ops_bind: tuple[str, int] = ("127.0.0.1", 8081)
    # The network's signed site manifest (docs/site-integrity.md), served at
    # /v1/site-manifest so partners and watchers can check the code served
    # here against it (`haven check-site`). Unset: 404 there.
    site_manifest_file: Path | None = None
    # Seconds a reply mailbox (and the marker of a deleted one) is kept after
    # its last write; HAVEN_MAILBOX_RETENTION.
    mailbox_retention: int = DEFAULT_MAILBOX_RETENTION

    def __post_init__(self) -> None:
        if len(self.pow_secret) < MIN_POW_SECRET_BYTES:
            raise SettingsError(
                f"HAVEN_POW_SECRET_FILE must hold at least {MIN_POW_SECRET_BYTES} bytes"
            )
        self._check_pow()
        if not 30 <= self.challenge_lifetime <= 3600:
            raise SettingsError("HAVEN_CHALLENGE_LIFETIME must be between 30 and 3600 seconds")
        if not 0 <= self.nojs_ticket_min_age <= 600:
            raise SettingsError("HAVEN_NOJS_TICKET_MIN_AGE must be between 0 and 600 seconds")
        if not self.nojs_ticket_min_age + 60 <= self.nojs_ticket_max_age <= 86400:
            raise SettingsError(
                "HAVEN_NOJS_TICKET_MAX_AGE must be between HAVEN_NOJS_TICKET_MIN_AGE + 60 "
                "and 86400 seconds"
            )
        if not 1 <= self.nojs_bucket_size <= 100_000:
            raise SettingsError("HAVEN_NOJS_BUCKET_SIZE must be between 1 and 100000")
        if not 1 <= self.nojs_refill_per_minute <= 100_000:
            raise SettingsError("HAVEN_NOJS_REFILL_PER_MINUTE must be between 1 and 100000")
        if not 0 <= self.nojs_reserved_percent <= 100:
            raise SettingsError("HAVEN_NOJS_RESERVED_PERCENT must be between 0 and 100")
        if not self.nojs_ticket_min_age <= self.nojs_patient_age < self.nojs_ticket_max_age:
            raise SettingsError(
                "HAVEN_NOJS_PATIENT_AGE must be at least HAVEN_NOJS_TICKET_MIN_AGE "
                "and less than HAVEN_NOJS_TICKET_MAX_AGE"
            )
        if not _MIN_MAILBOX_RETENTION <= self.mailbox_retention <= _MAX_MAILBOX_RETENTION:
            raise SettingsError(
                f"HAVEN_MAILBOX_RETENTION must be between {_MIN_MAILBOX_RETENTION} and "
                f"{_MAX_MAILBOX_RETENTION} seconds (1 to 365 days)"
            )
        if self.max_body_bytes < MAX_BODY_BYTES:
            raise SettingsError(
                f"the body limit must admit the largest envelope ({MAX_BODY_BYTES} bytes)"
            )

    def _check_pow(self) -> None:
        if not 0 <= self.pow_min_bits <= MAX_POW_BITS:
            raise SettingsError(f"HAVEN_POW_MIN_BITS must be between 0 and {MAX_POW_BITS}")
        if self.pow_max_bits < self.pow_min_bits:
            # Most likely an upgrade: the default ceiling fell from 24 to 18,
            # so a floor above 18 with no ceiling set no longer fits under it.
            raise SettingsError(
                f"HAVEN_POW_MAX_BITS ({self.pow_max_bits}; 18 when unset) is below "
                f"HAVEN_POW_MIN_BITS ({self.pow_min_bits}): set HAVEN_POW_MAX_BITS to "
                f"between {self.pow_min_bits} and {MAX_POW_BITS} (docs/operators.md, "
                f'"Upgrade notes")'
            )
        if self.pow_max_bits > MAX_POW_BITS:
            raise SettingsError(
                f"HAVEN_POW_MAX_BITS must be between HAVEN_POW_MIN_BITS and {MAX_POW_BITS}"
            )
        if not 1 <= self.pow_depth_per_bit <= 10_000_000:
            raise SettingsError("HAVEN_POW_DEPTH_PER_BIT must be between 1 and 10000000")
        if not 1 <= self.pow_baseline_per_minute <= 1_000_000:
            raise SettingsError("HAVEN_POW_BASELINE_PER_MINUTE must be between 1 and 1000000")
        if not 1 <= self.partner_max_length <= 10_000_000:
            raise SettingsError("HAVEN_PARTNER_MAX_LENGTH must be between 1 and 10000000")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> IntakeSettings:
        """Parse every HAVEN_* variable the intake reads; errors name the variable."""
        return cls(
            broker=BrokerSettings.from_env(environ),
            store=_store(environ),
            directory_file=_path(environ, "HAVEN_DIRECTORY_FILE"),
            network_verify_key=_verify_key(environ, "HAVEN_NETWORK_VERIFY_KEY_FILE"),
            pow_secret=_read(environ, "HAVEN_POW_SECRET_FILE", _MAX_SECRET_FILE_BYTES),
            pow_min_bits=_integer(environ, "HAVEN_POW_MIN_BITS", cls.pow_min_bits),
            pow_max_bits=_integer(environ, "HAVEN_POW_MAX_BITS", cls.pow_max_bits),
            pow_depth_per_bit=_integer(environ, "HAVEN_POW_DEPTH_PER_BIT", cls.pow_depth_per_bit),
            pow_baseline_per_minute=_integer(
                environ, "HAVEN_POW_BASELINE_PER_MINUTE", cls.pow_baseline_per_minute
            ),
            partner_max_length=_integer(
                environ, "HAVEN_PARTNER_MAX_LENGTH", cls.partner_max_length
            ),
            challenge_lifetime=_integer(
                environ, "HAVEN_CHALLENGE_LIFETIME", cls.challenge_lifetime
            ),
            behind_tls=_boolean(environ, "HAVEN_BEHIND_TLS"),
            directory_state=_optional_path(environ, "HAVEN_DIRECTORY_STATE"),
            nojs_ticket_min_age=_integer(
                environ, "HAVEN_NOJS_TICKET_MIN_AGE", cls.nojs_ticket_min_age
            ),
            nojs_ticket_max_age=_integer(
                environ, "HAVEN_NOJS_TICKET_MAX_AGE", cls.nojs_ticket_max_age
            ),
            nojs_bucket_size=_integer(environ, "HAVEN_NOJS_BUCKET_SIZE", cls.nojs_bucket_size),
            nojs_refill_per_minute=_integer(
                environ, "HAVEN_NOJS_REFILL_PER_MINUTE", cls.nojs_refill_per_minute
            ),
            nojs_reserved_percent=_integer(
                environ, "HAVEN_NOJS_RESERVED_PERCENT", cls.nojs_reserved_percent
            ),
            nojs_patient_age=_integer(environ, "HAVEN_NOJS_PATIENT_AGE", cls.nojs_patient_age),
            ops_bind=_bind(environ, "HAVEN_OPS_BIND", cls.ops_bind),
            site_manifest_file=_optional_path(environ, "HAVEN_SITE_MANIFEST_FILE"),
            mailbox_retention=_integer(environ, "HAVEN_MAILBOX_RETENTION", cls.mailbox_retention),
        )


def _store(environ: Mapping[str, str]) -> StoreSettings:
    try:
        return StoreSettings.from_env(environ)
    except StoreSettingsError as exc:
        raise SettingsError(str(exc)) from None


def _path(environ: Mapping[str, str], name: str) -> Path:
    raw = environ.get(name, "")
    if not raw:
        raise SettingsError(f"{name} is not set")
    return Path(raw)


def _optional_path(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(name, "")
    return Path(raw) if raw else None


def _read(environ: Mapping[str, str], name: str, limit: int) -> bytes:
    return read_setting_file(name, _path(environ, name), limit, error=SettingsError)


def _verify_key(environ: Mapping[str, str], name: str) -> NetworkVerifyKey:
    try:
        return read_network_verify_key(_path(environ, name))
    except DirectoryError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw, 10)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number") from None


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be one of 1, true, yes, on, 0, false, no, off")


def _bind(environ: Mapping[str, str], name: str, default: tuple[str, int]) -> tuple[str, int]:
    """ADDRESS:PORT with an IP literal ([::1]:8081 for IPv6): never a host name to resolve."""
    raw = environ.get(name, "")
    if raw == "":
        return default
    host, _, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        address = ipaddress.ip_address(host)
        number = int(port, 10)
        if not 1 <= number <= 65535:
            raise ValueError(number)
    except ValueError:
        raise SettingsError(
            f"{name} must be an IP address and a port, such as 127.0.0.1:8081"
        ) from None
    return str(address), number
