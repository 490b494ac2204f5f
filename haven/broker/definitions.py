"""Render the topology as a RabbitMQ definitions file for the compose stack.

The file is generated from the same data the router declares at start-up,
so the two cannot drift apart (a test regenerates it and compares). It
holds the vhost, exchanges, queues with their arguments, and bindings:
never users, passwords or permissions.

    python -m haven.broker.definitions > deploy/rabbitmq/definitions.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from haven.broker.limits import RoutingLimits
from haven.broker.settings import BrokerSettings
from haven.broker.topology import Topology, routing_topology

# The demo network's partners (docs/routing.md): the compose stack starts
# with their queues; a real network regenerates with its own directory's ids.
DEMO_PARTNER_IDS = ("demo-evacuation", "demo-lawyers", "demo-objectors")
DEMO_VHOST = "/"


def render(wanted: Topology, vhost: str) -> dict[str, Any]:
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {
                "name": exchange.name,
                "vhost": vhost,
                "type": exchange.kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for exchange in wanted.exchanges
        ],
        "queues": [
            {
                "name": queue.name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": dict(queue.arguments),
            }
            for queue in wanted.queues
        ],
        "bindings": [
            {
                "source": binding.exchange,
                "vhost": vhost,
                "destination": binding.queue,
                "destination_type": "queue",
                "routing_key": binding.routing_key,
                "arguments": {},
            }
            for binding in wanted.bindings
        ],
    }


def definitions_json(
    partner_ids: Iterable[str] = DEMO_PARTNER_IDS,
    *,
    settings: BrokerSettings | None = None,
    limits: RoutingLimits | None = None,
    vhost: str = DEMO_VHOST,
) -> str:
    """The definitions file's exact text: stable key order, two-space indent, final newline."""
    wanted = routing_topology(settings or BrokerSettings(), limits or RoutingLimits(), partner_ids)
    return json.dumps(render(wanted, vhost), indent=2, sort_keys=True) + "\n"


def main() -> int:
    sys.stdout.write(definitions_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
