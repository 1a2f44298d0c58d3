"""Prometheus metrics of the aggregator. Labels are bounded: stream, rule, reason, window."""

from __future__ import annotations

from functools import partial
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from framewire.aggregator.alerts import AlertEvent, AlertTransition
from framewire.aggregator.engine import Outcome
from framewire.aggregator.observations import ResultSeen, Tick, ZoneSeen
from framewire.aggregator.stats import WindowKind, WindowStats
from framewire.core.metrics import LATENCY_BUCKETS, metric_name

_name = partial(metric_name, "aggregator")
_LAG_BUCKETS = (*LATENCY_BUCKETS, 30.0, 60.0)

RESULTS = Counter(_name("results_total"), "Inference results counted in windows", ["stream"])
DETECTIONS = Counter(_name("detections_total"), "Detections counted, by label", ["stream", "label"])
FRAMES_DROPPED = Counter(
    _name("frames_dropped_total"), "Frames reported dropped (drop records), by reason", ["stream", "reason"]
)
REJECTED = Counter(
    _name("rejected_total"), "Results, drops and zone events not counted in any window, by reason",
    ["stream", "reason"],
)
ZONE_EVENTS = Counter(
    _name("zone_events_total"), "Zone events counted (enter, leave, dwell, cross)", ["stream", "kind"]
)
DEAD_LETTERS = Counter(_name("dead_letters_total"), "Malformed messages sent to the DLQ", ["kind"])
RESULT_LATENCY = Histogram(
    _name("result_latency_seconds"),
    "Capture to result latency of counted results",
    ["stream"],
    buckets=_LAG_BUCKETS,
)
WINDOW_FPS = Gauge(_name("window_fps"), "Results per second in the last closed window", ["stream", "window"])
WINDOW_LATENCY = Gauge(
    _name("window_latency_seconds"),
    "Capture to result latency quantile in the last closed tumbling window",
    ["stream", "quantile"],
)
STATS_PUBLISHED = Counter(_name("stats_published_total"), "Window stats published", ["window"])
ALERTS_FIRING = Gauge(
    _name("alerts_firing"), "1 while a rule fires for a stream", ["rule", "stream", "severity"]
)
ALERT_TRANSITIONS = Counter(_name("alert_transitions_total"), "Alert events published", ["rule", "state"])
EVENT_LAG = Gauge(
    _name("event_lag_seconds"), "Wall clock minus capture time of the last result counted", ["stream"]
)
CONSUMER_LAG = Gauge(
    _name("consumer_lag_messages"), "Messages behind the high watermark, per consumed topic", ["topic"]
)
TICK_SECONDS = Histogram(_name("tick_seconds"), "Time to tick every stream once", buckets=LATENCY_BUCKETS)


def record(obs: Any, outcome: Outcome, now: float) -> None:
    """Update metrics for one applied observation and what it published."""
    if isinstance(obs, Tick):
        pass
    elif outcome.rejected is not None:
        REJECTED.labels(obs.stream_id, outcome.rejected.value).inc()
    elif isinstance(obs, ResultSeen):
        RESULTS.labels(obs.stream_id).inc()
        RESULT_LATENCY.labels(obs.stream_id).observe(max(0.0, obs.latency_s))
        EVENT_LAG.labels(obs.stream_id).set(max(0.0, now - obs.event_ms / 1000))
        for label, n in obs.counts.items():
            DETECTIONS.labels(obs.stream_id, label).inc(n)
    elif isinstance(obs, ZoneSeen):
        ZONE_EVENTS.labels(obs.stream_id, obs.kind).inc()
    else:
        FRAMES_DROPPED.labels(obs.stream_id, obs.reason).inc(obs.count)
    for item in outcome.published:
        if isinstance(item, WindowStats):
            _record_window(item)
        else:
            _record_alert(item)


def _record_window(stats: WindowStats) -> None:
    STATS_PUBLISHED.labels(stats.kind.value).inc()
    WINDOW_FPS.labels(stats.stream_id, stats.kind.value).set(stats.fps)
    if stats.kind is WindowKind.TUMBLING:
        for q in ("0.5", "0.95", "0.99"):
            value = stats.totals.latency.quantile(float(q))
            if value is not None:
                WINDOW_LATENCY.labels(stats.stream_id, q).set(value)


def _record_alert(event: AlertEvent) -> None:
    rule = event.rule
    ALERT_TRANSITIONS.labels(rule.name, event.transition.value).inc()
    firing = 1 if event.transition is AlertTransition.FIRING else 0
    ALERTS_FIRING.labels(rule.name, event.stream_id, rule.severity.value).set(firing)
