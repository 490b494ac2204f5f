"""The router that gives each request to exactly one eligible partner.

Public API: `run_router(settings, directory_loader, stop_event)`,
`RouterSettings`, `RouterMetrics`. `worker.main` holds the two process
entry points (the router's `main`, the webhook delivery's `deliver_main`),
both run by `worker.service.run_service`; `worker.webhook` is the webhook
delivery. docs/routing.md describes the topology and the algorithm.
"""

from worker.choice import choose_partner, stable_uniform
from worker.metrics import RouterMetrics
from worker.router import Router
from worker.run import declare_routing, run_router
from worker.settings import RouterSettings

__all__ = [
    "Router",
    "RouterMetrics",
    "RouterSettings",
    "choose_partner",
    "declare_routing",
    "run_router",
    "stable_uniform",
]
