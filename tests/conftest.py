"""Session-wide fixtures: a vhost of this test run's own on the real RabbitMQ broker.

Every run creates `haven-test-<random>` with rabbitmqctl, gives the guest user
rights on it alone, and deletes it at the end, so that two runs on one
machine (a developer's and CI's) never see each other's queues.

HAVEN_TEST_BROKER chooses the broker: `local` (the default), the machine's own
(RabbitMQ 3.10 from Debian 12 on 5672, scripts/ensure-rabbitmq), or
`rabbitmq4`, the private RabbitMQ 4 node that scripts/ensure-rabbitmq4 runs in
the container haven-test-rabbitmq4 from the image docker-compose.yml pins (on
127.0.0.1:5682, management on 15682; its rabbitmqctl runs through `docker
exec`). `make test` runs the broker-facing tests on both. Every test that uses
the broker carries the `broker` marker (written, or added below for a test
that asks for a broker fixture), so `-m broker` selects all of them.

HAVEN_TEST_BROKER_HOST, HAVEN_TEST_BROKER_PORT, HAVEN_TEST_MANAGEMENT_PORT and
HAVEN_TEST_BROKER_NODE point a run at yet another RabbitMQ node (they win over
HAVEN_TEST_BROKER's): every rabbitmqctl call goes through `rabbitmqctl()`
below, so a test that stops or alarms the broker only ever touches that node.

One broker, many runs: tests marked `disruptive` stop the broker application
or raise a memory alarm, which would fail any other run using that broker at
the time. So every run that uses the broker takes a lock on one file per
broker (flock(2), the lock of flock(1)): shared for ordinary broker tests, so
any number of them run side by side; exclusive when the run selects a
disruptive test, so it starts only once no other run uses the broker, and no
other starts until it is done. A run that cannot take the lock at once says
so in one line and waits. The two brokers have a lock each: a run on one never
waits for a run on the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from haven.broker.management import DEFAULT_MANAGEMENT_PORT


@dataclass(frozen=True)
class TestBroker:
    """Where a broker the tests can run against answers, and the container it runs in (if any)."""

    __test__ = False  # a settings record, not a test class

    port: int
    management_port: int
    # Empty: the machine's own broker, reached with the machine's rabbitmqctl.
    container: str = ""


# The container and ports are scripts/ensure-rabbitmq4's (a test checks that they agree).
BROKERS = {
    "local": TestBroker(5672, 15672),
    "rabbitmq4": TestBroker(5682, 15682, container="haven-test-rabbitmq4"),
}
BROKER = os.environ.get("HAVEN_TEST_BROKER", "") or "local"
# An unknown name stops the run (pytest_configure).
_SELECTED = BROKERS.get(BROKER, BROKERS["local"])
# For the few expectations that differ by release (a RabbitMQ 4 default).
ON_RABBITMQ4 = BROKER == "rabbitmq4"

BROKER_HOST = os.environ.get("HAVEN_TEST_BROKER_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("HAVEN_TEST_BROKER_PORT", str(_SELECTED.port)))
MANAGEMENT_PORT = int(os.environ.get("HAVEN_TEST_MANAGEMENT_PORT", str(_SELECTED.management_port)))
BROKER_CONTAINER = _SELECTED.container
# Empty: rabbitmqctl's own default node (the machine's broker, or the container's own).
BROKER_NODE = os.environ.get("HAVEN_TEST_BROKER_NODE", "")


def lock_file(name: str) -> str:
    """The lock of one broker: the machine's (no name), a private node's, the container's."""
    suffix = f"-{re.sub(r'[^A-Za-z0-9_.@-]', '_', name)}" if name else ""
    # A fixed path every run on the machine agrees on (scripts/ensure-rabbitmq4 too).
    return f"/tmp/haven-disruptive-tests{suffix}.lock"  # noqa: S108


LOCK_FILE = os.environ.get("HAVEN_TEST_LOCK_FILE", lock_file(BROKER_CONTAINER or BROKER_NODE))


def pytest_configure(config: pytest.Config) -> None:
    if BROKER not in BROKERS:
        raise pytest.UsageError(
            f"HAVEN_TEST_BROKER={BROKER}: not a test broker (one of {', '.join(BROKERS)})"
        )


_held: list[int] = []
_said: list[str] = []


def _flock(config: pytest.Config, path: str, operation: int, waiting: str) -> int:
    # Opened read-only, and created only if missing (protected_regular
    # refuses O_CREAT on another user's file in sticky /tmp): flock needs no
    # write access, so a developer's run and CI's lock the same file.
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o644)
            # Readable by every user whatever this run's umask: another
            # user's run must be able to open it to wait on it.
            os.fchmod(fd, 0o644)
        except FileExistsError:  # another run created it meanwhile
            fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        if not _said:  # one line, even if both the gate and the lock make it wait
            _said.append(waiting)
            capture = config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                sys.stderr.write(f"{waiting} ({LOCK_FILE})\n")
                sys.stderr.flush()
        fcntl.flock(fd, operation)
    return fd


# Fixtures that reach the broker: a test asking for one uses it.
BROKER_FIXTURES = frozenset({"broker_vhost", "management_url"})


def _uses_broker(item: pytest.Item) -> bool:
    return item.get_closest_marker("broker") is not None or not BROKER_FIXTURES.isdisjoint(
        getattr(item, "fixturenames", ())
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Lock the broker for this run: exclusive if it will disrupt it, else shared."""
    config = session.config
    if config.option.collectonly or not any(map(_uses_broker, session.items)):
        return
    if any(item.get_closest_marker("disruptive") for item in session.items):
        operation = fcntl.LOCK_EX
        waiting = "haven tests: the disruptive tests wait for other runs on this broker to finish"
    else:
        operation = fcntl.LOCK_SH
        waiting = "haven tests: waiting for another run's disruptive tests to finish"
    # A gate taken briefly before the lock itself: a disruptive run waiting
    # for ordinary runs to finish holds it, so new ordinary runs queue behind
    # it instead of starving it (flock alone favours neither).
    gate = _flock(config, LOCK_FILE + ".gate", fcntl.LOCK_EX, waiting)
    try:
        _held.append(_flock(config, LOCK_FILE, operation, waiting))
    finally:
        os.close(gate)


# Tests that build images and start containers under Docker: minutes each,
# and they need root and a Docker engine. A plain `pytest` leaves them out;
# `make test-compose` and `make test-cluster` select them with -m.
OPT_IN_MARKERS = ("compose", "cluster")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the broker `broker`; leave out the Docker tests unless -m names them."""
    # One hook, both jobs: a second definition of it in this module would
    # silently replace the first.
    for item in items:
        if item.get_closest_marker("broker") is None and _uses_broker(item):
            item.add_marker(pytest.mark.broker)
    named = config.option.markexpr or ""
    left_out = [m for m in OPT_IN_MARKERS if m not in named]
    if not left_out:
        return
    kept, deselected = [], []
    for item in items:
        (deselected if any(item.get_closest_marker(m) for m in left_out) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_unconfigure(config: pytest.Config) -> None:
    while _held:
        os.close(_held.pop())


def rabbitmqctl_argv(*args: str) -> list[str]:
    """The rabbitmqctl command line for this run's node, for tests that read its exit code."""
    node = ["-n", BROKER_NODE] if BROKER_NODE else []
    if BROKER_CONTAINER:
        docker = shutil.which("docker")
        if docker is None:
            pytest.fail(f"HAVEN_TEST_BROKER={BROKER} needs docker: run scripts/ensure-docker")
        return [docker, "exec", BROKER_CONTAINER, "rabbitmqctl", *node, *args]
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail(
            "rabbitmqctl is not installed: run the tests through .ci/run or install rabbitmq-server"
        )
    return [executable, *node, *args]


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl on this run's node; fail the test run with its own words if it fails."""
    done = subprocess.run(
        rabbitmqctl_argv(*args), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        hint = " (is it running? scripts/ensure-rabbitmq4)" if BROKER_CONTAINER else ""
        pytest.fail(
            f"rabbitmqctl {' '.join(args)} failed{hint}: {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


@pytest.fixture(scope="session")
def broker_vhost() -> Iterator[str]:
    vhost = f"haven-test-{secrets.token_hex(6)}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield vhost
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def broker_url(broker_vhost: str) -> str:
    """AMQP URL of this run's vhost (guest/guest on the test broker)."""
    return f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}/{quote(broker_vhost, safe='')}"


@pytest.fixture
def fresh_broker_url(broker_vhost: str) -> Iterator[str]:
    """A vhost for one test alone, for tests that need other queue limits than the run's."""
    vhost = f"{broker_vhost}-{secrets.token_hex(3)}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}/{quote(vhost, safe='')}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def management_url() -> str:
    """The test broker's management API (both ensure-rabbitmq scripts enable the plugin)."""
    return f"http://{BROKER_HOST}:{MANAGEMENT_PORT}"


def management_env() -> dict[str, str]:
    """HAVEN_MANAGEMENT_URL for a Haven command run against the test broker.

    Empty (Haven's own guess: port 15672 beside a local broker) where that
    finds the test broker's API, so the tests on the machine's broker prove
    the guess; the RabbitMQ 4 node's API is elsewhere, and a guess would
    reach the machine's broker instead.
    """
    default = MANAGEMENT_PORT == DEFAULT_MANAGEMENT_PORT and BROKER_HOST == "127.0.0.1"
    return {"HAVEN_MANAGEMENT_URL": "" if default else f"http://{BROKER_HOST}:{MANAGEMENT_PORT}"}


# The real PostgreSQL (trust auth for the user postgres on this machine; .ci/run
# starts it through scripts/ensure-postgresql). HAVEN_TEST_POSTGRES_HOST and
# HAVEN_TEST_POSTGRES_PORT point a run at another server.
POSTGRES_HOST = os.environ.get("HAVEN_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("HAVEN_TEST_POSTGRES_PORT", "5432"))


def _postgres_admin(statement: str) -> None:
    import psycopg  # noqa: PLC0415 - only runs that use the store need the driver loaded

    with psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the real PostgreSQL, dropped on leaving; its URL."""
    name = f"haven_test_{secrets.token_hex(6)}"
    try:
        _postgres_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means the same: no server to test against
        pytest.fail(
            f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} refused a test database "
            f"({type(exc).__name__}: {exc}): run the tests through .ci/run or scripts/ensure-postgresql"
        )
    try:
        yield f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        # FORCE: a pooled connection a test left open must not keep the database alive.
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, dropped at the end (like the broker's vhost)."""
    with postgres_database() as url:
        yield url


STORE_BACKENDS = ("postgresql", "sqlite")


def store_url(request: pytest.FixtureRequest, backend: str) -> str:
    """This run's PostgreSQL database, or a fresh SQLite file: where a store test runs."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    folder = request.getfixturevalue("tmp_path_factory").mktemp("store")
    return f"sqlite:///{folder / 'store.sqlite3'}"


@pytest.fixture(params=STORE_BACKENDS)
def any_store_url(request: pytest.FixtureRequest) -> str:
    """Each store test twice: on this run's PostgreSQL database and on a fresh SQLite file."""
    return store_url(request, request.param)
