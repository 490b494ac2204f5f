"""Webhook delivery against the real broker, a real router and a real local HTTPS server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pika
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import QUARANTINE_QUEUE, BrokerSettings
from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import BackoffPolicy
from haven.broker.topology import UNASSIGNED_QUEUE, partner_queue
from haven.cli.main import main as haven_main
from haven.directory import empty_directory, sign_directory, with_partner
from haven.envelope import NetworkKey, PrivateKey
from schemas.directory import Directory
from tests.worker.conftest import (
    NOW,
    ROUTER_KEYS,
    RunningRouter,
    depth,
    partner_entry,
    router_key_file,
    router_settings,
    running_router,
    sealed,
    take_all,
    wait_until,
)
from worker.webhook import (
    Answer,
    Target,
    WebhookMetrics,
    WebhookSettings,
    classify,
    run_deliverer,
    tls_context,
)
from worker.webhook.address import AddressPolicy, Resolver, refusal, system_resolver
from worker.webhook.client import post
from worker.webhook.signing import (
    SecretError,
    VerificationError,
    load_secret,
    new_secret,
    parse_secret,
    sign,
    verify,
)

HOOK = "hook"
BACKUP = "backup"
# The path and query of a partner's URL may hold its token: never logged.
PATH = "/inbox/tok-7f3a9c1e2b"
QUERY = "key=q-41d8cd98f00b"
CATEGORY = "desertion"
# In the test certificate, resolvable only through a resolver seam.
PINNED_HOST = "hook.invalid"

# -- a real HTTPS server ------------------------------------------------------


@pytest.fixture(autouse=True)
def only_loopback_is_ever_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here sends a packet off this machine, even with the address check broken.

    The tests name internal and public addresses on purpose; were the
    deliverer's check to regress, it must fail here, not reach them.
    """
    real = socket.create_connection

    def loopback_only(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"test guard: {host} is not loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate it signed for 127.0.0.1, localhost and hook.invalid.

    `hook.invalid` resolves nowhere (RFC 6761): only a resolver seam maps
    it, so a POST that reaches the server through it went to the address
    the seam gave, never to a second lookup.
    """
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "haven test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName(PINNED_HOST),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


HANG = "hang"  # accept the request, then say nothing
DRIP = "drip"  # a status line, then one header byte at a time: no read ever times out


@dataclass
class Webhook:
    """A partner's webhook: records every POST, answers from a script (then `default`).

    It holds the secret shared with Haven; Haven's copy is `secrets_dir/hook.secret`.
    """

    secret: str
    secrets_dir: Path
    ca_file: Path
    url: str = ""
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    script: deque[int | str] = field(default_factory=deque)
    default: int | str = 200
    release: threading.Event = field(default_factory=threading.Event)
    # When a dripping answer found its connection closed by the deliverer.
    hangups: list[float] = field(default_factory=list)


@pytest.fixture
def webhook(tls_files: tuple[Path, Path, Path], tmp_path: Path) -> Iterator[Webhook]:
    ca_file, cert_file, key_file = tls_files
    secret = new_secret()
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    path = folder / f"{HOOK}.secret"
    path.write_text(secret + "\n", encoding="ascii")
    path.chmod(0o600)
    hook = Webhook(secret, folder, ca_file)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                hook.hits.append(
                    Hit(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                answer = hook.script.popleft() if hook.script else hook.default
            if answer == HANG:
                # Say nothing until the test ends: only the deliverer's timeout helps.
                hook.release.wait(30)
                return
            if answer == DRIP:
                # Each byte comes before a socket timeout would fire: only a
                # deadline on the whole POST ends this.
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while not hook.release.wait(0.2):
                        self.wfile.write(b"z")
                        self.wfile.flush()
                except OSError:
                    hook.hangups.append(time.monotonic())
                return
            assert isinstance(answer, int)
            self.send_response(answer)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    hook.port = server.server_address[1]
    hook.url = f"https://127.0.0.1:{hook.port}{PATH}?{QUERY}"
    thread = threading.Thread(target=server.serve_forever, name="webhook-server", daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()


# -- the deliverer in a thread -------------------------------------------------


@contextmanager
def running_deliverer(settings: WebhookSettings, directory: Directory) -> Iterator[WebhookMetrics]:
    stop, consuming = threading.Event(), threading.Event()
    metrics = WebhookMetrics()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_deliverer(
                settings, lambda: directory, stop, metrics=metrics, on_consuming=consuming.set
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=target, name="deliverer", daemon=True)
    thread.start()
    assert consuming.wait(15), f"deliverer never started consuming: {errors}"
    try:
        yield metrics
    finally:
        stop.set()
        thread.join(20)
        assert not thread.is_alive(), "deliverer did not stop"
        assert errors == []


@dataclass(frozen=True)
class Scene:
    """One test's world: its vhost, a webhook server, the partner's secret, a channel to look."""

    broker_url: str
    webhook: Webhook
    channel: BlockingChannel
    publish: Callable[[bytes], str]
    partner_keys: dict[str, PrivateKey]

    @property
    def secret(self) -> str:
        return self.webhook.secret

    def directory(self, *, backup: bool = False, url: str | None = None) -> Directory:
        """`hook` (a webhook, Russian) and optionally `backup` (a queue, English only).

        The router prefers partners who speak the request's language, so
        `hook` is always chosen first and `backup` only after hook declines.
        """
        hook = {"kind": "webhook", "url": url or self.webhook.url}
        d = empty_directory("haven-test", now=NOW)
        d = with_partner(d, partner_entry(HOOK, self.partner_keys["alpha"], delivery=hook), now=NOW)
        if backup:
            backup_entry = partner_entry(BACKUP, self.partner_keys["bravo"], languages=["en"])
            d = with_partner(d, backup_entry, now=NOW)
        return d

    def settings(self, *, timeout: float = 2.0, allow_private: bool = True) -> WebhookSettings:
        return WebhookSettings(
            broker=BrokerSettings(urls=(self.broker_url,), publish_timeout=3.0),
            # The router's limits (router_settings): the tiers are its queues.
            limits=RoutingLimits(retry_delays=(1, 1)),
            secrets_dir=self.webhook.secrets_dir,
            timeout=timeout,
            ca_file=self.webhook.ca_file,
            backoff=BackoffPolicy(initial=0.2, maximum=1.0),
            # The test server listens on 127.0.0.1.
            allow_private=allow_private,
            router_keys=ROUTER_KEYS,
        )

    def deliver_until(
        self, directory: Directory, settings: WebhookSettings, queue: str, *, settle: float = 0.0
    ) -> tuple[RunningRouter, WebhookMetrics, bytes, str]:
        """One sealed request through a router and a deliverer, until `queue` holds it.

        `settle`: seconds more with both running, to see nothing else happen.
        Returns the router, the deliverer's metrics, the envelope and its id.
        """
        envelope = sealed(directory)
        with (
            running_router(router_settings(self.broker_url), directory) as router,
            running_deliverer(settings, directory) as metrics,
        ):
            message_id = self.publish(envelope)
            wait_until(lambda: depth(self.channel, queue) == 1, timeout=30, what=queue)
            time.sleep(settle)
        return router, metrics, envelope, message_id


@pytest.fixture
def scene(
    fresh_broker_url: str,
    webhook: Webhook,
    partner_keys: dict[str, PrivateKey],
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> Scene:
    return Scene(fresh_broker_url, webhook, channel, publish, partner_keys)


def quarantined(channel: BlockingChannel) -> list[Any]:
    return take_all(channel, QUARANTINE_QUEUE)


def assert_handed_to_backup(
    scene: Scene, router: RunningRouter, envelope: bytes, message_id: str, reason: str
) -> pika.BasicProperties:
    """hook gave the request back with `reason`; the router gave it to backup, and to no one else."""
    ((properties, body),) = take_all(scene.channel, partner_queue(BACKUP))
    assert body == envelope and properties.message_id == message_id
    assert properties.headers["x-haven-tried"] == f"{HOOK},{BACKUP}"
    assert router.metrics.value("declined", category=CATEGORY, partner=HOOK, reason=reason) == 1
    assert router.metrics.value("rerouted", category=CATEGORY, partner=BACKUP) == 1
    assert depth(scene.channel, partner_queue(HOOK)) == 0
    assert quarantined(scene.channel) == []
    return properties


# -- through the broker ----------------------------------------------------------


@pytest.mark.broker
def test_request_reaches_the_webhook_as_a_signed_byte_identical_post_and_is_acked(
    scene: Scene,
) -> None:
    directory = scene.directory()
    envelope = sealed(directory)
    settings = scene.settings()
    with (
        running_router(router_settings(scene.broker_url), directory),
        running_deliverer(settings, directory) as metrics,
    ):
        message_id = scene.publish(envelope)
        wait_until(lambda: metrics.value(HOOK, "accepted") == 1, what="webhook accepted")
    (hit,) = scene.webhook.hits
    assert hit.body == envelope
    assert hit.path == f"{PATH}?{QUERY}"
    assert hit.headers["content-type"] == "application/octet-stream"
    assert hit.headers["webhook-id"] == message_id
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 30
    assert verify(scene.secret, hit.headers, hit.body, now=int(time.time())) == message_id
    # Acked: with the deliverer's connection closed, nothing came back to the queue.
    assert depth(scene.channel, partner_queue(HOOK)) == 0
    assert quarantined(scene.channel) == []


@pytest.mark.broker
def test_a_webhook_down_for_every_tier_passes_the_request_to_the_next_partner(
    scene: Scene,
) -> None:
    scene.webhook.default = 500
    settings = scene.settings()
    # settle: nothing more is tried at hook once it is handed on.
    router, metrics, envelope, message_id = scene.deliver_until(
        scene.directory(backup=True), settings, partner_queue(BACKUP), settle=1.5
    )
    # One first attempt and one per retry tier.
    assert len(scene.webhook.hits) == 1 + len(settings.limits.retry_delays)
    for hit in scene.webhook.hits:
        assert hit.body == envelope and hit.headers["webhook-id"] == message_id
        verify(scene.secret, hit.headers, hit.body, now=int(time.time()))
    # Each retry waited out its tier (1 s) before the next POST.
    gaps = [b.at - a.at for a, b in zip(scene.webhook.hits, scene.webhook.hits[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    properties = assert_handed_to_backup(scene, router, envelope, message_id, "webhook-failed")
    # A fresh assignment: the failed attempts at hook do not follow it.
    assert "x-haven-attempts" not in properties.headers
    assert metrics.value(HOOK, "retried") == 2
    assert metrics.value(HOOK, "passed-on") == 1
    assert metrics.failed(HOOK, "status") == 3


@pytest.mark.broker
def test_a_webhook_down_with_no_partner_left_is_quarantined_with_its_reason(
    scene: Scene,
) -> None:
    scene.webhook.default = 500
    settings = scene.settings()
    router, metrics, envelope, message_id = scene.deliver_until(
        scene.directory(), settings, QUARANTINE_QUEUE, settle=1.5
    )
    assert len(scene.webhook.hits) == 1 + len(settings.limits.retry_delays)
    ((properties, body),) = quarantined(scene.channel)
    assert body == envelope
    assert properties.message_id == message_id
    assert properties.delivery_mode == 2
    assert properties.headers["x-haven-reason"] == "webhook-failed"
    assert properties.headers["x-haven-partner"] == HOOK
    assert properties.headers["x-haven-attempts"] == len(settings.limits.retry_delays)
    assert metrics.value(HOOK, "retried") == 2
    assert metrics.value(HOOK, "passed-on") == 1
    assert metrics.value(HOOK, "accepted") == 0
    assert router.metrics.value("redelivered", category=CATEGORY, partner=HOOK) == 2
    assert router.metrics.value("unassigned", category=CATEGORY) == 0
    assert depth(scene.channel, partner_queue(HOOK)) == 0
    assert depth(scene.channel, UNASSIGNED_QUEUE) == 0


@pytest.mark.broker
def test_a_webhook_host_that_resolves_to_loopback_is_refused_then_passed_on(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="worker")
    # `localhost`: the system's own resolver answers 127.0.0.1 or ::1, from
    # /etc/hosts; no packet leaves the machine.
    url = f"https://localhost:{scene.webhook.port}{PATH}?{QUERY}"
    settings = scene.settings(allow_private=False)
    router, metrics, envelope, message_id = scene.deliver_until(
        scene.directory(backup=True, url=url), settings, partner_queue(BACKUP)
    )
    # Refused before any connection: the server never saw a byte.
    assert scene.webhook.hits == []
    assert metrics.failed(HOOK, "blocked-address") == 1 + len(settings.limits.retry_delays)
    assert metrics.value(HOOK, "passed-on") == 1
    assert_handed_to_backup(scene, router, envelope, message_id, "webhook-failed")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "webhook host localhost of hook: the host resolves to a loopback address" in text
    assert PATH not in text and QUERY not in text


@pytest.mark.broker
def test_a_404_is_a_decline_and_the_router_gives_the_request_to_the_next_partner(
    scene: Scene,
) -> None:
    scene.webhook.default = 404
    directory = scene.directory(backup=True)
    envelope = sealed(directory)
    settings = scene.settings()
    with (
        running_router(router_settings(scene.broker_url), directory) as router,
        running_deliverer(settings, directory) as metrics,
    ):
        message_id = scene.publish(envelope)
        wait_until(
            lambda: depth(scene.channel, partner_queue(BACKUP)) == 1, what="rerouted to backup"
        )
    assert len(scene.webhook.hits) == 1
    assert metrics.value(HOOK, "declined") == 1
    assert_handed_to_backup(scene, router, envelope, message_id, "webhook-refused")


@pytest.mark.broker
def test_a_429_is_transient_and_the_next_attempt_delivers(scene: Scene) -> None:
    scene.webhook.script.extend([429])
    directory = scene.directory(backup=True)
    envelope = sealed(directory)
    settings = scene.settings()
    with (
        running_router(router_settings(scene.broker_url), directory),
        running_deliverer(settings, directory) as metrics,
    ):
        scene.publish(envelope)
        wait_until(lambda: metrics.value(HOOK, "accepted") == 1, what="accepted after a 429")
    assert len(scene.webhook.hits) == 2
    assert metrics.value(HOOK, "retried") == 1
    assert metrics.value(HOOK, "declined") == 0
    # Still the same partner: a 429 is "later", not "no".
    assert depth(scene.channel, partner_queue(BACKUP)) == 0
    assert depth(scene.channel, partner_queue(HOOK)) == 0
    assert quarantined(scene.channel) == []


@pytest.mark.broker
@pytest.mark.parametrize("stall", [HANG, DRIP])
def test_a_hanging_webhook_is_cut_off_by_the_timeout(scene: Scene, stall: str) -> None:
    scene.webhook.script.extend([stall])
    directory = scene.directory()
    envelope = sealed(directory)
    settings = scene.settings(timeout=1.0)
    with (
        running_router(router_settings(scene.broker_url), directory),
        running_deliverer(settings, directory) as metrics,
    ):
        scene.publish(envelope)
        wait_until(lambda: metrics.value(HOOK, "accepted") == 1, what="accepted after a hang")
        # The hanging handler is still waiting: only the deliverer gave up.
        assert not scene.webhook.release.is_set()
    first, second = scene.webhook.hits
    if stall == DRIP:
        # The deliverer shut the connection at its deadline (1 s), rather
        # than leave a POST thread reading a byte at a time for ever.
        (hangup,) = scene.webhook.hangups
        assert hangup - first.at < 2.0
    # Cut at 1 s, then tier 1 (1 s) and the router's hop: far below the 30 s hang.
    assert 1.5 < second.at - first.at < 6
    assert metrics.value(HOOK, "retried") == 1
    histogram = metrics.registry.get_sample_value(
        "haven_webhook_post_seconds_count", {"partner": HOOK}
    )
    assert histogram == 2
    assert depth(scene.channel, partner_queue(HOOK)) == 0


OWN_PACKAGES = ("haven", "intake", "worker", "schemas")


@pytest.mark.broker
def test_logs_hold_no_envelope_bytes_no_url_path_and_no_secret(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger of Haven's own packages: the delivery logs as worker.webhook.
    for package in OWN_PACKAGES:
        caplog.set_level(logging.DEBUG, logger=package)
    # Every path: a failure, a timeout, a decline, and a delivery of a second request.
    scene.webhook.script.extend([500, HANG, 404, 200])
    directory = scene.directory(backup=True)
    envelopes = [sealed(directory, content=b"first"), sealed(directory, content=b"second")]
    settings = scene.settings(timeout=1.0)
    with (
        running_router(router_settings(scene.broker_url), directory),
        running_deliverer(settings, directory) as metrics,
    ):
        scene.publish(envelopes[0])
        wait_until(lambda: depth(scene.channel, partner_queue(BACKUP)) == 1, what="first declined")
        scene.publish(envelopes[1])
        wait_until(lambda: metrics.value(HOOK, "accepted") == 1, what="second delivered")
    records = [r for r in caplog.records if r.name.split(".")[0] in OWN_PACKAGES]
    assert any("webhook" in r.getMessage() for r in records), "the scenario logged nothing"
    text = "\n".join(r.getMessage() + str(r.exc_text or "") for r in records)
    key = parse_secret(scene.secret)
    forbidden = [
        "/inbox",
        "tok-7f3a9c1e2b",
        QUERY,
        scene.secret,
        scene.secret.removeprefix("whsec_")[:16],
        key.hex()[:16],
        "ru-central",
    ]
    for envelope in envelopes:
        forbidden += [
            envelope.hex()[:32],
            base64.b64encode(envelope)[:24].decode(),
            repr(envelope[:16])[2:-1],
        ]
    for needle in forbidden:
        assert needle not in text, f"logs contain {needle!r}"


@pytest.mark.broker
def test_haven_deliver_delivers_and_stops_cleanly_on_sigterm(scene: Scene, tmp_path: Path) -> None:
    directory = scene.directory()
    network_key = NetworkKey.generate()
    (tmp_path / "directory.json").write_bytes(sign_directory(directory, network_key))
    (tmp_path / "network.pub").write_text(network_key.verify_key.to_text() + "\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HAVEN_AMQP_URL": scene.broker_url,
        "HAVEN_DIRECTORY_FILE": str(tmp_path / "directory.json"),
        "HAVEN_NETWORK_VERIFY_KEY_FILE": str(tmp_path / "network.pub"),
        "HAVEN_WEBHOOK_SECRETS_DIR": str(scene.webhook.secrets_dir),
        "HAVEN_WEBHOOK_CA_FILE": str(scene.webhook.ca_file),
        "HAVEN_RETRY_DELAYS": "1,1",
        "HAVEN_WEBHOOK_ALLOW_PRIVATE": "1",
        **router_key_file(tmp_path),
    }
    with running_router(router_settings(scene.broker_url), directory):
        deliverer = subprocess.Popen(
            [sys.executable, "-m", "haven.cli.main", "deliver"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            message_id = scene.publish(sealed(directory))
            wait_until(lambda: len(scene.webhook.hits) == 1, timeout=20, what="the POST")
            wait_until(lambda: depth(scene.channel, partner_queue(HOOK)) == 0, what="acked")
            deliverer.send_signal(signal.SIGTERM)
            _, logs = deliverer.communicate(timeout=20)
        finally:
            if deliverer.poll() is None:
                deliverer.kill()
                deliverer.communicate()
    assert deliverer.returncode == 0, logs
    assert f"request {message_id}: delivered to {HOOK} (200)" in logs
    assert "deliverer stopped" in logs
    assert PATH not in logs and QUERY not in logs and scene.secret not in logs
    assert depth(scene.channel, partner_queue(HOOK)) == 0


# -- where a POST may connect (no broker; a resolver seam, nothing leaves the machine) ---


def post_to(
    hook: Webhook, host: str, resolver: Resolver, *, allow_private: bool, timeout: float = 3.0
) -> Answer:
    """One POST to `https://<host>:<the test server's port>/...`, resolved by `resolver`."""
    return post(
        Target.from_url(f"https://{host}:{hook.port}{PATH}?{QUERY}"),
        b"sealed",
        {"content-type": "application/octet-stream"},
        context=tls_context(hook.ca_file),
        timeout=timeout,
        policy=AddressPolicy(allow_private=allow_private, resolver=resolver),
        thread_name="test-post",
        while_waiting=lambda: None,
    )


def answering(*addresses: str) -> tuple[Resolver, list[str]]:
    """A resolver that gives `addresses` for PINNED_HOST, and the hosts it was asked for."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        assert host == PINNED_HOST
        return list(addresses)

    return resolve, asked


# Every kind of address a webhook must never reach without the allow
# setting. None is routed anywhere: each is refused before a socket exists.
INTERNAL = [
    ["127.0.0.1"],
    ["127.8.9.10"],
    ["10.1.2.3"],
    ["172.16.0.1"],
    ["192.168.1.1"],
    ["169.254.169.254"],  # cloud metadata services
    ["100.64.0.1"],  # carrier-grade NAT
    ["0.0.0.0"],  # noqa: S104 - an address refused, not bound
    ["0.1.2.3"],
    ["224.0.0.1"],
    ["::1"],
    ["::"],
    ["fe80::1"],
    ["fd00::1"],
    ["ff02::1"],
    ["ff0e::1"],
    ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
    ["::ffff:10.0.0.1"],
    ["64:ff9b::7f00:1"],  # NAT64 of 127.0.0.1
    ["2002:7f00:1::1"],  # 6to4 of 127.0.0.1
    ["2001:0:4136:e378:8000:63bf:80ff:fffe"],  # Teredo with client 127.0.0.1
    ["192.0.2.1"],  # documentation
    # A public address beside an internal one: the host is refused whole.
    ["93.184.215.14", "10.0.0.1"],
]


@pytest.mark.parametrize("addresses", INTERNAL, ids="+".join)
def test_a_host_that_resolves_to_an_internal_address_is_refused_before_connecting(
    webhook: Webhook, addresses: list[str]
) -> None:
    resolver, asked = answering(*addresses)
    answer = post_to(webhook, PINNED_HOST, resolver, allow_private=False)
    assert answer.status is None
    assert answer.failure == "blocked-address"
    assert answer.error == "BlockedAddressError"
    assert answer.detail is not None and answer.detail.startswith("the host resolves to a ")
    # Neither the address nor the URL is in what gets logged.
    assert PATH not in answer.detail and addresses[-1] not in answer.detail
    assert asked == [PINNED_HOST]
    assert webhook.hits == []


UNCONNECTABLE = ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "::ffff:0.0.0.0"]  # noqa: S104


@pytest.mark.parametrize("address", UNCONNECTABLE)
def test_the_allow_setting_never_admits_unspecified_or_multicast(
    webhook: Webhook, address: str
) -> None:
    resolver, _ = answering(address)
    answer = post_to(webhook, PINNED_HOST, resolver, allow_private=True)
    assert answer.failure == "blocked-address"
    assert webhook.hits == []


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2a00:1450::1"],
)
def test_public_addresses_pass_the_policy(address: str) -> None:
    # The policy alone: nothing is connected to.
    assert refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_with_the_allow_setting_the_post_goes_to_the_resolved_address_with_the_host_name(
    webhook: Webhook,
) -> None:
    resolver, asked = answering("127.0.0.1")
    answer = post_to(webhook, PINNED_HOST, resolver, allow_private=True)
    assert answer.status == 200, answer
    # Resolved once, by the seam: the system cannot resolve hook.invalid,
    # so the connection went to the very address that was checked, and TLS
    # verified the certificate for the host name (SNI hook.invalid).
    assert asked == [PINNED_HOST]
    (hit,) = webhook.hits
    assert hit.headers["host"] == f"{PINNED_HOST}:{webhook.port}"
    assert hit.path == f"{PATH}?{QUERY}"


def test_the_certificate_is_still_checked_for_the_host_name_not_the_address(
    webhook: Webhook,
) -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    # The server's certificate does not name other.invalid: refused in TLS.
    answer = post_to(webhook, "other.invalid", resolve, allow_private=True)
    assert answer.status is None and answer.failure == "tls", answer
    assert webhook.hits == []


def test_a_host_name_that_cannot_be_resolved_is_a_connection_failure(webhook: Webhook) -> None:
    # The system resolver, for a name IDNA refuses (a 64-character label):
    # no lookup leaves the machine, and the POST reports it, never raises.
    answer = post_to(webhook, "a" * 64 + ".invalid", system_resolver, allow_private=False)
    assert answer.status is None and answer.failure == "connection", answer
    assert webhook.hits == []


def test_a_resolver_answer_that_is_not_an_address_is_refused(webhook: Webhook) -> None:
    resolver, _ = answering("not-an-address")
    answer = post_to(webhook, PINNED_HOST, resolver, allow_private=True)
    assert answer.failure == "blocked-address"
    assert webhook.hits == []


# -- signatures, secrets, verdicts (no broker) ------------------------------------------


def test_sign_matches_the_standard_webhooks_published_vector() -> None:
    key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_matches_an_independently_computed_hmac() -> None:
    key = bytes(range(40))
    msg_id, timestamp, body = "a" * 64, 1_700_000_000, b"\x00sealed\xffbytes"
    mac = hmac.new(key, b"a" * 64 + b".1700000000." + body, hashlib.sha256).digest()
    assert sign(key, msg_id, timestamp, body) == "v1," + base64.b64encode(mac).decode()


def signed_headers(key: bytes, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Webhook-Id": "b" * 64,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(key, "b" * 64, timestamp, body),
    }


def test_verify_accepts_the_right_signature_and_refuses_every_tampering() -> None:
    secret = new_secret()
    key = parse_secret(secret)
    body, now = b"envelope bytes", 1_700_000_000
    headers = signed_headers(key, body, now)
    assert verify(secret, headers, body, now=now + 10) == "b" * 64
    assert verify(key, headers, body, now=now - 10) == "b" * 64
    with pytest.raises(VerificationError, match="no valid signature"):
        verify(new_secret(), headers, body, now=now)
    with pytest.raises(VerificationError, match="no valid signature"):
        verify(secret, headers, body + b"!", now=now)
    with pytest.raises(VerificationError, match="no valid signature"):
        verify(secret, {**headers, "Webhook-Id": "c" * 64}, body, now=now)
    with pytest.raises(VerificationError, match="too old"):
        verify(secret, headers, body, now=now + 301)
    with pytest.raises(VerificationError, match="future"):
        verify(secret, headers, body, now=now - 301)
    # A replay with a fresh timestamp but the old signature fails too.
    with pytest.raises(VerificationError, match="no valid signature"):
        verify(secret, {**headers, "Webhook-Timestamp": str(now + 100)}, body, now=now + 100)
    with pytest.raises(VerificationError, match="missing"):
        verify(secret, {"webhook-id": "b" * 64}, body, now=now)
    with pytest.raises(VerificationError, match="no valid signature"):
        verify(
            secret,
            {**headers, "Webhook-Signature": "v2," + headers["Webhook-Signature"][3:]},
            body,
            now=now,
        )


def test_verify_accepts_any_one_of_several_signatures_for_key_rotation() -> None:
    old, new = new_secret(), new_secret()
    body, now = b"x", 1_700_000_000
    both = f"{sign(parse_secret(old), 'b' * 64, now, body)} {sign(parse_secret(new), 'b' * 64, now, body)}"
    headers = {**signed_headers(parse_secret(old), body, now), "Webhook-Signature": both}
    assert verify(old, headers, body, now=now)
    assert verify(new, headers, body, now=now)
    with pytest.raises(VerificationError):
        verify(new_secret(), headers, body, now=now)


def test_secrets_are_random_whsec_base64_of_32_bytes() -> None:
    one, two = new_secret(), new_secret()
    assert one != two and one.startswith("whsec_")
    assert len(parse_secret(one)) == 32
    for bad in (
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + base64.b64encode(b"k" * 23).decode(),
        "whsec_!!",
    ):
        with pytest.raises(SecretError):
            parse_secret(bad)


def test_load_secret_refuses_a_file_others_can_read_and_never_quotes_the_secret(
    tmp_path: Path,
) -> None:
    secret = new_secret()
    path = tmp_path / "p.secret"
    path.write_text(secret + "\n")
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600") as refused:
        load_secret(path)
    assert secret[6:] not in str(refused.value)
    path.chmod(0o600)
    assert load_secret(path) == (parse_secret(secret),)
    # A broken line is named by number, never shown.
    broken = "whsec_" + "A" * 10 + "%%%" + secret[19:]
    path.write_text(f"{secret}\n{broken}\n")
    with pytest.raises(SecretError, match="secret 2") as bad:
        load_secret(path)
    assert "AAAAAAAAAA" not in str(bad.value) and secret[6:] not in str(bad.value)


def test_webhook_secret_command_writes_a_private_loadable_secret(tmp_path: Path) -> None:
    out = tmp_path / "partner.secret"
    assert haven_main(["webhook-secret", "--out", str(out)]) == 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    (key,) = load_secret(out)
    assert len(key) == 32
    # Not replaced without --force.
    assert haven_main(["webhook-secret", "--out", str(out)]) == 1


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "accepted"),
        (204, "accepted"),
        (404, "declined"),
        (401, "declined"),
        (410, "declined"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (301, "transient"),
        (307, "transient"),
        (None, "transient"),
    ],
)
def test_answers_are_classified(status: int | None, verdict: str) -> None:
    assert classify(status) == verdict
