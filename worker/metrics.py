"""Router counters, in a registry of the router's own (never the global one).

Labels are the request category and the partner id only: nothing about a
requester, and both come from closed sets (the enumeration and the signed
directory), so a hostile message cannot blow up the label space.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["NO_PARTNER", "UNKNOWN_CATEGORY", "Counter", "RouterMetrics"]

NO_PARTNER = "-"
UNKNOWN_CATEGORY = "unknown"


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        both = ("category", "partner")

        def counter(name: str, text: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, text, labels, registry=self.registry)

        self.routed = counter("haven_router_routed", "Requests given to a first partner", both)
        self.rerouted = counter(
            "haven_router_rerouted",
            "Requests given to a next partner after a decline or expiry",
            both,
        )
        # reason: the partner's decline code (haven.broker.declines), or
        # rejected / delivery-limit for a decline that carried none.
        self.declined = counter(
            "haven_router_declined", "Requests a partner declined", (*both, "reason")
        )
        self.redelivered = counter(
            "haven_router_redelivered",
            "Requests sent back to the same partner after a failed webhook delivery",
            both,
        )
        self.expired = counter(
            "haven_router_expired", "Requests a partner did not take within its deadline", both
        )
        self.retries = counter(
            "haven_router_retries", "Transient failures sent to a delayed retry tier", both
        )
        self.unassigned = counter(
            "haven_router_unassigned", "Requests no partner is left for", ("category",)
        )
        self.quarantined = counter(
            "haven_router_quarantined", "Messages quarantined by the router", ("category",)
        )
        self.duplicates = counter(
            "haven_router_duplicates", "Intake duplicates dropped by id", ("category",)
        )
        # partner: the sender's partner id, or unknown; outcome: quarantined
        # (within the sender's bound) or dropped (beyond it).
        self.forged = counter(
            "haven_router_forged",
            "Messages on the returned path without a valid seal for their assignment",
            ("partner", "outcome"),
        )
        self.used_returns = counter(
            "haven_router_used_returns",
            "Returns of an assignment already answered (a decline's twin, a replay, or a "
            "redelivered decline of a settled one), dropped",
            ("partner",),
        )
        # No labels: the store's outage is one fact, whatever it interrupted.
        self.store_unavailable = Counter(
            "haven_router_store_unavailable",
            "Declines and returns handed back (or left unsettled) because the store was away",
            registry=self.registry,
        )
        self._children: dict[tuple[Counter, str, str], Counter] = {}

    def child(self, counter: Counter, category: str, partner: str) -> Counter:
        """`counter.labels(category, partner)`, looked up once and then remembered.

        For the per-request path. Only for a category that passed the label
        check and a partner from the directory: both from closed sets, so
        what is remembered stays small.
        """
        key = (counter, category, partner)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = counter.labels(category, partner)
        return found

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 if never incremented); for tests and the ops CLI."""
        found = self.registry.get_sample_value(f"haven_router_{name}_total", labels)
        return found or 0.0
