"""The worker's two processes: the router (`python -m worker.main`, `haven router`) and the
webhook delivery (`haven deliver`), each run until SIGTERM by worker.service.

Configuration comes from the environment only (12-factor, and nothing
secret on the command line), passed in by the caller. Both read:

    HAVEN_AMQP_URL           broker: one URL, or a node's each, comma-separated (haven.broker.settings)
    HAVEN_DIRECTORY_FILE     the signed partner directory (JSON document)
    HAVEN_NETWORK_VERIFY_KEY_FILE  the pinned network verify key file
    HAVEN_DIRECTORY_STATE    optional: where the last accepted version is kept (rollback guard)
    HAVEN_METRICS_PORT       optional: serve Prometheus metrics on HAVEN_METRICS_BIND:PORT
    HAVEN_METRICS_BIND       optional: the metrics address, an IP literal (default 127.0.0.1;
                             the compose stack sets 0.0.0.0 on its internal network only)
    HAVEN_RETRY_DELAYS       the retry tiers (haven.broker.limits); must match between the two
    HAVEN_ROUTER_KEY_FILE    the router key (32 random bytes) both seal routing state with
                             (worker.seal); HAVEN_ROUTER_PREVIOUS_KEY_FILE during a rotation

The router also reads HAVEN_ROUTER_*, HAVEN_PARTNER_*, HAVEN_DECLINES_PER_MINUTE
(worker.settings, haven.broker.limits), and the store where every router
records the assignments it used up (worker.consumed):

    HAVEN_STORE_URL            postgresql://… or sqlite:///path (haven.store.settings)
    HAVEN_STORE_PASSWORD_FILE  optional: the database password

The webhook delivery only seals assignments, it never consumes one, so it
needs no store. It also reads:

    HAVEN_AMQP_URL's user      the one the router must trust for declines
                               (the router's HAVEN_SERVICE_USERS)
    HAVEN_WEBHOOK_SECRETS_DIR  `<partner id>.secret` files, mode 0600
    HAVEN_WEBHOOK_TIMEOUT      seconds for one whole POST (default 10)
    HAVEN_WEBHOOK_CA_FILE      optional: extra CA certificates (PEM) for private CAs
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Mapping

from haven.store import Store, StoreConsumedAssignments
from worker.directory import DirectoryLoader
from worker.metrics import RouterMetrics
from worker.run import run_router
from worker.service import run_service
from worker.settings import RouterSettings
from worker.store_record import MigratingRecord, migrate_or_warn
from worker.webhook import WebhookMetrics, WebhookSettings, run_deliverer

# Connections a router keeps open to the store (haven.store.settings).
ROUTER_STORE_POOL = 2


def main(environ: Mapping[str, str]) -> int:
    """Run one router until SIGTERM; the exit code."""
    metrics = RouterMetrics()

    def serve(settings: RouterSettings, load: DirectoryLoader, stop: threading.Event) -> None:
        assert settings.store is not None  # noqa: S101 - RouterSettings.from_env requires it
        # The router never forks: it keeps a couple of connections open
        # (haven.store.db), one consumer thread uses one at a time.
        store = Store(dataclasses.replace(settings.store, pool_size=ROUTER_STORE_POOL))
        try:
            consumed = MigratingRecord(
                store,
                StoreConsumedAssignments(
                    store, retention=settings.consumed_retention, clock=time.time
                ),
                migrated=migrate_or_warn(store),
                clock=time.monotonic,
            )
            run_router(settings, load, stop, metrics=metrics, consumed=consumed)
        finally:
            store.close()

    return run_service("haven-worker", environ, RouterSettings.from_env, serve, metrics.registry)


def deliver_main(environ: Mapping[str, str]) -> int:
    """Run the webhook delivery until SIGTERM; the exit code."""
    metrics = WebhookMetrics()

    def serve(settings: WebhookSettings, load: DirectoryLoader, stop: threading.Event) -> None:
        # Each partner's thread finishes its in-flight delivery, acks nothing
        # unfinished, and closes its own connection.
        run_deliverer(settings, load, stop, metrics=metrics)

    return run_service("haven deliver", environ, WebhookSettings.from_env, serve, metrics.registry)


if __name__ == "__main__":
    # The process boundary: the only place the router reads os.environ.
    raise SystemExit(main(os.environ))
