"""What a scaled-out process counts, for Prometheus (`/metrics`, web/health.py): updates
published and handled, how long handling took, refusals, and the depth of each partition
queue (read from the broker at each scrape). Each process has its own registry, so tests and
several roles in one process do not share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BrokerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.published = Counter(
            "pension_bot_updates_published",
            "Updates published to the broker by this ingress",
            registry=self.registry,
        )
        self.handled = Counter(
            "pension_bot_updates_handled",
            "Updates acknowledged by this worker, by how they ended (done, failed, duplicate, unreadable)",
            ["outcome"],
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "pension_bot_update_handling_seconds",
            "Seconds from a worker receiving an update to acknowledging it",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.publish_errors = Counter(
            "pension_bot_update_publish_errors",
            "Updates the broker did not confirm (answered 503)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "pension_bot_update_queue_depth",
            "Messages waiting in each partition queue (read at scrape time)",
            ["partition"],
            registry=self.registry,
        )
