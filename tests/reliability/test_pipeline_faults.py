"""The whole pipeline (gateway, inference, aggregator, dashboard as processes) with eight
streams on a private broker: first a soak, then the broker stopped for 10 s.

Soak: no errors, resident memory of each service growing under 5 % from the first third
of the run to the last, no queue growing (the frames not yet covered by a result or drop
record stay level; latency percentiles are printed, as they follow the machine's load),
nothing dead-lettered. CI soaks 12 s; the 10-minute soak is
``pytest -m "reliability and slow" tests/reliability/test_pipeline_faults.py``.

Outage: the broker is killed for 10 s and started again; every service must resume by
itself (the time is printed), memory must stay bounded, the frames lost are counted by reason, and
every frame on the broker still ends with exactly one result or drop record.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from framewire.broker.local import LocalBroker
from framewire.core.config import KafkaSettings
from framewire.samples import make_samples
from framewire.v1.ops_pb2 import DropRecord
from reliability.procs import Service, free_port, kafka_env, wait_until
from reliability.watch import PipelineWatch
from support.broker import start_private_broker
from support.delivery import end_offsets
from support.gateway import spec, write_specs
from support.inference import coverage, create_streams, read_until_covered

pytestmark = pytest.mark.reliability

STREAMS = [f"c{i}" for i in range(8)]
FPS = 5
MODEL = "ssd-mobilenet-v2-oidv4"
OUTAGE_S = 10.0
# Every service must resume by itself within this (liveness: how fast it does on this
# machine is printed and kept in docs/reliability.md, not asserted; a loaded 2-core
# machine has taken 25-30 s for the group members).
RECOVERY_LIMIT_S = 45.0
SERVICES = ("gateway", "inference", "aggregator", "dashboard")


@dataclass
class Pipeline:
    kafka: KafkaSettings
    broker: LocalBroker
    services: dict[str, Service]
    watch: PipelineWatch
    dashboard_url: str

    def rss(self) -> dict[str, float]:
        return {name: s.rss_mib() for name, s in self.services.items()}

    def results_seen(self) -> int:
        try:
            reply = httpx.get(f"{self.dashboard_url}/api/streams", timeout=2)
            return sum(s["live"]["results_seen"] for s in reply.json()["streams"])
        except (httpx.HTTPError, ValueError, KeyError):
            return -1

    def dashboard_ready(self) -> bool:
        try:
            return httpx.get(f"{self.dashboard_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def service_envs(kafka: KafkaSettings, tmp: Path) -> dict[str, dict[str, str]]:
    base = {**kafka_env(kafka), "FW_KAFKA_CONNECT_TIMEOUT_S": "5"}
    return {
        "gateway": {**base, "FW_GATEWAY_ASSIGNMENT": "all", "FW_GATEWAY_METRICS_PORT": "0",
                    "FW_GATEWAY_STATUS_INTERVAL_S": "1",
                    "FW_GATEWAY_MEDIA_ROOTS": str(tmp)},
        "inference": {**base, "FW_INFERENCE_MODEL": MODEL, "FW_INFERENCE_HTTP_PORT": "-1",
                      "FW_INFERENCE_WORKER_ID": "soak", "FW_INFERENCE_METADATA_REFRESH_MS": "1000",
                      "FW_INFERENCE_SESSION_TIMEOUT_MS": "6000",
                      # Eight streams and four services saturate two cores: with the 500 ms
                      # default, results late at commit become stale drops and whole streams
                      # go quiet. This suite measures errors, memory, drift and recovery,
                      # not freshness (the overload and freshness tests do that).
                      "FW_INFERENCE_MAX_AGE_MS": "2000"},
        "aggregator": {**base, "FW_AGGREGATOR_METRICS_PORT": "0", "FW_AGGREGATOR_WEB_PORT": "0",
                       "FW_AGGREGATOR_DATA_DIR": str(tmp / "agg"), "FW_AGGREGATOR_TUMBLING_S": "2",
                       "FW_AGGREGATOR_HOPPING_S": "4", "FW_AGGREGATOR_HOPPING_STEP_S": "2",
                       "FW_AGGREGATOR_DISCOVER_S": "2"},
        "dashboard": {**base, "FW_DASHBOARD_PORT": str(free_port()),
                      "FW_DASHBOARD_TOPIC_REFRESH_S": "1", "FW_DASHBOARD_MEDIA_ROOTS": str(tmp)},
    }


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("pipeline")
    broker = start_private_broker(tmp / "broker", "for the pipeline tests")
    kafka = KafkaSettings(bootstrap=broker.bootstrap, topic_prefix=f"p{uuid.uuid4().hex[:8]}.")
    clip = make_samples(tmp / "media", width=320, height=240, fps=FPS, seconds=4.0, names=("coffee",))[0]
    create_streams(kafka, STREAMS)
    write_specs(kafka, [spec(s, f"file://{clip}", fps=FPS) for s in STREAMS])
    envs = service_envs(kafka, tmp)
    services = {n: Service(n, [n], envs[n], tmp / f"{n}.log").start() for n in SERVICES}
    watch = PipelineWatch(kafka, STREAMS)
    running = Pipeline(kafka, broker, services, watch,
                       f"http://127.0.0.1:{envs['dashboard']['FW_DASHBOARD_PORT']}")
    try:
        flowing = wait_until(lambda: all(watch.results(s) for s in STREAMS)
                             and watch.stats_after(0) > 0 and running.results_seen() > 0, 90)
        if not flowing:
            pytest.fail(f"pipeline not flowing in 90 s: results {[len(watch.results(s)) for s in STREAMS]}, "
                        f"stats {watch.stats_after(0)}, dashboard {running.results_seen()}\n"
                        + "\n".join(s.log_digest() for s in services.values()))
        yield running
    finally:
        for service in services.values():
            service.stop()
        watch.close()
        broker.kill()


def thirds(values: list[float]) -> tuple[list[float], list[float]]:
    third = max(1, len(values) // 3)
    return values[:third], values[-third:]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if " ERROR " in ln or "Traceback" in ln]


@pytest.mark.parametrize(
    "soak_s", [12.0, pytest.param(600.0, marks=[pytest.mark.slow, pytest.mark.timeout(900)])]
)
def test_eight_streams_soak_without_errors_growth_or_drift(pipeline: Pipeline, soak_s: float) -> None:
    # Given the pipeline running eight 5 fps streams, warmed up
    time.sleep(3.0)
    started_ns = time.time_ns()
    # When it runs for the soak period, its memory and backlog sampled every second
    samples: dict[str, list[float]] = {n: [] for n in SERVICES}
    backlog: list[float] = []
    deadline = time.monotonic() + soak_s
    while time.monotonic() < deadline:
        for name, rss in pipeline.rss().items():
            samples[name].append(rss)
        backlog.append(pipeline.watch.backlog())
        time.sleep(1.0)
    # Then every service is alive and logged no error, and nothing was dead-lettered
    assert all(s.alive() for s in pipeline.services.values())
    errors = {n: error_lines(s.log_text()) for n, s in pipeline.services.items()}
    assert not any(errors.values()), errors
    assert pipeline.watch.dead_letters() == 0
    # And resident memory grew less than 5 % from the first third of the run to the last
    growth = {}
    for name, rss in samples.items():
        first, last = thirds(rss)
        growth[name] = statistics.median(last) / statistics.median(first) - 1
    assert all(g < 0.05 for g in growth.values()), growth
    # And no queue grew: the frames not yet covered by a result or drop record in the last
    # third are within two seconds of offered frames of the first third's. (A queue that
    # grows, the failure this guards against, grows by what the worker cannot serve every
    # second; latency itself follows the machine's load and is printed, not bounded.)
    early, late = (statistics.median(part) for part in thirds(backlog))
    assert late <= max(2 * early, early + 2 * FPS * len(STREAMS)), backlog
    timed = sorted((r.result_time_ns, r.latency_ms) for s in STREAMS
                   for r in pipeline.watch.results(s) if r.result_time_ns > started_ns)
    first, last = thirds([latency for _, latency in timed])  # in the order results came
    p50 = (percentile(first, 50), percentile(last, 50))
    p95 = (percentile(first, 95), percentile(last, 95))
    # And no stream was starved: each had results in the last third of the run
    per_stream = Counter(s for s in STREAMS for r in pipeline.watch.results(s)
                         if r.result_time_ns > started_ns)
    last_third_ns = started_ns + int(soak_s * 2 / 3 * 1e9)
    assert all(any(r.result_time_ns > last_third_ns for r in pipeline.watch.results(s))
               for s in STREAMS), per_stream
    print(f"RELIABILITY soak {soak_s:.0f}s: rss_growth={ {n: f'{g:+.1%}' for n, g in growth.items()} } "
          f"rss_mib={ {n: round(statistics.median(v)) for n, v in samples.items()} } "
          f"p50_ms={p50[0]:.0f}->{p50[1]:.0f} p95_ms={p95[0]:.0f}->{p95[1]:.0f} "
          f"backlog_frames={early:.0f}->{late:.0f} "
          f"results={sum(per_stream.values())}")


def recovered(pipeline: Pipeline, up_ns: int, results_at_up: int) -> dict[str, bool]:
    w = pipeline.watch
    return {
        "gateway": all(any(f.capture_time_ns > up_ns for f in w.frames(s)) for s in STREAMS),
        "inference": all(any(r.result_time_ns > up_ns for r in w.results(s)) for s in STREAMS),
        "aggregator": w.stats_after(up_ns) > 0,
        "dashboard": pipeline.dashboard_ready() and pipeline.results_seen() > results_at_up,
    }


def test_broker_outage_every_service_recovers_and_losses_are_counted(pipeline: Pipeline) -> None:
    # Given the running pipeline and its memory before
    before = pipeline.rss()
    peak = dict(before)
    # When the broker is killed for 10 s and started again
    pipeline.broker.kill()
    down_until = time.monotonic() + OUTAGE_S
    while time.monotonic() < down_until:
        peak = {n: max(peak[n], rss) for n, rss in pipeline.rss().items()}
        time.sleep(0.5)
    pipeline.broker.start()
    up_ns, up = time.time_ns(), time.monotonic()
    results_at_up = pipeline.results_seen()
    # Then each service resumes by itself (liveness bound RECOVERY_LIMIT_S)
    recovery: dict[str, float] = {}
    while len(recovery) < len(SERVICES) and time.monotonic() - up < RECOVERY_LIMIT_S:
        for name, ok in recovered(pipeline, up_ns, results_at_up).items():
            if ok and name not in recovery:
                recovery[name] = time.monotonic() - up
        peak = {n: max(peak[n], rss) for n, rss in pipeline.rss().items()}
        time.sleep(0.25)
    assert set(recovery) == set(SERVICES), (recovery, {n: s.log_text()[-800:]
                                                       for n, s in pipeline.services.items()})
    assert all(s.alive() for s in pipeline.services.values())
    # And memory stayed bounded: no service grew by more than 64 MiB
    assert all(peak[n] - before[n] < 64 for n in SERVICES), (before, peak)
    # And the frames the gateway lost are counted per stream with their reason, and cover
    # every gap in the published sequence numbers
    gateway_code = pipeline.services["gateway"].stop()
    drops = [d for d in pipeline.watch.drops() if d.service == "gateway"]
    lost_by_reason = Counter(DropRecord.Reason.Name(d.reason) for d in drops for _ in range(d.count))
    copies: dict[str, set[int]] = {}
    for stream in STREAMS:
        frames = sorted(pipeline.watch.frames(stream), key=lambda f: f.offset)
        first_at: dict[tuple[int, int], int] = {}
        for f in frames:  # a copy is a later record of the same frame
            if first_at.setdefault((f.sequence, f.capture_time_ns), f.offset) != f.offset:
                copies.setdefault(stream, set()).add(f.offset)
        sequences = sorted({f.sequence for f in frames})
        gaps = sequences[-1] - sequences[0] + 1 - len(sequences)
        counted = sum(d.count for d in drops if d.stream_id == stream)
        assert 0 < gaps <= counted, (stream, gaps, counted)
    # And every frame on the broker ends with exactly one result or drop record; a copy the
    # producer wrote again after the crash is a duplicate drop, never a second result
    # (What each topic holds is read from the broker: the watch may not yet have read the
    # last frames the gateway wrote before it stopped.)
    topics = pipeline.kafka.topics
    ends = end_offsets(pipeline.kafka, [topics.frames(s) for s in STREAMS])
    sent = {s: ends[topics.frames(s)] for s in STREAMS}
    results, inference_drops = read_until_covered(pipeline.kafka, sent, 60)
    seen = coverage(results, inference_drops)
    for stream, n in sent.items():
        counts = Counter(seen.get((pipeline.kafka.topics.frames(stream), 0), []))
        assert sorted(counts) == list(range(n)) and max(counts.values()) == 1, stream
        # A copy is a drop: DUPLICATE, or STALE when it was already too old to be looked at
        dropped = {o for d in inference_drops if d.stream_id == stream
                   for o in range(d.first_offset, d.last_offset + 1)}
        assert copies.get(stream, set()) <= dropped, stream
        by_frame = Counter((r.capture_time_ns, r.frame_sequence) for r in results
                           if r.stream_id == stream)
        assert not by_frame or max(by_frame.values()) == 1, f"{stream}: two results for a frame"
    assert gateway_code == 0
    print(f"RELIABILITY outage {OUTAGE_S:.0f}s: recovery_s={ {n: round(s, 1) for n, s in recovery.items()} } "
          f"rss_growth_mib={ {n: round(peak[n] - before[n], 1) for n in SERVICES} } "
          f"gateway_lost={dict(lost_by_reason)} "
          f"inference_dropped={sum(d.count for d in inference_drops)} "
          f"frame_copies={ {s: len(c) for s, c in copies.items()} } duplicate_results=0")
