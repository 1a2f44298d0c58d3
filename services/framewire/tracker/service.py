"""``run_stage``: one tracking stage, in-process, until a stop event is set.

Called by ``framewire tracker`` (main.py) and by tests. It opens the Kafka clients
(registering the transactional id fences a predecessor with the same tracker id), serves
health and metrics, and runs the stage loop; on a stop it closes the consumer, which leaves
the group so the streams move at once.
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import KafkaError, KafkaException, Producer
from prometheus_client import CollectorRegistry, Counter, Gauge

from framewire.core.admin import ensure_topics, fixed_topics
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import check_reachable, make_admin, make_consumer, make_producer
from framewire.core.metrics import metric_name
from framewire.core.probes import ProbeServer
from framewire.core.specfollow import StreamSpecFollower
from framewire.tracker.geometry import StreamGeometry
from framewire.tracker.settings import TrackerSettings
from framewire.tracker.stage import TrackerStage

log = logging.getLogger(__name__)


class TrackerMetrics:
    """Counters read from the stage after each turn (they count committed work only)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.results_in = Counter(metric_name("tracker", "results_in_total"),
                                  "Results taken in and committed", registry=r)
        self.tracks_out = Counter(metric_name("tracker", "tracks_out_total"),
                                  "Tracked objects published", registry=r)
        self.events_out = Counter(metric_name("tracker", "zone_events_total"),
                                  "Zone and line events committed", registry=r)
        self.streams = Gauge(metric_name("tracker", "streams"), "Streams this stage owns",
                             registry=r)


def run_stage(
    settings: TrackerSettings, stop: threading.Event, registry: CollectorRegistry | None = None
) -> None:
    """Run the stage until ``stop``; KafkaUnavailableError when it cannot go on."""
    k = settings.kafka
    check_reachable(k)
    admin = make_admin(k)
    ensure_topics(admin, [t for t in fixed_topics(k.topics, k.topic_policy)
                          if t.name in (k.topics.tracker_state, k.topics.dlq, k.topics.events)])
    producer = make_producer(k, transactional_id=settings.transactional_id, **{
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        "message.timeout.ms": min(30_000, settings.transaction_timeout_ms),
        "linger.ms": 1, "client.id": f"fw-tracker-{settings.tracker_id}"})
    _init_transactions(producer, k.connect_timeout_s)
    consumer = make_consumer(k, settings.group, **{
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(250, settings.session_timeout_ms // 6),
        "client.id": f"fw-tracker-{settings.tracker_id}"})
    geometry = StreamGeometry()
    # Zones and lines must be known before the first result is watched.
    specs = StreamSpecFollower(k, geometry, "tracker-specs").start(k.connect_timeout_s)
    stage = TrackerStage(settings, consumer, producer, admin, geometry)
    metrics = TrackerMetrics(registry)
    beat = [time.monotonic()]
    server = _probes(settings, metrics, beat)
    watcher = threading.Thread(target=_export, args=(stage, metrics, beat, stop), daemon=True,
                               name="fw-tracker-metrics")
    watcher.start()
    try:
        stage.run(stop, on_turn=lambda: beat.__setitem__(0, time.monotonic()))
    finally:
        specs.stop()
        consumer.close()
        producer.flush(5)
        if server is not None:
            server.stop()
    log.info("tracker %s stopped", settings.tracker_id)


def _init_transactions(producer: Producer, timeout_s: float, limit_s: float = 120.0) -> None:
    """Register the transactional id (fencing a predecessor). A broker that has just
    started answers "not coordinator" until its transaction coordinator is loaded (over
    10 s on a loaded machine): retriable errors are retried up to ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            producer.init_transactions(timeout_s)
            return
        except KafkaException as exc:
            error = exc.args[0]
            retriable = isinstance(error, KafkaError) and (error.retriable() or error.code() in (
                KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                KafkaError.COORDINATOR_NOT_AVAILABLE))
            if not retriable or time.monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"cannot initialise the tracker's transactions: {exc}") from None
            log.info("transaction coordinator not ready (%s); retrying", error)
            time.sleep(0.5)


def _probes(settings: TrackerSettings, metrics: TrackerMetrics, beat: list[float]) -> ProbeServer | None:
    if settings.http_port < 0:
        return None
    stall_s = max(30.0, 10 * settings.poll_timeout_s)

    def live() -> tuple[bool, str]:
        return (True, "ok") if time.monotonic() - beat[0] < stall_s else (False, "stage loop stalled")

    return ProbeServer(settings.http_host, settings.http_port, live=live, ready=live,
                       registry=metrics.registry, name="fw-tracker-http").start()


def _export(stage: TrackerStage, metrics: TrackerMetrics, beat: list[float], stop: threading.Event) -> None:
    taken = out = events = 0
    while not stop.wait(1.0):
        # Each read once: the stage thread moves them on meanwhile.
        now = stage.results_in, stage.tracks_out, stage.events_out
        metrics.results_in.inc(now[0] - taken)
        metrics.tracks_out.inc(now[1] - out)
        metrics.events_out.inc(now[2] - events)
        taken, out, events = now
        metrics.streams.set(stage.owned_streams)
