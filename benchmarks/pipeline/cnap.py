"""``framewire bench --scenario cnap``: the pipeline as a new user runs it, next to its ceilings.

One run: the ceilings (raw model and in-process async loop, per model and precision, in
the harness process with no service running); then dashboard, aggregator and one
inference worker as child processes, fed by ``framewire gateway`` playing the sample clips
(4 x 25 fps at 640x480, ssdlite-person, each precision in turn); then the density sweep
(default model, streams added at 15 fps until p99 capture->result > 150 ms or less than
95 % delivered). Results are read from outside by a read_committed consumer using
``poll()``. By default the run has a broker of its own, so its CPU is the pipeline's only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from async_ceilings import measure_async_ceilings
from brokerwarm import warm_broker
from launch import Launcher, free_port
from measures import Observed, Window, summarise
from observe import ResultObserver
from procstat import ResourceSampler, cpu_share
from progress import Progress
from topics_io import FramesReader, create_topics
from workload import Workload

from framewire.broker.local import LocalBroker
from framewire.core.config import KafkaSettings
from framewire.core.errors import FramewireError
from framewire.core.kafka import check_reachable, make_producer

log = logging.getLogger(__name__)

FLOW_TIMEOUT_S = 120.0
HARNESS = "harness"
BROKER = "broker"
PLUMBING = ("broker", "gateway", "aggregator", "dashboard")


@dataclass(frozen=True)
class CnapPlan:
    streams: int
    fps: float
    width: int
    height: int
    model: str
    precisions: tuple[str, ...]
    seconds: float
    max_age_ms: int
    density_model: str
    density_fps: float
    density_streams: tuple[int, ...]
    density_seconds: float
    p99_limit_ms: float
    delivered_min: float
    ceiling_seconds: float
    jpeg_quality: int
    own_broker: bool
    worker_env: dict[str, str]
    broker_warmup_s: float
    bootstrap: str
    topic_prefix: str
    out: Path = field(compare=False)

    @property
    def warmup_s(self) -> float:
        return min(4.0, 0.25 * self.seconds)

    def stream_ids(self) -> list[str]:
        return [f"cnap-{i}" for i in range(max([self.streams, *self.density_streams]))]

    def as_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "out"}
        return {**d, "warmup_s": self.warmup_s}


class CnapRun:
    def __init__(self, plan: CnapPlan, workload: Workload, progress: Progress) -> None:
        self.plan = plan
        self.workload = workload
        self.progress = progress
        self.phases: list[dict[str, Any]] = []
        self.ceilings: list[dict[str, Any]] = []
        self.unavailable: dict[str, str] = {}
        self._broker: LocalBroker | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None

    def execute(self) -> None:
        self._measure_ceilings()
        bootstrap = self._start_broker()
        self.kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=self.plan.topic_prefix)
        check_reachable(self.kafka)
        streams = self.plan.stream_ids()
        create_topics(self.kafka, streams)
        self.launcher = Launcher(bootstrap, self.plan.topic_prefix, self.plan.out / "logs")
        self.sampler = ResourceSampler(self._pids, alone=frozenset({HARNESS})).start()
        self.observer = ResultObserver(self.kafka, streams).start()
        self.frames = FramesReader(self.kafka, streams)
        self.progress.set_check(self.launcher.check_alive)
        try:
            self._start_support()
            for precision in self._available(self.plan.model):
                self._with_worker(self.plan.model, precision, self._cnap_phase)
            for precision in self._available(self.plan.density_model):
                self._with_worker(self.plan.density_model, precision, self._density)
        finally:
            self._close()

    # -- ceilings and precisions ----------------------------------------------------------

    def _measure_ceilings(self) -> None:
        jpegs = [j for s in self.workload.streams for j in s.jpegs]
        for model in dict.fromkeys((self.plan.model, self.plan.density_model)):
            for precision in self.plan.precisions:
                self.progress.phase(f"ceilings {model} {precision}")
                try:
                    c = measure_async_ceilings(model, precision, jpegs, self.plan.ceiling_seconds)
                except FramewireError as exc:
                    self.unavailable[f"{model} {precision}"] = str(exc).splitlines()[0]
                    log.warning("%s %s not measured: %s", model, precision, exc)
                    continue
                self.ceilings.append(c.as_dict())
                log.info("%s %s: raw %.1f fps, async loop %.1f fps", model, precision,
                         c.raw_fps, c.loop_fps)

    def _available(self, model: str) -> list[str]:
        return [p for p in self.plan.precisions if f"{model} {p}" not in self.unavailable]

    # -- services -------------------------------------------------------------------------

    def _start_broker(self) -> str:
        if not self.plan.own_broker:
            return self.plan.bootstrap
        self.progress.phase("starting a broker for the run")
        self._home = tempfile.TemporaryDirectory(prefix="fw-cnap-broker-")
        self._broker = LocalBroker(Path(self._home.name), port=free_port(),
                                   controller_port=free_port())
        self._broker.start()
        self.progress.phase(f"warming the broker up ({self.plan.broker_warmup_s:g} s)")
        warm_broker(self._broker.bootstrap, self.plan.broker_warmup_s)
        return self._broker.bootstrap

    def _start_support(self) -> None:
        self.progress.phase("starting dashboard and aggregator")
        port = free_port()
        service = self.launcher.start("dashboard", "dashboard", [], port=port, env={
            "FW_DASHBOARD_HOST": "127.0.0.1", "FW_DASHBOARD_PORT": str(port)})
        self.launcher.wait_http(service, "/readyz")
        port = free_port()
        service = self.launcher.start("aggregator", "aggregator", [], port=port, env={
            "FW_AGGREGATOR_WEB_PORT": str(port), "FW_AGGREGATOR_METRICS_PORT": "0",
            "FW_AGGREGATOR_DATA_DIR": str(self.plan.out / "aggregator-data")})
        self.launcher.wait_http(service, "/ready/")

    def _with_worker(self, model: str, precision: str, body: Any) -> None:
        self.progress.phase(f"starting inference ({model}, {precision})")
        port = free_port()
        env = {"FW_INFERENCE_WORKER_ID": f"cnap-{precision}", "FW_INFERENCE_MODEL": model,
               "FW_INFERENCE_PRECISION": precision, "FW_INFERENCE_MAX_AGE_MS": str(self.plan.max_age_ms),
               "FW_INFERENCE_HTTP_PORT": str(port), "FW_INFERENCE_HTTP_HOST": "127.0.0.1",
               **self.plan.worker_env}
        service = self.launcher.start("inference", "inference", [], env, port=port)
        try:
            self.launcher.wait_http(service, "/readyz", timeout_s=180.0)
            body(model, precision)
        finally:
            self.launcher.stop_group("inference")

    def _pids(self) -> dict[str, list[int]]:
        pids = self.launcher.pids()
        pids[HARNESS] = [os.getpid()]
        broker = self._broker.pid() if self._broker else _shared_broker_pid(self.plan.bootstrap)
        if broker is not None:
            pids[BROKER if self._broker else "broker (shared)"] = [broker]
        return pids

    # -- phases ---------------------------------------------------------------------------

    def _cnap_phase(self, model: str, precision: str) -> None:
        streams = self.plan.stream_ids()[: self.plan.streams]
        self._gateway_phase(f"cnap {model} {precision}", "cnap", model, precision, streams,
                            self.plan.fps, self.plan.seconds)

    def _density(self, model: str, precision: str) -> None:
        for n in self.plan.density_streams:
            streams = self.plan.stream_ids()[:n]
            p = self._gateway_phase(f"density {model} {precision} {n}x{self.plan.density_fps:g}",
                                    "density", model, precision, streams, self.plan.density_fps,
                                    self.plan.density_seconds)
            if not p["within_goal"]:
                return

    def _gateway_phase(self, name: str, kind: str, model: str, precision: str,
                       streams: list[str], fps: float, seconds: float) -> dict[str, Any]:
        self.progress.phase(name)
        starts = self.frames.ends()
        start_ns = time.time_ns()
        self._start_gateway(streams, fps)
        self._wait_for_flow(streams, start_ns)
        self.progress.wait(self.plan.warmup_s)
        cpu0, from_ns, m0 = self.sampler.cpu(), time.time_ns(), time.monotonic()
        counters0 = self._worker_counters()
        self.progress.wait(seconds)
        cpu1, to_ns, m1 = self.sampler.cpu(), time.time_ns(), time.monotonic()
        counters1 = self._worker_counters()
        self.launcher.stop_group("gateway")
        self._unregister(streams)
        end_ns = time.time_ns()
        self.progress.wait(self.plan.max_age_ms / 1000 + 1.5, planned=False)
        sent, _ = self.frames.read(starts, self.frames.ends())
        window = Window(start_ns, from_ns, to_ns, end_ns, time.time_ns())
        seen, drops = self.observer.snapshot()
        summary = summarise(window, streams, Observed(sent, seen, [], drops))
        ages = [(r.recv_ns - r.capture_ns) / 1e6 for r in seen if window.measuring(r.capture_ns)]
        cpu = cpu_share(cpu0, cpu1, m1 - m0)
        summary.update(self._figures(summary, cpu, ages))
        summary["worker"] = {k: counters1.get(k, 0.0) - counters0.get(k, 0.0) for k in counters1}
        summary["worker"]["engine_mode_at_end"] = "throughput" if counters1.get(
            "mode_throughput") else "latency"
        summary.update({"name": name, "kind": kind, "model": model, "precision": precision,
                        "streams": len(streams), "fps_per_stream": fps,
                        "load_average_1m": os.getloadavg()[0]})
        summary["within_goal"] = bool(
            summary["latency_result_ms"]["p99"] is not None
            and summary["latency_result_ms"]["p99"] <= self.plan.p99_limit_ms
            and summary["delivered"] >= self.plan.delivered_min)
        self.phases.append(summary)
        log.info("%s: offered %.1f fps, results %.1f fps, p99 %s ms", name, summary["offered_fps"],
                 summary["throughput_fps"], summary["latency_result_ms"]["p99"])
        return summary

    @staticmethod
    def _figures(summary: dict[str, Any], cpu: dict[str, float], ages: list[float]) -> dict[str, Any]:
        rate = float(summary["throughput_fps"])
        offered = float(summary["offered_fps"])
        per_result = {k: (v / 100.0 / rate * 1000.0 if rate > 0 else None) for k, v in cpu.items()}
        plumbing = sum(v for k, v in cpu.items() if k in PLUMBING)
        inference = cpu.get("inference", 0.0)
        return {
            "delivered": rate / offered if offered > 0 else 0.0,
            "max_age_ms": max(ages) if ages else None,
            "cpu_pct": {k: round(v, 2) for k, v in sorted(cpu.items())},
            "cpu_ms_per_result": {k: (round(v, 2) if v is not None else None)
                                  for k, v in sorted(per_result.items())},
            "cpu_ms_per_result_total": (sum(v for k, v in cpu.items() if k != HARNESS) / 100.0
                                        / rate * 1000.0 if rate > 0 else None),
            "plumbing_over_inference": plumbing / inference if inference > 0 else None,
        }

    def _unregister(self, streams: list[str]) -> None:
        """Tombstones in the stream registry: ``--stream`` registers a stream for good, and
        the next phase's gateway (serving every registered stream) would play it too."""
        producer = make_producer(self.kafka)
        for stream in streams:
            producer.produce(self.kafka.topics.streams, None, stream.encode())
        producer.flush(10)

    def _worker_counters(self) -> dict[str, float]:
        """Counters of the worker's /metrics: transactions, drops by reason, mode switches."""
        service = self.launcher.services.get("inference")
        if service is None or service.port is None:
            return {}
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError as exc:
            log.warning("worker metrics not read: %s", exc)
            return {}
        return _parse_counters(text)

    def _start_gateway(self, streams: list[str], fps: float) -> None:
        media = {m.stream_id: m for m in self.workload.streams}
        clips = [m.clip for m in self.workload.streams]
        args = ["--fps", str(fps), "--width", str(self.plan.width), "--height", str(self.plan.height)]
        for i, stream in enumerate(streams):
            clip = media[stream].clip if stream in media else clips[i % len(clips)]
            args += ["--stream", f"{stream}={clip}"]
        self.launcher.start("gateway", "gateway", args, env={
            "FW_GATEWAY_ID": "cnap-gateway", "FW_GATEWAY_ASSIGNMENT": "all",
            "FW_GATEWAY_METRICS_PORT": "0", "FW_GATEWAY_JPEG_QUALITY": str(self.plan.jpeg_quality)})

    def _wait_for_flow(self, streams: list[str], since_ns: int) -> bool:
        """Until every stream has an answer (a result or an inference drop record): a worker
        too slow for its freshness budget answers with stale drops only, and that is
        measured too (as nothing delivered) rather than failing the run."""
        deadline = time.monotonic() + FLOW_TIMEOUT_S
        while time.monotonic() < deadline:
            self.progress.wait(0.5, planned=False)
            seen, drops = self.observer.snapshot()
            answered = {r.stream for r in seen if r.recv_ns >= since_ns}
            answered |= {d.stream for d in drops
                         if d.time_ns >= since_ns and d.label.startswith("inference:")}
            if answered >= set(streams):
                return True
        log.warning("not every stream was answered within %.0fs; measuring anyway (see %s)",
                    FLOW_TIMEOUT_S, self.plan.out / "logs")
        return False

    def _close(self) -> None:
        for stop in (self.launcher.stop_all, self.observer.stop, self.sampler.stop,
                     self.frames.close, self._stop_broker):
            try:
                stop()
            except Exception:  # one failing stop must not leave the others running
                log.exception("while stopping the run")

    def _stop_broker(self) -> None:
        if self._broker is not None:
            self._broker.stop()
        if self._home is not None:
            self._home.cleanup()


def _shared_broker_pid(bootstrap: str) -> int | None:
    broker = LocalBroker.default()
    return broker.pid() if broker.bootstrap == bootstrap else None


_COUNTERS = {
    'framewire_inference_transactions_total{outcome="committed"}': "transactions",
    'framewire_inference_transactions_total{outcome="aborted"}': "aborted",
    "framewire_inference_engine_mode_switches_total": "mode_switches",
    'framewire_inference_engine_mode{mode="throughput"}': "mode_throughput",
}


def _parse_counters(text: str) -> dict[str, float]:
    found: dict[str, float] = {"stale_drops": 0.0, "frames_in": 0.0}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in _COUNTERS:
            found[_COUNTERS[name]] = float(value)
        elif name.startswith("framewire_inference_drops_total{") and 'reason="stale"' in name:
            found["stale_drops"] += float(value)
        elif name.startswith("framewire_inference_frames_in_total{"):
            found["frames_in"] += float(value)
    return found
