"""The router that gives each request to exactly one eligible partner.

Public API: `run_router(settings, directory_loader, stop_event)`,
`RouterSettings`, `RouterMetrics`; `haven.worker.main.main` is the process
entry point. docs/routing.md describes the topology and the algorithm.
"""

from haven.worker.choice import choose_partner, stable_uniform
from haven.worker.metrics import RouterMetrics
from haven.worker.router import Router
from haven.worker.run import declare_routing, run_router
from haven.worker.settings import RouterSettings

__all__ = [
    "Router",
    "RouterMetrics",
    "RouterSettings",
    "choose_partner",
    "declare_routing",
    "run_router",
    "stable_uniform",
]
