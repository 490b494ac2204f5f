"""`haven-worker`: run one router until SIGTERM.

Configuration comes from the environment only (12-factor, and nothing
secret on the command line):

    HAVEN_AMQP_URL           broker (see haven.broker.settings)
    HAVEN_DIRECTORY_FILE     the signed partner directory (JSON document)
    HAVEN_NETWORK_VERIFY_KEY_FILE  the pinned network verify key file
    HAVEN_DIRECTORY_STATE    optional: where the last accepted version is kept (rollback guard)
    HAVEN_METRICS_PORT       optional: serve Prometheus metrics on HAVEN_METRICS_BIND:PORT
    HAVEN_METRICS_BIND       optional: the metrics address, an IP literal (default 127.0.0.1;
                             the compose stack sets 0.0.0.0 on its internal network only)
    HAVEN_ROUTER_*, HAVEN_RETRY_DELAYS, HAVEN_PARTNER_*  (worker.settings, haven.broker.limits)
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from prometheus_client import start_http_server

from haven.broker import SettingsError
from haven.directory import DirectoryError
from worker.directory import DirectoryFiles
from worker.metrics import RouterMetrics
from worker.run import run_router
from worker.settings import RouterSettings

# Metrics carry partner ids and counts by category: loopback unless the
# operator says otherwise (a container on a network only Prometheus shares).
DEFAULT_METRICS_BIND = "127.0.0.1"


def metrics_bind(environ: Mapping[str, str]) -> str:
    """HAVEN_METRICS_BIND: an IPv4 or IPv6 literal, never a host name to resolve."""
    raw = environ.get("HAVEN_METRICS_BIND") or DEFAULT_METRICS_BIND
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise SettingsError(
            "HAVEN_METRICS_BIND must be an IP address such as 127.0.0.1 or 0.0.0.0"
        ) from None


def service_logging() -> None:
    """Logging for a long-running Haven service (router, webhook delivery)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # pika narrates every connection step at INFO; operators need its warnings only.
    logging.getLogger("pika").setLevel(logging.WARNING)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Only set a flag: the service finishes what is in flight, acks
        # nothing unfinished, and closes its connections on its own threads.
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def main(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    service_logging()
    try:
        settings = RouterSettings.from_env(environ)
        files = DirectoryFiles.from_env(environ)
        port = int(environ.get("HAVEN_METRICS_PORT") or 0)
        bind = metrics_bind(environ)
    except (SettingsError, ValueError) as exc:
        print(f"haven-worker: {exc}", file=sys.stderr)
        return 2
    stop = stop_on_signals()
    metrics = RouterMetrics()
    if port:
        start_http_server(port, addr=bind, registry=metrics.registry)
    try:
        run_router(settings, files.load, stop, metrics=metrics)
    except DirectoryError as exc:
        print(f"haven-worker: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
