"""The webhook delivery's counters and timings, in a registry of its own."""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Histogram

from worker.webhook.client import Failure

# passed-on: every retry tier failed; handed back to the router for the
# next eligible partner (quarantine only if none is left).
Outcome = Literal["accepted", "declined", "retried", "passed-on"]


class WebhookMetrics:
    """Deliveries by partner and outcome, POST durations by partner; a registry of its own.

    Labels are partner ids (from the signed directory) and a closed set of
    outcomes: nothing about a requester, no unbounded label space.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.deliveries = Counter(
            "haven_webhook_deliveries",
            "Webhook deliveries by outcome: accepted, declined, retried, passed-on",
            ("partner", "outcome"),
            registry=self.registry,
        )
        # reason: status (5xx, 408, 429, 3xx), timeout, tls, connection, or
        # blocked-address (the host resolves to a non-public address).
        self.failures = Counter(
            "haven_webhook_failures",
            "Webhook POSTs that failed for now, by reason",
            ("partner", "reason"),
            registry=self.registry,
        )
        self.post_seconds = Histogram(
            "haven_webhook_post_seconds",
            "Duration of one webhook POST, answered or not",
            ("partner",),
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )

    def value(self, partner: str, outcome: Outcome) -> float:
        """A delivery counter's current value (0 if never counted); for tests and operators."""
        found = self.registry.get_sample_value(
            "haven_webhook_deliveries_total", {"partner": partner, "outcome": outcome}
        )
        return found or 0.0

    def failed(self, partner: str, reason: Failure) -> float:
        """A failure counter's current value (0 if never counted)."""
        found = self.registry.get_sample_value(
            "haven_webhook_failures_total", {"partner": partner, "reason": reason}
        )
        return found or 0.0
