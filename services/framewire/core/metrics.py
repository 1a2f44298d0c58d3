"""Prometheus naming and buckets shared by every service (``core.probes`` serves /metrics).

Metric names are ``framewire_<service>_<name>``, built by ``metric_name``; labels are bounded
(stream id, reason, model), never per-frame values.
"""

from __future__ import annotations

NAMESPACE = "framewire"


def metric_name(service: str, name: str) -> str:
    """The full name of one of a service's metrics; called where the metric is declared."""
    return f"{NAMESPACE}_{service}_{name}"

# Buckets in seconds for per-frame latencies: from 1 ms to 10 s.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.035,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

