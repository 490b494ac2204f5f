"""A whole small network on the real broker: keys on disk, a signed directory, intake, router.

Partners alpha and bravo both serve desertion requests in ru-central in
Russian (so a decline has somewhere to go); charlie serves asylum only.
Partners pull with the real `haven partner` command, in a subprocess, with
their own key files and passphrase, as they would on their own machines.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from haven.broker import ConfirmedPublisher
from haven.cli.submit_cmd import submit
from haven.directory import (
    accept_directory,
    empty_directory,
    recipient_keys,
    sign_directory,
    with_partner,
)
from haven.envelope import Labels, NetworkKey, PrivateKey, ScryptParams, seal, wrap_private_key
from haven.partner.inbox import Inbox
from haven.replies import access_hash
from haven.store import Store, migrate
from intake import IntakeSettings, create_app
from intake.app import ops_app
from schemas.directory import Directory
from tests.conftest import management_env
from tests.repo import REPO
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, make_team, open_inbox
from tests.worker.conftest import (  # noqa: F401 - fixtures and helpers shared with the router's tests
    channel,
    depth,
    partner_entry,
    router_key_file,
    router_settings,
    running_router,
    take_all,
    wait_until,
)
from worker import RouterSettings
from worker.run import declare_routing

EXAMPLE = (REPO / "haven" / "examples" / "desertion.json").read_bytes()
PASSPHRASE = "test-only passphrase for partner keys"
# Cheap scrypt for test keys only: the cost of real keys is in the CLI's keygen.
TEST_SCRYPT = ScryptParams(log2_n=10, r=8, p=1)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Network:
    root: Path
    broker_url: str
    network_key: NetworkKey
    keys: dict[str, PrivateKey]
    directory: Directory
    directory_file: Path
    verify_key_file: Path
    intake_url: str = ""
    # The operators' listener (/healthz, /readyz, /metrics) of the same intake.
    ops_url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def key_file(self, partner: str) -> Path:
        return self.root / f"{partner}.key"

    def inbox(self, partner: str) -> Path:
        return self.root / "inbox" / partner

    def seal(self, content: bytes = EXAMPLE, *, urgency: str = "normal") -> bytes:
        return seal(
            content,
            Labels("desertion", "ru-central", "ru", urgency),
            recipient_keys(self.directory, "desertion", "ru-central"),
        )

    def submit(self, envelope: bytes) -> str:
        """Through the intake's HTTP API, with its proof of work, as a requester's device does."""
        return submit(envelope, self.intake_url)

    def haven(
        self, *args: str | Path, broker_url: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        url_file = self.root / "broker-url"
        url_file.write_text((broker_url or self.broker_url) + "\n")
        url_file.chmod(0o600)
        done = subprocess.run(
            [sys.executable, "-m", "haven.cli.main", *map(str, args)],
            cwd=self.root,
            env={**os.environ, "HAVEN_AMQP_URL": "", **management_env(), **(env or {})},
            capture_output=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout.decode(), done.stderr.decode())

    def pull(self, partner: str, *extra: str, broker_url: str | None = None) -> Result:
        return self.haven(
            "partner",
            "pull",
            "--inbox",
            self.inbox(partner),
            "--partner",
            partner,
            "--broker-url-file",
            self.root / "broker-url",
            *self.member_args(partner),
            *extra,
            broker_url=broker_url,
        )

    def decline(self, partner: str, request_id: str, reason: str) -> Result:
        return self.haven(
            "partner",
            "decline",
            request_id,
            "--reason",
            reason,
            "--inbox",
            self.inbox(partner),
            "--partner",
            partner,
            "--broker-url-file",
            self.root / "broker-url",
            *self.member_args(partner, inbox=False),
        )

    def member_args(self, partner: str, *, inbox: bool = False) -> list[str | Path]:
        """--member and its passphrase file (and --inbox): what unlocks a partner's team inbox."""
        folder: list[str | Path] = ["--inbox", self.inbox(partner)] if inbox else []
        return [*folder, "--member", MEMBER, "--passphrase-file", self.member_passphrase_file]

    @property
    def member_passphrase_file(self) -> Path:
        return self.root / "member-passphrase"

    def open_inbox(self, partner: str) -> Inbox:
        return open_inbox(self.inbox(partner))

    def inbox_ids(self, partner: str) -> set[str]:
        return {e.request_id for e in self.open_inbox(partner).entries()}

    def declined_ids(self, partner: str) -> set[str]:
        return {e.request_id for e in self.open_inbox(partner).entries(declined=True)}


def build_directory(
    keys: dict[str, PrivateKey], *, deadline: dict[str, int] | None = None, **alpha: Any
) -> Directory:
    now = datetime.now(UTC)
    extra = {"response_deadline": deadline} if deadline else {}
    d = empty_directory("haven-test", now=now)
    d = with_partner(d, partner_entry("alpha", keys["alpha"], **extra, **alpha), now=now)
    d = with_partner(d, partner_entry("bravo", keys["bravo"], **extra), now=now)
    return with_partner(
        d, partner_entry("charlie", keys["charlie"], categories=["asylum"]), now=now
    )


@pytest.fixture(scope="session")
def partner_private_keys() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("alpha", "bravo", "charlie")}


@pytest.fixture
def make_network(
    tmp_path: Path, fresh_broker_url: str, partner_private_keys: dict[str, PrivateKey]
) -> Iterator[Callable[..., Network]]:
    """Build the network's files and start its intake; the test starts routers itself."""
    servers: list[tuple[BaseWSGIServer, threading.Thread, ConfirmedPublisher]] = []
    stores: list[Store] = []

    def make(intake_env: dict[str, str] | None = None, **directory_options: Any) -> Network:
        network_key = NetworkKey.generate()
        directory = build_directory(partner_private_keys, **directory_options)
        root = tmp_path
        (root / "passphrase").write_text(PASSPHRASE + "\n")
        (root / "member-passphrase").write_text(MEMBER_PASSPHRASE + "\n")
        for name, key in partner_private_keys.items():
            path = root / f"{name}.key"
            path.write_bytes(wrap_private_key(key.seed, PASSPHRASE, params=TEST_SCRYPT))
            path.chmod(0o600)
            # Each partner's team inbox, as `haven partner team init` makes it.
            if not (root / "inbox" / name).exists():
                make_team(root / "inbox" / name, key)
        directory_file = root / "directory.json"
        directory_file.write_bytes(sign_directory(directory, network_key))
        verify_key_file = root / "network.pub"
        verify_key_file.write_text(network_key.verify_key.to_text() + "\n")
        pow_secret = root / "pow.secret"
        pow_secret.write_bytes(os.urandom(32))
        network = Network(
            root,
            fresh_broker_url,
            network_key,
            partner_private_keys,
            directory,
            directory_file,
            verify_key_file,
        )
        network.env = {
            "HAVEN_AMQP_URL": fresh_broker_url,
            "HAVEN_DIRECTORY_FILE": str(directory_file),
            "HAVEN_NETWORK_VERIFY_KEY_FILE": str(verify_key_file),
            "HAVEN_POW_SECRET_FILE": str(pow_secret),
            "HAVEN_STORE_URL": f"sqlite:///{root / 'store.sqlite3'}",
            "HAVEN_POW_MIN_BITS": "8",
            "HAVEN_POW_MAX_BITS": "12",
            **router_key_file(root),
            **(intake_env or {}),
        }
        # The router's topology first, as `haven provision` or the first router would.
        partner_ids = frozenset(p.id for p in directory.partners)
        declare_routing(router_settings(fresh_broker_url), partner_ids)
        settings = IntakeSettings.from_env(network.env)
        publisher = ConfirmedPublisher(settings.broker)
        # The store migrated, as the intake's start-up does before it serves.
        store = Store(settings.store)
        migrate(store)
        stores.append(store)
        app = create_app(settings, publisher=publisher, store=store)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        server.daemon_threads = False  # server_close() joins them
        thread = threading.Thread(target=server.serve_forever, name="intake", daemon=True)
        thread.start()
        servers.append((server, thread, publisher))
        network.intake_url = f"http://127.0.0.1:{server.server_port}"
        ops = make_server("127.0.0.1", 0, ops_app(app), threaded=True)
        ops_thread = threading.Thread(target=ops.serve_forever, name="intake-ops", daemon=True)
        ops_thread.start()
        servers.append((ops, ops_thread, publisher))
        network.ops_url = f"http://127.0.0.1:{ops.server_port}"
        return network

    yield make
    for server, thread, publisher in servers:
        server.shutdown()
        thread.join(10)
        # Closes the listening socket and waits for handler threads, so no
        # accepted connection is left for the garbage collector to warn about.
        server.server_close()
        publisher.close()
    for store in stores:
        store.close()


def verified_loader(network: Network) -> Callable[[], Directory]:
    """The router's loader: the signed file, verified against the pinned key, as in production."""

    def load() -> Directory:
        return accept_directory(
            network.directory_file.read_bytes(),
            network.network_key.verify_key,
            now=datetime.now(UTC),
            state=None,
        )

    return load


def fast_router(network: Network, **overrides: Any) -> RouterSettings:
    return router_settings(network.broker_url, **overrides)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class RequesterKeys:
    """What a requester's device derives from its receipt code (random here: no code needed)."""

    def __init__(self) -> None:
        self.reply_key = PrivateKey.generate()
        self.mailbox_id = os.urandom(32)
        self.access_secret = os.urandom(32)
        self.access_hash = access_hash(self.access_secret)
