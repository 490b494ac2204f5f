"""The RabbitMQ 4 test node: scripts/ensure-rabbitmq4 and tests/conftest.py agree on where it is."""

from __future__ import annotations

import re

from tests.conftest import BROKERS, lock_file
from tests.repo import REPO

SCRIPT = (REPO / "scripts" / "ensure-rabbitmq4").read_text(encoding="utf-8")


def _setting(name: str) -> str:
    [value] = re.findall(rf"^{name}=(\S+)$", SCRIPT, re.MULTILINE)
    return value


def test_the_script_runs_the_node_where_the_tests_look_for_it() -> None:
    node = BROKERS["rabbitmq4"]
    assert _setting("NAME") == node.container
    assert int(_setting("AMQP_PORT")) == node.port
    assert int(_setting("MANAGEMENT_PORT")) == node.management_port
    # Beside the machine's own broker, never on its ports.
    assert {node.port, node.management_port}.isdisjoint(
        {BROKERS["local"].port, BROKERS["local"].management_port}
    )


def test_the_node_publishes_on_loopback_only() -> None:
    # guest may connect from anywhere on this node (loopback_users = none):
    # only because nothing but this machine reaches its ports.
    published = re.findall(r'--publish "([^"]+)"', SCRIPT)
    assert len(published) == 3
    assert all(port.startswith("127.0.0.1:") for port in published), published
    assert "loopback_users = none" in SCRIPT
    deployed = (REPO / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text(encoding="utf-8")
    assert "loopback_users = none" not in deployed


def test_the_script_waits_on_the_lock_the_tests_take() -> None:
    # It removes or restarts the node only once no test run uses it.
    [lock] = re.findall(r"^LOCK=(\S+)$", SCRIPT, re.MULTILINE)
    container = BROKERS["rabbitmq4"].container
    assert lock.replace("$NAME", _setting("NAME")) == lock_file(container)
