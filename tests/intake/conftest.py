"""Intake fixtures: real keys, a signed directory on disk, a real broker, a proof-of-work solver.

The broker is the real RabbitMQ of this test run (its own vhost, from
tests/conftest.py); the intake's default difficulty here is 8 bits so a
solution takes a few hundred hashes.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import INTAKE_QUEUE, BrokerSettings, ConfirmedPublisher, declare_topology
from haven.directory import empty_directory, key_entry, sign_directory, with_partner
from haven.envelope import Labels, NetworkKey, PrivateKey, seal
from haven.replies import signing_public_key
from haven.store import Store, StoreSettings, migrate
from intake import IntakeSettings, create_app
from intake.app import ops_app
from intake.guards.pow import CHALLENGE_HEADER
from tests.repo import REPO

ROUTING = {"category": "desertion", "region": "ru-central", "language": "ru", "urgency": "urgent"}
TEST_BITS = 8


class FakeClock:
    """The intake's clock seam: starts at the real time, moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class NetworkFiles:
    network_key: NetworkKey
    partners: dict[str, PrivateKey]
    directory_file: Path
    verify_key_file: Path
    pow_secret_file: Path
    # This run's PostgreSQL database, migrated (tests/conftest.py).
    store_url: str

    def environ(self, broker_url: str, **extra: str) -> dict[str, str]:
        return {
            "HAVEN_AMQP_URL": broker_url,
            "HAVEN_STORE_URL": self.store_url,
            "HAVEN_DIRECTORY_FILE": str(self.directory_file),
            "HAVEN_NETWORK_VERIFY_KEY_FILE": str(self.verify_key_file),
            "HAVEN_POW_SECRET_FILE": str(self.pow_secret_file),
            "HAVEN_POW_MIN_BITS": str(TEST_BITS),
            "HAVEN_POW_MAX_BITS": "12",
            **extra,
        }


def partner_entry(partner_id: str, key: PrivateKey, categories: list[str]) -> dict[str, Any]:
    return {
        "id": partner_id,
        "display_name": f"Partner {partner_id}",
        "categories": categories,
        "regions": ["ru-central", "ua-occupied"],
        "languages": ["ru", "uk"],
        "capacity": 25,
        "delivery": {"kind": "queue"},
        "keys": [key_entry(key.public_key, signing_public_key(key))],
        "response_deadline": {"normal": 72 * 3600, "urgent": 6 * 3600},
    }


def signed_directory(
    network_key: NetworkKey,
    partners: dict[str, PrivateKey],
    *,
    now: datetime | None = None,
    versions: int = 1,
    validity: timedelta = timedelta(days=14),
) -> bytes:
    """A signed directory with every partner (version 3); each of `versions` > 1 adds a later one."""
    now = now or datetime.now(UTC)
    directory = empty_directory("haven-test", now=now, validity=validity)
    categories = [["desertion", "legal_aid"], ["evacuation", "desertion", "asylum"]]
    for (name, key), served in zip(sorted(partners.items()), categories, strict=False):
        directory = with_partner(
            directory, partner_entry(name, key, served), now=now, validity=validity
        )
    for _ in range(versions - 1):
        directory = with_partner(
            directory,
            partner_entry("lawyers", partners["lawyers"], ["legal_aid"]),
            now=now,
            validity=validity,
        )
    return sign_directory(directory, network_key)


@pytest.fixture(scope="session")
def network_key() -> NetworkKey:
    return NetworkKey.generate()


@pytest.fixture(scope="session")
def partners() -> dict[str, PrivateKey]:
    return {"lawyers": PrivateKey.generate(), "evacuators": PrivateKey.generate()}


@pytest.fixture(scope="session")
def intake_store_url(postgres_url: str) -> str:
    """This run's PostgreSQL database with the store's migrations applied once."""
    store = Store(StoreSettings(url=postgres_url))
    migrate(store)
    store.close()
    return postgres_url


@pytest.fixture
def files(
    tmp_path: Path,
    network_key: NetworkKey,
    partners: dict[str, PrivateKey],
    intake_store_url: str,
) -> NetworkFiles:
    directory_file = tmp_path / "directory.json"
    directory_file.write_bytes(signed_directory(network_key, partners))
    verify_key_file = tmp_path / "network.pub"
    verify_key_file.write_text(network_key.verify_key.to_text() + "\n")
    pow_secret_file = tmp_path / "pow.secret"
    pow_secret_file.write_bytes(os.urandom(32))
    return NetworkFiles(
        network_key, partners, directory_file, verify_key_file, pow_secret_file, intake_store_url
    )


@pytest.fixture(scope="session")
def intake_broker_url(broker_url: str) -> str:
    """This run's vhost, with Haven's topology declared once."""
    declare_topology(BrokerSettings(urls=(broker_url,)))
    return broker_url


@pytest.fixture
def make_settings(files: NetworkFiles, intake_broker_url: str) -> Callable[..., IntakeSettings]:
    def make(**overrides: Any) -> IntakeSettings:
        environ = files.environ(intake_broker_url, HAVEN_PUBLISH_TIMEOUT="3")
        settings = IntakeSettings.from_env(environ)
        # A backlog and a rate far beyond any test's: the difficulty stays at
        # its floor unless a test asks otherwise.
        values: dict[str, Any] = {
            "pow_depth_per_bit": 1_000_000,
            "pow_baseline_per_minute": 1_000_000,
            **overrides,
        }
        return dataclasses.replace(settings, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., IntakeSettings]) -> IntakeSettings:
    return make_settings()


@pytest.fixture
def publisher(settings: IntakeSettings) -> Iterator[ConfirmedPublisher]:
    publisher = ConfirmedPublisher(settings.broker)
    yield publisher
    publisher.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(settings: IntakeSettings) -> Iterator[Store]:
    """The intake's handle on this run's store, closed after the test (no pooled connection left)."""
    store = Store(settings.store)
    yield store
    store.close()


@pytest.fixture
def app(
    settings: IntakeSettings, publisher: ConfirmedPublisher, store: Store, clock: FakeClock
) -> Flask:
    return create_app(settings, publisher=publisher, store=store, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def ops_of(client: FlaskClient) -> FlaskClient:
    """A test client of the operators' app beside `client`'s public app (same process state)."""
    return ops_app(client.application).test_client()


@pytest.fixture
def ops_client(client: FlaskClient) -> FlaskClient:
    return ops_of(client)


@pytest.fixture
def channel(intake_broker_url: str) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(intake_broker_url))
    channel = connection.channel()
    drain(channel)
    yield channel
    drain(channel)
    connection.close()


def drain(channel: BlockingChannel) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    """Take every message off the intake queue (acked), in order."""
    taken = []
    while True:
        method, properties, body = channel.basic_get(INTAKE_QUEUE, auto_ack=True)
        if method is None:
            return taken
        taken.append((properties, body))


def sealed(partners: dict[str, PrivateKey], routing: dict[str, str] = ROUTING, **kw: Any) -> bytes:
    """A real envelope (fresh randomness, so every call is a new request)."""
    content = b'{"category": "%s", "note": "sealed on the device"}' % routing["category"].encode()
    recipients = [key.public_key for key in partners.values()]
    return seal(content, Labels(**routing), recipients, **kw)


def work(token: str, envelope: bytes, nonce: str) -> int:
    """Leading zero bits of the proof-of-work hash, written from docs/intake-api.md, not from the intake's code."""
    digest = hashlib.sha256(
        b"haven/v1 pow\x00"
        + base64.urlsafe_b64decode(token)
        + hashlib.sha256(envelope).digest()
        + nonce.encode("ascii")
    ).digest()
    return 256 - int.from_bytes(digest, "big").bit_length()


def solve(token: str, envelope: bytes, difficulty: int) -> str:
    """The first decimal nonce that solves `token` for `envelope`."""
    return next(str(n) for n in itertools.count() if work(token, envelope, str(n)) >= difficulty)


def submission(
    client: FlaskClient, envelope: bytes, routing: dict[str, str] = ROUTING
) -> dict[str, Any]:
    """A complete, valid submission body: a fresh challenge from the intake, solved."""
    challenge = client.get("/v1/challenge").get_json()
    return {
        "routing": dict(routing),
        "envelope": base64.b64encode(envelope).decode(),
        "pow": {
            "challenge": challenge["token"],
            "nonce": solve(challenge["token"], envelope, challenge["difficulty"]),
        },
    }


def paid(body: dict[str, Any]) -> dict[str, str]:
    """The header every client sends with a submission: the body's challenge token (docs/intake-api.md)."""
    return {CHALLENGE_HEADER: body["pow"]["challenge"]}


def post_submission(client: FlaskClient, body: dict[str, Any]) -> Any:
    """POST a submission body as a client does: the challenge in its header, the document as JSON."""
    return client.post("/v1/requests", json=body, headers=paid(body))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_gunicorn(
    files: NetworkFiles, broker_url: str, *, ops_port: int | None = None, **extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real gunicorn, with the package's gunicorn settings (intake.serving.gunicorn_conf), serving the intake.

    The operators' endpoints answer on 127.0.0.1:`ops_port` (a free port
    if None). `extra` adds environment variables (GUNICORN_CMD_ARGS, HAVEN_*). The
    caller reads the process's output after stopping it; this stops it too.
    """
    port = free_port()
    ops = f"http://127.0.0.1:{ops_port or free_port()}"
    environ = {
        **files.environ(broker_url),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HAVEN_POW_DEPTH_PER_BIT": "1000000",
        "HAVEN_POW_BASELINE_PER_MINUTE": "1000000",
        "HAVEN_THREADS": "4",
        "HAVEN_OPS_BIND": ops.removeprefix("http://"),
        **extra,
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "python:intake.serving.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            # http:// to the server this fixture started, never a file: or other scheme
            # The operators' listener starts in the worker, once the app is loaded.
            with urllib.request.urlopen(f"{ops}/healthz", timeout=2) as answer:  # noqa: S310
                assert answer.status == 200
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate()
                pytest.fail(f"gunicorn did not start: {err.decode()}")
            time.sleep(0.1)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
