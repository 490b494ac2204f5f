"""Running a router: declare, consume, and reconnect with backoff until told to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pika.exceptions import AMQPError

from haven.broker.connection import connect, declare
from haven.broker.consumer import ConfirmingConsumer
from haven.broker.reconnect import Backoff, Failover
from haven.broker.topology import INTAKE_QUEUE, RETURNED_QUEUE, routing_topology
from worker.budget import DeclineBudget
from worker.choice import Uniform, stable_uniform
from worker.consumed import ConsumedAssignments, MemoryConsumedAssignments
from worker.directory import DirectoryLoader, reload_or_keep
from worker.metrics import RouterMetrics
from worker.router import Router
from worker.seen import SeenIds
from worker.settings import RouterSettings

log = logging.getLogger(__name__)


def declare_routing(
    settings: RouterSettings, partner_ids: frozenset[str], *, node: int | None = None
) -> None:
    """Declare the whole routing topology for these partners; idempotent. `node`: on that node only."""
    connection = connect(settings.broker, node=node)
    try:
        declare(
            connection.channel(), routing_topology(settings.broker, settings.limits, partner_ids)
        )
    finally:
        if connection.is_open:
            connection.close()


def run_router(
    settings: RouterSettings,
    directory_loader: DirectoryLoader,
    stop_event: threading.Event,
    *,
    metrics: RouterMetrics | None = None,
    uniform: Uniform = stable_uniform,
    on_consuming: Callable[[], None] | None = None,
    consumed: ConsumedAssignments | None = None,
    budget: DeclineBudget | None = None,
) -> RouterMetrics:
    """Route until `stop_event` is set; return the metrics.

    `directory_loader` returns the verified directory (e.g. through
    `haven.directory.accept_directory`); it is called before each
    connection and every `directory_refresh` seconds. If the very first
    load fails its error propagates: a router never routes unverified.
    """
    metrics = metrics if metrics is not None else RouterMetrics()
    # Survives reconnects: duplicates are recognised across a broker restart.
    seen = SeenIds(settings.seen_capacity)
    # The process passes the deployment's store (worker.main); without one
    # (tests, embedding) the record is this router's own (worker.consumed).
    consumed = (
        consumed if consumed is not None else MemoryConsumedAssignments(settings.consumed_capacity)
    )
    budget = budget if budget is not None else DeclineBudget(settings.declines_per_minute)
    # One node at a time; after a failure or a lost connection, the next one.
    failover = Failover(len(settings.broker.urls), Backoff(settings.backoff))
    directory = directory_loader()

    def consuming() -> None:
        failover.connected()
        if on_consuming is not None:
            on_consuming()

    first = True
    while not stop_event.is_set():
        if not first:
            directory = reload_or_keep(directory_loader, directory)
        first = False
        partner_ids = frozenset(partner.id for partner in directory.partners)
        node = failover.node
        try:
            declare_routing(settings, partner_ids, node=node)
        except (AMQPError, OSError) as exc:
            delay = failover.next_delay()
            # The broker's reply text (e.g. PRECONDITION_FAILED for a queue
            # declared with other limits) names queues and arguments only.
            log.warning("cannot declare the topology (%r); retrying in %.1fs", exc, delay)
            stop_event.wait(delay)
            continue
        router = Router(
            settings,
            directory,
            metrics,
            seen,
            declared_partners=partner_ids,
            consumed=consumed,
            budget=budget,
            reload=directory_loader,
            uniform=uniform,
        )
        consumer = ConfirmingConsumer(
            settings.consumer_settings(),
            (INTAKE_QUEUE, RETURNED_QUEUE),
            router,
            stop_event,
            on_consuming=consuming,
        )
        ending = consumer.run(node)
        if ending == "stopped":
            break
        if ending == "lost":
            delay = failover.next_delay()
            log.warning("router connection to node %d lost; reconnecting in %.1fs", node + 1, delay)
            stop_event.wait(delay)
    log.info("router stopped")
    return metrics
