"""Haven's own broker users: the intake, the router and the webhook deliverer, each with its own rights only.

The one home of what each service may do on the network's vhost, as
(configure, write, read) regexes (docs/routing.md, "Broker users"):

* `haven-intake` faces the internet, so a compromised intake is the likely
  case: it may publish to the intake exchange and nothing else. No
  configure (it cannot declare, delete or bind; `haven provision` declares
  the topology and the intake only checks it, passively), no read (it
  cannot take, purge or peek at any queue).
* `haven-router` declares the routing topology at start, consumes the
  intake and returned queues, and publishes to the partner, unassigned,
  retry and quarantine exchanges. It may never read a partner's or a retry
  queue, nor touch anything outside Haven's names (no default exchange).
* `haven-deliver` reads the queues of the webhook partners alone and
  publishes to the declines and retry exchanges (a webhook that failed
  every tier goes back to the router as a decline, never straight to
  quarantine); it declares nothing.

Queue and exchange names share one namespace in RabbitMQ's permissions,
and `haven.intake`, `haven.quarantine` and `haven.unassigned` are both: the
regexes below are written with that in mind (the router's read of the
`haven.quarantine` exchange, needed to bind it, also lets it read that
queue).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from haven.broker.settings import SettingsError
from haven.broker.topology import (
    DECLINES_EXCHANGE,
    INTAKE_EXCHANGE,
    RETRY_EXCHANGE,
    partner_queue,
)

ROLES = ("intake", "router", "deliver")
SERVICE_USER_PREFIX = "haven-"
NOTHING = "^$"


def _one_of(names: Iterable[str]) -> str:
    """An anchored regex matching exactly these names (re.escape for the dots)."""
    listed = sorted(set(names))
    if not listed:
        return NOTHING
    return "^(" + "|".join(re.escape(name) for name in listed) + ")$"


# Every name of the routing topology (haven.broker.topology): its exchanges
# and queues, the numbered retry queues and the partners' queues.
_ROUTING_NAMES = (
    r"^haven\.(intake|quarantine|partners|returned|declines|retry|unassigned"
    r"|retry\.[0-9]+|partner\.[a-z0-9-]{3,32})$"
)
# What the router reads: the two queues it consumes, and the exchanges it
# binds queues to (binding needs read on the exchange). Never a partner's
# queue (haven.partner.<id>) nor a retry queue (haven.retry.<n>).
_ROUTER_READS = r"^haven\.(intake|quarantine|partners|returned|declines|retry|unassigned)$"


def service_username(role: str, prefix: str = SERVICE_USER_PREFIX) -> str:
    if role not in ROLES:
        raise SettingsError(f"not a Haven service: {role!r} (one of {', '.join(ROLES)})")
    return prefix + role


def service_permissions(role: str, webhook_partner_ids: Iterable[str]) -> tuple[str, str, str]:
    """(configure, write, read) of a service's user on the network's vhost."""
    if role == "intake":
        return (NOTHING, _one_of([INTAKE_EXCHANGE]), NOTHING)
    if role == "router":
        # Configure and write on its own topology's names: declaring needs
        # configure, binding a queue needs write on it.
        return (_ROUTING_NAMES, _ROUTING_NAMES, _ROUTER_READS)
    if role == "deliver":
        # partner_queue() enforces the id rule: no id can widen the regex.
        queues = [partner_queue(partner_id) for partner_id in webhook_partner_ids]
        return (
            NOTHING,
            _one_of([DECLINES_EXCHANGE, RETRY_EXCHANGE]),
            _one_of(queues),
        )
    raise SettingsError(f"not a Haven service: {role!r} (one of {', '.join(ROLES)})")
