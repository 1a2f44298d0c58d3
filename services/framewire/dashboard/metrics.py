"""Prometheus metrics of the dashboard (module-level: one registry per process)."""

from __future__ import annotations

from functools import partial

from prometheus_client import Counter, Gauge, Histogram

from framewire.core.metrics import LATENCY_BUCKETS, metric_name

_name = partial(metric_name, "dashboard")

SSE_CLIENTS = Gauge(
    _name("sse_clients"), "Connected SSE clients", ["endpoint"]
)
CLIENT_DROPS = Counter(
    _name("client_events_dropped_total"),
    "Events discarded because an SSE client's bounded queue was full (slow client)",
    ["endpoint"],
)
RECORDS = Counter(
    _name("records_total"), "Kafka records read by the dashboard", ["kind"]
)
DUPLICATE_FRAMES = Counter(
    _name("duplicate_frames_total"),
    "Frame records skipped because the same frame was read just before (a producer resend)",
)
DECODE_ERRORS = Counter(
    _name("decode_errors_total"),
    "Kafka records the dashboard could not decode (skipped)",
    ["kind"],
)
KAFKA_TO_SSE = Histogram(
    _name("kafka_to_sse_seconds"),
    "Time from a result's Kafka timestamp to its SSE event being written to a client",
    buckets=LATENCY_BUCKETS,
)
RESUMES = Counter(
    _name("resumes_total"),
    "SSE reconnects resumed from Last-Event-ID, by outcome",
    ["outcome"],
)
STREAM_WRITES = Counter(
    _name("stream_writes_total"),
    "StreamSpec writes through the API",
    ["action"],
)
WINDOW_STATS = Counter(
    _name("window_stats_total"),
    "Aggregator stats records by outcome (stored, superseded, not_stats, invalid, ...)",
    ["outcome"],
)
FRAMES_PARTITIONS = Gauge(
    _name("frames_partitions"),
    "Frames partitions the dashboard reads now (only those of streams a client watches)",
)
ZONE_EVENTS = Counter(
    _name("zone_events_total"),
    "Zone and line events read from the events topic, by outcome (kept, deleted_stream, "
    "over_limit)",
    ["outcome"],
)
