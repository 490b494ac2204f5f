"""Worker fixtures: real partner keys, a directory, sealed requests, and a router in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import BrokerSettings, ConfirmedPublisher
from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import BackoffPolicy
from haven.directory import empty_directory, key_entry, recipient_keys, with_partner
from haven.envelope import Labels, PrivateKey, digest, seal
from haven.replies import signing_public_key
from schemas.directory import Directory
from worker import RouterMetrics, RouterSettings, run_router
from worker.budget import DeclineBudget
from worker.choice import Uniform, stable_uniform
from worker.consumed import ConsumedAssignments
from worker.seal import RouterKey, RouterKeys

NOW = datetime.now(UTC)
# The test run's router key: every router and deliverer of a test seals with
# it, in threads and subprocesses alike (router_key_file).
ROUTER_KEYS = RouterKeys(RouterKey.generate())
CONTENT = b'{"demo": "a request that only a partner can read"}'


def partner_entry(partner_id: str, key: PrivateKey, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": partner_id,
        "display_name": f"Partner {partner_id}",
        "categories": ["desertion", "legal_aid"],
        "regions": ["ru-central"],
        "languages": ["ru"],
        "capacity": 10,
        "delivery": {"kind": "queue"},
        "keys": [key_entry(key.public_key, signing_public_key(key))],
        "response_deadline": {"normal": 72 * 3600, "urgent": 6 * 3600},
    }
    entry.update(overrides)
    return entry


@pytest.fixture(scope="session")
def partner_keys() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("alpha", "bravo", "charlie", "delta")}


@pytest.fixture(scope="session")
def directory(partner_keys: dict[str, PrivateKey]) -> Directory:
    """alpha and bravo speak Russian, charlie only English; delta serves asylum only."""
    d = empty_directory("haven-test", now=NOW)
    d = with_partner(d, partner_entry("alpha", partner_keys["alpha"], capacity=10), now=NOW)
    d = with_partner(d, partner_entry("bravo", partner_keys["bravo"], capacity=30), now=NOW)
    d = with_partner(
        d, partner_entry("charlie", partner_keys["charlie"], languages=["en"]), now=NOW
    )
    return with_partner(
        d, partner_entry("delta", partner_keys["delta"], categories=["asylum"]), now=NOW
    )


def sealed(
    directory: Directory,
    *,
    category: str = "desertion",
    urgency: str = "normal",
    content: bytes = CONTENT,
) -> bytes:
    """A real envelope, sealed to every partner eligible for it (as a requester's device does)."""
    return seal(
        content,
        Labels(category, "ru-central", "ru", urgency),
        recipient_keys(directory, category, "ru-central"),
    )


def router_settings(url: str, **overrides: Any) -> RouterSettings:
    values: dict[str, Any] = {
        "broker": BrokerSettings(urls=(url,), publish_timeout=3.0),
        "limits": RoutingLimits(retry_delays=(1, 1)),
        "prefetch": 20,
        "shutdown_timeout": 5.0,
        "backoff": BackoffPolicy(initial=0.2, maximum=1.0),
        "keys": ROUTER_KEYS,
    }
    values.update(overrides)
    return RouterSettings(**values)


def router_key_file(folder: Path) -> dict[str, str]:
    """ROUTER_KEYS written to a file in `folder`: the environment a router subprocess needs."""
    path = folder / "router.key"
    path.write_bytes(ROUTER_KEYS.current.secret)
    path.chmod(0o600)
    return {"HAVEN_ROUTER_KEY_FILE": str(path)}


class RunningRouter:
    def __init__(self, thread: threading.Thread, stop: threading.Event, metrics: RouterMetrics):
        self.thread = thread
        self.stop_event = stop
        self.metrics = metrics
        self.errors: list[BaseException] = []

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "router did not stop"


@contextmanager
def running_router(
    settings: RouterSettings,
    directory: Directory | Callable[[], Directory],
    *,
    uniform: Uniform = stable_uniform,
    budget: DeclineBudget | None = None,
    consumed: ConsumedAssignments | None = None,
) -> Iterator[RunningRouter]:
    """A router in a thread of its own (its own pika connection), stopped on exit."""
    loader = directory if callable(directory) else (lambda: directory)
    stop, consuming = threading.Event(), threading.Event()
    metrics = RouterMetrics()
    holder: list[RunningRouter] = []

    def target() -> None:
        try:
            run_router(
                settings,
                loader,
                stop,
                metrics=metrics,
                uniform=uniform,
                on_consuming=consuming.set,
                budget=budget,
                consumed=consumed,
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            holder[0].errors.append(exc)

    thread = threading.Thread(target=target, name="router", daemon=True)
    running = RunningRouter(thread, stop, metrics)
    holder.append(running)
    thread.start()
    assert consuming.wait(15), f"router never started consuming: {running.errors}"
    try:
        yield running
    finally:
        running.stop()
        assert running.errors == []


@pytest.fixture
def channel(fresh_broker_url: str) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    yield connection.channel()
    connection.close()


@pytest.fixture
def publish(fresh_broker_url: str) -> Iterator[Callable[[bytes], str]]:
    """Publish like the intake does (confirmed, id = digest); return the id."""
    publisher = ConfirmedPublisher(BrokerSettings(urls=(fresh_broker_url,), publish_timeout=3.0))

    def send(envelope: bytes) -> str:
        message_id = digest(envelope)
        publisher.publish(envelope, message_id=message_id)
        return message_id

    yield send
    publisher.close()


def depth(channel: BlockingChannel, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def take_all(channel: BlockingChannel, queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    taken = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return taken
        taken.append((properties, body))
