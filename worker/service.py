"""Running a worker service (the router, the webhook delivery) as a process, until SIGTERM.

The steps both share, in one place: logging, settings parsed once from the
environment passed in, signals that ask for a clean stop, the metrics
endpoint, the directory files, and the exit codes (2: settings, 1: the
directory was refused, 0: stopped cleanly).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import TypeVar

from prometheus_client import CollectorRegistry, start_http_server

from haven.broker import SettingsError
from haven.directory import DirectoryError
from worker.directory import DirectoryFiles, DirectoryLoader

# Metrics carry partner ids and counts by category: loopback unless the
# operator says otherwise (a container on a network only Prometheus shares).
DEFAULT_METRICS_BIND = "127.0.0.1"

SETTINGS_FAILED = 2
DIRECTORY_REFUSED = 1

Settings = TypeVar("Settings")


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


def run_service(
    name: str,
    environ: Mapping[str, str],
    settings_from_env: Callable[[Mapping[str, str]], Settings],
    serve: Callable[[Settings, DirectoryLoader, threading.Event], object],
    registry: CollectorRegistry,
) -> int:
    """Parse the settings, then `serve` until a signal; return the process's exit code.

    `serve` gets the settings, the verified-directory loader and the stop
    event; `registry` holds its metrics, served on HAVEN_METRICS_PORT if set.
    Errors are one line on stderr, prefixed with `name`.
    """
    service_logging()
    try:
        settings = settings_from_env(environ)
        files = DirectoryFiles.from_env(environ)
        port = int(environ.get("HAVEN_METRICS_PORT") or 0)
        bind = metrics_bind(environ)
    except (SettingsError, ValueError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return SETTINGS_FAILED
    stop = stop_on_signals()
    if port:
        start_http_server(port, addr=bind, registry=registry)
    try:
        serve(settings, files.load, stop)
    except SettingsError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return SETTINGS_FAILED
    except DirectoryError as exc:
        # A service never runs on a directory that failed verification.
        print(f"{name}: {exc}", file=sys.stderr)
        return DIRECTORY_REFUSED
    return 0
