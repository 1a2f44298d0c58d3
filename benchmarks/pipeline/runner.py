"""One benchmark run, phase by phase, on the local broker.

Order: ceilings (nothing else running); dashboard (with its SSE client) and aggregator;
then for each worker count: workers with freshness ``none`` for the capacity phase (closed
loop, every frame processed, as the monolith does), then workers with the production
policy for the gateway phase (first count only), the load sweep (open loop, fractions of
that capacity) and the idle phase; every service stopped; ceilings again. Frames of the
gateway phase come from ``framewire gateway`` playing sample clips; every other phase is
fed by the direct producer (``loadgen``), which can offer more than a gateway paces and
keeps gateway costs out of the inference figures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from ceilings import Ceilings, bracket, measure_ceilings
from launch import Launcher, free_port
from loadgen import Credits, LoadGenerator
from measures import MIB, Dropped, Observed, Sent, Window, summarise
from observe import ResultObserver, SseProbe
from plan import BenchPlan, Phase, PhaseKind
from procstat import ResourceSampler, cpu_share
from progress import Progress
from topics_io import FramesReader, create_topics
from workload import Workload

from framewire.broker.local import LocalBroker
from framewire.core.config import KafkaSettings
from framewire.core.errors import FramewireError
from framewire.core.kafka import check_reachable

log = logging.getLogger(__name__)

WARM_UP_TIMEOUT_S = 120.0
# The capacity phase processes every frame, like the monolith: no freshness skipping.
CAPACITY_FRESHNESS = "none"
DRAIN_TIMEOUT_S = 60.0
HARNESS = "harness"


class BenchRun:
    """Runs ``plan`` once; ``execute`` returns the raw figures (see ``report`` for reading)."""

    def __init__(self, plan: BenchPlan, workload: Workload, progress: Progress) -> None:
        self.plan = plan
        self.workload = workload
        self.progress = progress
        self.kafka = KafkaSettings(bootstrap=plan.bootstrap, topic_prefix=plan.topic_prefix)
        self.streams = plan.stream_ids()
        self.launcher = Launcher(plan.bootstrap, plan.topic_prefix, plan.out / "logs")
        self.phases: list[dict[str, object]] = []
        self.broker_pid = _local_broker_pid(plan.bootstrap)
        # Health of the measurement itself: undecodable records, SSE (re)connections.
        self.observer_stats: dict[str, int] = {}

    def execute(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        check_reachable(self.kafka)
        before = self._ceilings("ceilings (before)")
        self._run_pipeline()
        return bracket(before, self._ceilings("ceilings (after)")), self.phases

    def _ceilings(self, label: str) -> Ceilings:
        """Both ceilings with no service running (half the planned ceiling time)."""
        self.progress.phase(label)
        ceilings = measure_ceilings(self.plan.model, self.workload.all_files(),
                                    self.plan.ceiling_seconds / 2, self.progress.tick)
        log.info("%s: raw %.1f fps, monolith %.1f fps (%s)", label,
                 ceilings.raw_fps, ceilings.monolith_fps, ceilings.precision)
        return ceilings

    def _run_pipeline(self) -> None:
        create_topics(self.kafka, self.streams)
        self.sampler = ResourceSampler(self._pids, alone=frozenset({HARNESS})).start()
        self.observer = ResultObserver(self.kafka, self.streams).start()
        self.loadgen = LoadGenerator(self.kafka, self.workload)
        self.frames = FramesReader(self.kafka, self.streams)
        self.progress.set_check(self.launcher.check_alive)
        self.sse: SseProbe | None = None
        try:
            self._start_support()
            for i, workers in enumerate(self.plan.workers):
                self._sweep(workers, with_gateway=i == 0)
        finally:
            self._close()

    # -- services --------------------------------------------------------------------

    def _start_support(self) -> None:
        self.progress.phase("starting dashboard and aggregator")
        if "dashboard" not in self.plan.without:
            port = free_port()
            service = self.launcher.start("dashboard", "dashboard", [], port=port, env={
                "FW_DASHBOARD_HOST": "127.0.0.1", "FW_DASHBOARD_PORT": str(port)})
            self.launcher.wait_http(service, "/readyz")
            self.sse = SseProbe(f"http://127.0.0.1:{port}", os.environ.get("FW_DASHBOARD_TOKEN")).start()
        if "aggregator" not in self.plan.without:
            port = free_port()
            service = self.launcher.start("aggregator", "aggregator", [], port=port, env={
                "FW_AGGREGATOR_WEB_PORT": str(port), "FW_AGGREGATOR_METRICS_PORT": "0",
                "FW_AGGREGATOR_DATA_DIR": str(self.plan.out / "aggregator-data")})
            self.launcher.wait_http(service, "/ready/")

    def _start_workers(self, count: int, freshness: str | None = None) -> None:
        """``count`` workers, ready and serving every stream; ``freshness`` overrides the policy."""
        self.progress.phase(f"starting {count} inference worker(s)")
        started = []
        for i in range(1, count + 1):
            port = free_port()
            env = {"FW_INFERENCE_WORKER_ID": f"bench-w{i}", "FW_INFERENCE_MODEL": self.plan.model,
                   "FW_INFERENCE_MAX_AGE_MS": str(self.plan.max_age_ms),
                   "FW_INFERENCE_HTTP_PORT": str(port), "FW_INFERENCE_HTTP_HOST": "127.0.0.1"}
            if freshness is not None:
                env["FW_INFERENCE_FRESHNESS"] = freshness
            started.append(self.launcher.start(f"inference-{i}", "inference", [], env, port=port))
        for service in started:
            self.launcher.wait_http(service, "/readyz")
        self._warm_up(count)

    def _warm_up(self, workers: int) -> None:
        """Probe frames until every stream has results and every worker has made some."""
        since = time.time_ns()
        deadline = time.monotonic() + WARM_UP_TIMEOUT_S
        want_workers = min(workers, len(self.streams))
        while time.monotonic() < deadline:
            self.loadgen.probe()
            self.progress.wait(0.5, planned=False)
            seen = self.observer.seen_since(since)
            if {r.stream for r in seen} >= set(self.streams) and \
                    len({r.worker for r in seen}) >= want_workers:
                self.progress.wait(self.plan.settle_s, planned=False)  # probes out of the way
                return
        raise FramewireError(f"{workers} worker(s) did not serve all {len(self.streams)} streams "
                             f"within {WARM_UP_TIMEOUT_S:.0f}s; see {self.plan.out / 'logs'}")

    def _pids(self) -> dict[str, list[int]]:
        pids = self.launcher.pids()
        pids[HARNESS] = [os.getpid()]
        if self.broker_pid is not None:
            pids["broker (shared)"] = [self.broker_pid]
        return pids

    # -- phases ----------------------------------------------------------------------

    def _sweep(self, workers: int, with_gateway: bool) -> None:
        self._start_workers(workers, freshness=CAPACITY_FRESHNESS)
        capacity = self._capacity_phase(workers)
        self.launcher.stop_group("inference")
        self._start_workers(workers)  # the production policy from here on
        if with_gateway and "gateway" not in self.plan.without:
            self._gateway_phase(workers)
        for load in self.plan.loads:
            phase = Phase(f"{load:.0%} w{workers}", PhaseKind.LOAD, workers, load * capacity,
                          self.plan.seconds, load)
            self._load_phase(phase, lambda p=phase: self.loadgen.start_rate(p.offered_fps))
        # Lead-in: windows still open in the aggregator close once its streams fall silent.
        lead_in = self.plan.idle_seconds / 2
        idle = Phase(f"idle w{workers}", PhaseKind.IDLE, workers, 0.0, self.plan.idle_seconds + lead_in)
        self._record(idle, *self._measure(idle, lambda: None, lambda: None, warmup=lead_in), [], [])
        self.launcher.stop_group("inference")

    def _capacity_phase(self, workers: int) -> float:
        """Every frame processed, as the monolith does, with a bounded number in flight: a
        frame goes out whenever one is answered. The result rate is the pipeline's throughput."""
        # The default (12 a stream) keeps a full cycle (8) queued behind the one running, and
        # stays below a worker's partition buffer (16), which would pause the partition.
        credits = Credits(self.streams, self.plan.in_flight)
        phase = Phase(f"capacity w{workers}", PhaseKind.CAPACITY, workers, 0.0, self.plan.seconds)
        self.observer.on_answer = credits.give

        def stop() -> None:
            self.loadgen.stop()
            if not credits.wait_returned(DRAIN_TIMEOUT_S):  # the queue is part of the phase
                log.warning("frames of %s still unanswered after %.0fs", phase.name, DRAIN_TIMEOUT_S)

        try:
            capacity = self._load_phase(phase, lambda: self.loadgen.start_closed(credits), stop)
        finally:
            self.observer.on_answer = None
        self.phases[-1].update(in_flight_per_stream=credits.per_stream, freshness=CAPACITY_FRESHNESS)
        if capacity <= 0:
            raise FramewireError(f"no results at all in the capacity phase; see {self.plan.out / 'logs'}")
        return capacity

    def _load_phase(self, phase: Phase, start: Callable[[], None],
                    stop: Callable[[], None] | None = None) -> float:
        window, cpu, rss = self._measure(phase, start, stop or self.loadgen.stop)
        extra = [Dropped("*", window.end_ns, label, n) for label, n in self.loadgen.take_drops().items()]
        summary = self._record(phase, window, cpu, rss, self.loadgen.take_sent(), extra)
        throughput = summary["throughput_fps"]
        assert isinstance(throughput, float)
        return throughput

    def _gateway_phase(self, workers: int) -> None:
        phase = Phase(f"gateway w{workers}", PhaseKind.GATEWAY, workers,
                      self.plan.fps * self.plan.streams, self.plan.seconds)
        self.progress.phase("starting the gateway")
        starts = self.frames.ends()
        start_ns = time.time_ns()
        self._start_gateway()
        self._wait_for_flow(start_ns)
        window, cpu, rss = self._measure(phase, lambda: None,
                                         lambda: self.launcher.stop_group("gateway"), start_ns=start_ns)
        sent, last = self.frames.read(starts, self.frames.ends())
        self.loadgen.continue_after(last)
        self._record(phase, window, cpu, rss, sent, [])

    def _start_gateway(self) -> None:
        args = ["--fps", str(self.plan.fps), "--width", str(self.plan.width),
                "--height", str(self.plan.height)]
        for media in self.workload.streams:
            args += ["--stream", f"{media.stream_id}={media.clip}"]
        self.launcher.start("gateway", "gateway", args, env={
            "FW_GATEWAY_ID": "bench-gateway", "FW_GATEWAY_ASSIGNMENT": "all",
            "FW_GATEWAY_METRICS_PORT": "0", "FW_GATEWAY_JPEG_QUALITY": str(self.plan.jpeg_quality)})

    def _wait_for_flow(self, since_ns: int) -> None:
        deadline = time.monotonic() + WARM_UP_TIMEOUT_S
        while time.monotonic() < deadline:
            self.progress.wait(0.5, planned=False)
            if {r.stream for r in self.observer.seen_since(since_ns)} >= set(self.streams):
                return
        raise FramewireError(f"the gateway's frames gave no results within {WARM_UP_TIMEOUT_S:.0f}s; "
                             f"see {self.plan.out / 'logs'}")

    def _measure(self, phase: Phase, start_load: Callable[[], None], stop_load: Callable[[], None],
                 warmup: float | None = None, start_ns: int | None = None,
                 ) -> tuple[Window, dict[str, float], dict[str, int]]:
        """Run the load for the phase; CPU over the measurement window, RSS over the phase."""
        self.progress.phase(phase.name)
        warmup = self.plan.warmup_s if warmup is None else warmup
        start_ns, t0 = start_ns or time.time_ns(), time.monotonic()
        start_load()
        self.progress.wait(warmup)
        cpu0, from_ns, m0 = self.sampler.cpu(), time.time_ns(), time.monotonic()
        self.progress.wait(phase.seconds - warmup)
        cpu1, to_ns, m1 = self.sampler.cpu(), time.time_ns(), time.monotonic()
        stop_load()
        end_ns = time.time_ns()
        if phase.kind is not PhaseKind.IDLE:
            self.progress.wait(self.plan.settle_s)
        window = Window(start_ns, from_ns, to_ns, end_ns, time.time_ns())
        return window, cpu_share(cpu0, cpu1, m1 - m0), self.sampler.rss_max(t0, m1)

    def _record(self, phase: Phase, window: Window, cpu: dict[str, float], rss: dict[str, int],
                sent: list[Sent], extra_drops: list[Dropped]) -> dict[str, object]:
        seen, drops = self.observer.snapshot()
        shown, lost = self.sse.snapshot() if self.sse else ([], [])
        summary = summarise(window, self.streams, Observed(sent, seen, shown, drops + lost + extra_drops))
        summary.update({
            "name": phase.name, "kind": phase.kind.value, "workers": phase.workers,
            "load": phase.load, "offered_fps_target": phase.offered_fps,
            "cpu_pct": {k: round(v, 2) for k, v in sorted(cpu.items())},
            "rss_mib": {k: round(v / MIB, 1) for k, v in sorted(rss.items())},
            "load_average_1m": os.getloadavg()[0],
        })
        self.phases.append(summary)
        log.info("%s: offered %.1f fps, results %.1f fps", phase.name,
                 summary["offered_fps"], summary["throughput_fps"])
        return summary

    def _close(self) -> None:
        self.observer_stats = {
            "results_reader_malformed": self.observer.malformed,
            "sse_connects": self.sse.connects if self.sse else 0,
            "sse_malformed": self.sse.malformed if self.sse else 0,
        }
        stops = [self.loadgen.stop, self.loadgen.close, *([self.sse.stop] if self.sse else []),
                 self.launcher.stop_all, self.observer.stop, self.sampler.stop, self.frames.close]
        for stop in stops:
            try:
                stop()
            except Exception:  # one failing stop must not leave the others running
                log.exception("while stopping the run")


def _local_broker_pid(bootstrap: str) -> int | None:
    """The pid of ``framewire kafka up``'s broker when that is the one we use."""
    broker = LocalBroker.default()
    return broker.pid() if broker.bootstrap == bootstrap else None
