"""Session-wide fixtures: a vhost of this test run's own on the real RabbitMQ broker.

Every run creates `haven-test-<random>` with rabbitmqctl, gives the guest user
rights on it alone, and deletes it at the end, so that two runs on one
machine (a developer's and CI's) never see each other's queues.

HAVEN_TEST_BROKER_HOST, HAVEN_TEST_BROKER_PORT, HAVEN_TEST_MANAGEMENT_PORT and
HAVEN_TEST_BROKER_NODE point a run at another RabbitMQ node (a private one, for
the disruptive tests): every rabbitmqctl call goes through `rabbitmqctl()`
below, so a test that stops or alarms the broker only ever touches that node.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import quote

import pytest

BROKER_HOST = os.environ.get("HAVEN_TEST_BROKER_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("HAVEN_TEST_BROKER_PORT", "5672"))
# Empty: rabbitmqctl's own default node (the machine's broker).
BROKER_NODE = os.environ.get("HAVEN_TEST_BROKER_NODE", "")


def rabbitmqctl_argv(*args: str) -> list[str]:
    """The rabbitmqctl command line for this run's node, for tests that read its exit code."""
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail(
            "rabbitmqctl is not installed: run the tests through .ci/run or install rabbitmq-server"
        )
    node = ["-n", BROKER_NODE] if BROKER_NODE else []
    return [executable, *node, *args]


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl on this run's node; fail the test run with its own words if it fails."""
    done = subprocess.run(
        rabbitmqctl_argv(*args), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
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
    """AMQP URL of this run's vhost (guest/guest on the local broker)."""
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
    """The local broker's management API (scripts/ensure-rabbitmq enables the plugin)."""
    port = os.environ.get("HAVEN_TEST_MANAGEMENT_PORT", "15672")
    return f"http://{BROKER_HOST}:{port}"
