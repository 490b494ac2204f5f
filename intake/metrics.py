"""Prometheus metrics of one intake app, in a registry of its own.

Under gunicorn they are shared by every worker process
(intake.serving.processes): each process writes its values to files in one
directory, and the exposition adds them up, so /metrics means the whole
server whichever worker answers it. Counters and the histogram are summed,
a dead worker's included (nothing it counted is lost); each gauge says
below how its values across processes become one.

Every label value comes from a closed set the intake defines (its own
endpoint names, outcome names, the routing enumeration after validation).
Nothing the client sends reaches a label: no address, no user agent, no
path of an unknown URL, no free text.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

NO_CATEGORY = "none"
UNMATCHED = "unmatched"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# From a cheap rejection (well under a millisecond) to a confirm that waits
# on the broker's fsync, up to the publish timeout.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IntakeMetrics:
    """The intake's metrics; with `shared_dir`, those of every process writing there (intake.serving.processes)."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        if shared_dir is not None and not getattr(values.ValueClass, "_multiprocess", False):
            # Values kept in this process's memory would never reach the
            # directory: /metrics would read zeros while requests are counted.
            raise RuntimeError("shared metrics need intake.serving.processes.share_metrics() first")
        self.registry = CollectorRegistry(auto_describe=True)
        # What /metrics reads: this registry, or the sum over the directory's files.
        self._exposed = self.registry
        if shared_dir is not None:
            self._exposed = CollectorRegistry(auto_describe=True)
            MultiProcessCollector(self._exposed, path=str(shared_dir))  # type: ignore[no-untyped-call]
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
            # Across workers: the last challenge any serving worker issued
            # (what the help says, and what the dashboard's max() reads); a
            # dead worker's last value leaves with it.
            multiprocess_mode="livemostrecent",
        )
        self.directory_version = Gauge(
            "haven_intake_directory_version",
            "Version of the partner directory being served.",
            registry=self.registry,
            # Across workers: the newest version a running process serves
            # (versions only go up: an older directory is refused). A worker
            # that has not served the directory yet reads 0 and counts for
            # nothing; gunicorn's master, which loaded it, keeps its value.
            multiprocess_mode="livemax",
        )

    def observe(self, endpoint: str, outcome: str, category: str, seconds: float) -> None:
        self.requests.labels(endpoint, outcome, category).inc()
        self.latency.labels(endpoint, outcome).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self._exposed)
