"""Prometheus helpers: one registry per process and a /metrics HTTP server.

Metric names start with ``framewire_``; labels are bounded (stream id, reason, model),
never per-frame values.
"""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)

NAMESPACE = "framewire"

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


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Expose the default registry on ``http://addr:port/metrics``; called once from main()."""
    if port <= 0:
        return
    start_http_server(port, addr=addr)
    log.info("metrics on http://%s:%s/metrics", addr, port)
