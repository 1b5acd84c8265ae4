"""Prometheus metrics of the bot process: updates handled, outbox depth, send latency, send results.

One registry per process (not the client's global one), so tests can build several runtimes side by side.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from crm.messaging.outbox import OutboxChannel, OutboxStatus

__all__ = ["CONTENT_TYPE_LATEST", "OutboxMetrics"]


class OutboxMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter("crmbot_updates_handled", "Telegram updates handled", registry=self.registry)
        self.depth = Gauge("crmbot_outbox_messages", "Outbox rows by channel and status",
                           ["channel", "status"], registry=self.registry)
        self.latency = Histogram(
            "crmbot_outbox_send_seconds", "Time the channel adapter took to send one message", ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry)
        self.results = Counter("crmbot_outbox_results", "Send outcomes: sent, retry, failed, deferred, cancelled",
                               ["channel", "result"], registry=self.registry)
        self.failures = Counter("crmbot_outbox_failures", "Messages that failed for good", ["channel"],
                                registry=self.registry)

    # DispatchMetrics

    def observe_send(self, channel: OutboxChannel, seconds: float) -> None:
        self.latency.labels(channel.value).observe(seconds)

    def count_result(self, channel: OutboxChannel, result: str) -> None:
        self.results.labels(channel.value, result).inc()
        if result == "failed":
            self.failures.labels(channel.value).inc()

    # the endpoint

    def count_update(self) -> None:
        self.updates.inc()

    def set_depth(self, depth: Mapping[tuple[OutboxChannel, OutboxStatus], int]) -> None:
        for channel in OutboxChannel:
            for status in OutboxStatus:
                self.depth.labels(channel.value, status.value).set(depth.get((channel, status), 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
