"""Prometheus metrics of the dashboard (module-level: one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from framewire.core.metrics import LATENCY_BUCKETS, NAMESPACE

SSE_CLIENTS = Gauge(
    "dashboard_sse_clients", "Connected SSE clients", ["endpoint"], namespace=NAMESPACE
)
CLIENT_DROPS = Counter(
    "dashboard_client_events_dropped_total",
    "Events discarded because an SSE client's bounded queue was full (slow client)",
    ["endpoint"],
    namespace=NAMESPACE,
)
RECORDS = Counter(
    "dashboard_records_total", "Kafka records read by the dashboard", ["kind"], namespace=NAMESPACE
)
DUPLICATE_FRAMES = Counter(
    "dashboard_duplicate_frames_total",
    "Frame records skipped because the same frame was read just before (a producer resend)",
    namespace=NAMESPACE,
)
DECODE_ERRORS = Counter(
    "dashboard_decode_errors_total",
    "Kafka records the dashboard could not decode (skipped)",
    ["kind"],
    namespace=NAMESPACE,
)
KAFKA_TO_SSE = Histogram(
    "dashboard_kafka_to_sse_seconds",
    "Time from a result's Kafka timestamp to its SSE event being written to a client",
    buckets=LATENCY_BUCKETS,
    namespace=NAMESPACE,
)
RESUMES = Counter(
    "dashboard_resumes_total",
    "SSE reconnects resumed from Last-Event-ID, by outcome",
    ["outcome"],
    namespace=NAMESPACE,
)
STREAM_WRITES = Counter(
    "dashboard_stream_writes_total",
    "StreamSpec writes through the API",
    ["action"],
    namespace=NAMESPACE,
)
WINDOW_STATS = Counter(
    "dashboard_window_stats_total",
    "Aggregator stats records by outcome (stored, superseded, not_stats, invalid, ...)",
    ["outcome"],
    namespace=NAMESPACE,
)
FRAMES_PARTITIONS = Gauge(
    "dashboard_frames_partitions",
    "Frames partitions the dashboard reads now (only those of streams a client watches)",
    namespace=NAMESPACE,
)
