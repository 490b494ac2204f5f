"""Prometheus metrics of one intake app, in a registry of its own.

Every label value comes from a closed set the intake defines (its own
endpoint names, outcome names, the routing enumeration after validation).
Nothing the client sends reaches a label: no address, no user agent, no
path of an unknown URL, no free text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

NO_CATEGORY = "none"
UNMATCHED = "unmatched"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# From a cheap rejection (well under a millisecond) to a confirm that waits
# on the broker's fsync, up to the publish timeout.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IntakeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "haven_intake_requests",
            "HTTP requests answered, by endpoint, outcome and (once validated) category.",
            ["endpoint", "outcome", "category"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "haven_intake_request_duration_seconds",
            "Time to answer, by endpoint and outcome.",
            ["endpoint", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.broker_unavailable = Counter(
            "haven_intake_broker_unavailable",
            "Submissions answered 503 because the broker could not confirm, by reason.",
            ["reason"],
            registry=self.registry,
        )
        # No label: the driver's reasons are no closed set.
        self.store_unavailable = Counter(
            "haven_intake_store_unavailable",
            "No-JavaScript sends and mailbox requests answered 503 because the store could not "
            "be reached.",
            registry=self.registry,
        )
        # By outcome alone: never a mailbox, a partner or a size.
        self.mailbox_writes = Counter(
            "haven_intake_mailbox_writes",
            "Partners' mailbox writes, by outcome (stored, already, unknown, conflict, full, "
            "gone, not_signed).",
            ["outcome"],
            registry=self.registry,
        )
        self.pow_difficulty = Gauge(
            "haven_intake_pow_difficulty_bits",
            "Difficulty of the last challenge issued.",
            registry=self.registry,
        )
        self.directory_version = Gauge(
            "haven_intake_directory_version",
            "Version of the partner directory being served.",
            registry=self.registry,
        )

    def observe(self, endpoint: str, outcome: str, category: str, seconds: float) -> None:
        self.requests.labels(endpoint, outcome, category).inc()
        self.latency.labels(endpoint, outcome).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
