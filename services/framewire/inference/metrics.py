"""Prometheus metrics of one worker, in its own registry (several workers may share a process).

Updated by the worker thread after each committed cycle, so counters only ever count
what read_committed readers can see.
"""

from __future__ import annotations

import contextlib
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from framewire.core.metrics import LATENCY_BUCKETS, metric_name

_name = partial(metric_name, "inference")
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
_LAG_BUCKETS = (*LATENCY_BUCKETS, 30.0, 60.0)


class InferenceMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.frames_in = Counter(_name("frames_in_total"), "Frames consumed", ["stream"], registry=r)
        self.results_out = Counter(
            _name("results_out_total"), "Results committed", ["stream"], registry=r
        )
        self.drops = Counter(
            _name("drops_total"), "Frames skipped (committed drop records)", ["stream", "reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            _name("dead_letters_total"), "Messages sent to the DLQ", ["kind"], registry=r
        )
        self.infer_latency = Histogram(
            _name("infer_seconds"), "Inference time per request", buckets=LATENCY_BUCKETS, registry=r
        )
        self.capture_to_result = Histogram(
            _name("capture_to_result_seconds"), "Capture to committed result", ["stream"],
            buckets=_LAG_BUCKETS, registry=r,
        )
        self.batch_size = Histogram(
            _name("batch_size"), "Images per inference request", buckets=_BATCH_BUCKETS, registry=r
        )
        self.transactions = Counter(
            _name("transactions_total"), "Transactions by outcome", ["outcome"], registry=r
        )
        self.commit_latency = Histogram(
            _name("commit_seconds"), "Time to publish and commit a cycle", buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.lag_messages = Gauge(
            _name("consumer_lag_messages"), "Messages behind the high watermark",
            ["topic", "partition"], registry=r,
        )
        self.lag_seconds = Gauge(
            _name("consumer_lag_seconds"), "Age of the oldest unprocessed frame",
            ["topic", "partition"], registry=r,
        )
        self.assigned = Gauge(_name("assigned_partitions"), "Partitions assigned", registry=r)
        self.model_info = Gauge(
            _name("model_info"), "Model in use (value 1)", ["model", "version"], registry=r
        )
        self.engine_mode = Gauge(
            _name("engine_mode"), "Engine mode running now (1) and the other (0)", ["mode"],
            registry=r,
        )
        self.engine_mode_switches = Counter(
            _name("engine_mode_switches_total"), "Switches between engine modes", registry=r
        )
        self.engine_latency_load = Gauge(
            _name("engine_latency_load"),
            "Arrival rate x latency mode's time per frame (above 1: latency mode falls behind)",
            registry=r,
        )
        self.frame_cost = Gauge(
            _name("frame_cost_seconds"),
            "Engine busy time per frame, a moving average (sizes the catch-up window)",
            registry=r,
        )

    def set_mode(self, mode: str) -> None:
        """Export ``mode`` ("latency" or "throughput") as the one running."""
        for name in ("latency", "throughput"):
            self.engine_mode.labels(name).set(1 if name == mode else 0)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Remove a revoked partition's lag series so stale values are not scraped."""
        for gauge in (self.lag_messages, self.lag_seconds):
            with contextlib.suppress(KeyError):
                gauge.remove(topic, str(partition))
