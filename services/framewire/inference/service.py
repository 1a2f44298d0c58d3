"""``run_worker``: one inference worker, in-process, until a stop event is set.

Called by ``framewire inference`` (main.py), by ``framewire up``, by tests and by the
benchmark. It loads the model, opens the Kafka clients, serves health and metrics, runs the
worker loop and, when stopped, finishes in-flight work, commits it and leaves the group.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from framewire.core.probes import ProbeServer
from framewire.core.specfollow import StreamSpecFollower
from framewire.inference.freshness import Freshness
from framewire.inference.health import Health
from framewire.inference.kafka_io import KafkaIO
from framewire.inference.metrics import InferenceMetrics
from framewire.inference.modelwatch import ModelWatcher, load_model, served_version
from framewire.inference.scheduler import Scheduler
from framewire.inference.settings import InferenceSettings
from framewire.inference.streamspecs import StreamAges
from framewire.inference.worker import Worker
from framewire.models.api import Detector
from framewire.models.perframe.engine import Engine
from framewire.models.perframe.jpeg import JpegLimits
from framewire.models.perframe.modes import ModeController, ModePolicy
from framewire.models.perframe.slot import ModelSlot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerHandle:
    """What a caller of ``run_worker`` can see once the worker runs."""

    settings: InferenceSettings
    metrics: InferenceMetrics
    health: Health
    slot: ModelSlot
    # Bound port of the health server; None when disabled.
    http_port: int | None


def run_worker(
    settings: InferenceSettings,
    stop_event: threading.Event,
    *,
    detector: Detector | None = None,
    on_started: Callable[[WorkerHandle], None] | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    """Run a worker until ``stop_event`` is set; ``detector`` overrides the configured model.

    Metrics go to ``registry`` (the process's default one for ``framewire inference``) or,
    when None, to a private one, so several workers can share a process.
    """
    metrics = InferenceMetrics(registry)
    health = Health(stall_after_s=max(30.0, 10 * settings.poll_timeout_s))
    server = _start_http(settings, health, metrics)
    ages = StreamAges(settings.max_age_ms)
    # Kafka opens while the model loads: a restarted worker's streams resume after the
    # slower of the two, not after both.
    opening = _open_kafka(settings, ages)
    try:
        slot = ModelSlot(detector or load_model(settings))
    except BaseException:
        _close_opened(opening)
        raise
    _note_model(metrics, slot.current)
    watcher = _start_watcher(settings, slot, metrics) if detector is None else None
    modes = _mode_controller(settings, metrics)
    engine = Engine(
        slot, decode_threads=settings.decode_threads, max_batch=settings.max_batch,
        limits=JpegLimits(settings.max_side, settings.max_jpeg_bytes),
        reduced_decode=settings.reduced_decode, modes=modes,
    )
    scheduler = Scheduler(
        Freshness(settings.freshness, settings.stride, settings.catch_up_ms * 1_000_000),
        settings.partition_buffer,
    )
    try:
        io, specs = opening.result()
        try:
            worker = Worker(settings, io, engine, scheduler, metrics, health, ages, modes=modes)
            if on_started is not None:
                on_started(WorkerHandle(settings, metrics, health, slot,
                                        server.port if server else None))
            worker.run(stop_event)
        finally:
            # Leave the group first: the spec follower's stop waits out its poll (up to 1 s),
            # and the partitions are handed over only once this worker has left.
            io.close()
            specs.stop()
    finally:
        if watcher is not None:
            watcher.stop()
        engine.close()
        if server is not None:
            server.stop()
    log.info("worker %s stopped", settings.worker_id)


def _open_kafka(
    settings: InferenceSettings, ages: StreamAges
) -> Future[tuple[KafkaIO, StreamSpecFollower]]:
    """Open the Kafka clients (fencing a zombie) and read the stream specs, on a thread."""

    def open_both() -> tuple[KafkaIO, StreamSpecFollower]:
        io = KafkaIO.open(settings)
        try:
            specs = StreamSpecFollower(settings.kafka, ages, "inference-specs")
            specs.start(settings.kafka.connect_timeout_s)
        except BaseException:
            io.close()
            raise
        return io, specs

    pool = ThreadPoolExecutor(1, thread_name_prefix="kafka-open")
    future = pool.submit(open_both)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future


def _close_opened(opening: Future[tuple[KafkaIO, StreamSpecFollower]]) -> None:
    """Close what ``_open_kafka`` opened when the worker fails before running."""
    try:
        io, specs = opening.result()
    except Exception:  # the model's failure is the one to report
        return
    specs.stop()
    io.close()


def _start_http(
    settings: InferenceSettings, health: Health, metrics: InferenceMetrics
) -> ProbeServer | None:
    if settings.http_port < 0:
        return None
    server = ProbeServer(settings.http_host, settings.http_port, live=health.live_check,
                         ready=health.ready_check, registry=metrics.registry, name="fw-inference-http")
    return server.start()


def _mode_controller(settings: InferenceSettings, metrics: InferenceMetrics) -> ModeController:
    policy = ModePolicy(settings.mode_up, settings.mode_down, settings.mode_hold_s)
    modes = ModeController(settings.effective_mode, policy)
    metrics.set_mode(modes.mode.value)
    return modes


def _note_model(metrics: InferenceMetrics, detector: Detector) -> None:
    metrics.model_info.clear()
    metrics.model_info.labels(detector.info.model_id, detector.info.version).set(1)


def _start_watcher(
    settings: InferenceSettings, slot: ModelSlot, metrics: InferenceMetrics
) -> ModelWatcher | None:
    if not settings.model_server_url:
        return None
    watcher = ModelWatcher(
        slot, settings.model_poll_s,
        probe=lambda: served_version(settings),
        load=lambda: load_model(settings),
        on_switch=lambda d: _note_model(metrics, d),
        where=settings.model_server_url,
    )
    watcher.start()
    return watcher
