"""Inference service benchmark: one run, figures measured side by side.

1. Throughput of ``framewire inference`` (a worker process, real broker, exactly-once
   transactions) against an in-process loop doing the same work (take the JPEG bytes,
   decode, infer, post-process) on the same frames and model: the ratio.
2. Capture->result latency p50/p95/p99 (result as seen by a read_committed reader) at 50%
   and 200% of the measured capacity, and Jain's fairness index across streams at 200%.
3. Idle CPU of a worker process with no traffic.

Usage: FW_KAFKA_BOOTSTRAP=127.0.0.1:9092 python benchmarks/bench_inference.py [--frames 600]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np
import skimage.data
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config, make_admin, make_producer
from framewire.models.loader import load_detector
from framewire.v1.detection_pb2 import DetectionResult
from support.inference import FramePublisher, create_streams, frame_bytes, jpeg_of

MODEL = "ssd-mobilenet-v2-oidv4"
STREAMS = ["b0", "b1", "b2", "b3"]


def photo_jpeg() -> tuple[bytes, int, int]:
    bgr = np.ascontiguousarray(skimage.data.coffee()[:, :, ::-1])  # 600x400, a typical frame
    return jpeg_of(bgr), bgr.shape[1], bgr.shape[0]


def baseline_fps(jpeg: bytes, frames: int) -> tuple[float, str]:
    """The in-process loop: decode, infer, post-process, one frame after the other."""
    detector = load_detector(MODEL)
    detector.detect(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))  # warm up
    start = time.perf_counter()
    for _ in range(frames):
        detector.detect(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    return frames / (time.perf_counter() - start), detector.info.precision


def fresh_kafka() -> KafkaSettings:
    return KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")


def start_worker(kafka: KafkaSettings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    full = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix, "FW_INFERENCE_WORKER_ID": "bench",
            "FW_INFERENCE_MODEL": MODEL, "FW_INFERENCE_HTTP_PORT": "-1", **env}
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "framewire.cli", "inference"], env=full,
                                stdout=subprocess.DEVNULL, stderr=sink)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    worker.wait(60)


class Arrivals:
    """A read_committed reader stamping each result with the time it became visible."""

    def __init__(self, kafka: KafkaSettings, streams: list[str]) -> None:
        conf = consumer_config(kafka, f"bench-reader-{uuid.uuid4().hex[:6]}")
        self._c = Consumer(conf)
        self._c.assign([TopicPartition(kafka.topics.results(s), 0, OFFSET_BEGINNING)
                        for s in streams])
        self.seen: list[tuple[int, DetectionResult]] = []

    def read(self, until_count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < until_count and time.monotonic() < deadline:
            m = self._c.poll(0.2)
            if m is not None and m.error() is None:
                self.seen.append((time.time_ns(), decode(DetectionResult, m.value())))

    def close(self) -> None:
        self._c.close()


def service_fps(jpeg: bytes, w: int, h: int, frames: int, tmp: Path) -> float:
    """Frames queued up front (freshness none), then drained by one worker process."""
    kafka = fresh_kafka()
    create_streams(kafka, STREAMS)
    producer = make_producer(kafka)
    for i in range(frames):
        s = STREAMS[i % len(STREAMS)]
        producer.produce(kafka.topics.frames(s), frame_bytes(jpeg, s, i, width=w, height=h))
        producer.poll(0)
    producer.flush(60)
    worker = start_worker(kafka, tmp / "throughput.log", FW_INFERENCE_FRESHNESS="none")
    arrivals = Arrivals(kafka, STREAMS)
    arrivals.read(frames, 120)
    stop_worker(worker)
    arrivals.close()
    times = sorted(t for t, _ in arrivals.seen)
    if len(times) < frames:
        raise SystemExit(f"only {len(times)} of {frames} results arrived; see {tmp}")
    # From the first to the last committed result: start-up and group join excluded.
    return (len(times) - 1) / ((times[-1] - times[0]) / 1e9)


def load_run(jpeg: bytes, w: int, h: int, total_fps: float, seconds: float, tmp: Path,
             name: str) -> tuple[list[float], dict[str, int]]:
    """Feed all streams at ``total_fps`` for ``seconds``; capture->visible latencies (ms)."""
    kafka = fresh_kafka()
    create_streams(kafka, STREAMS)
    worker = start_worker(kafka, tmp / f"{name}.log")
    arrivals = Arrivals(kafka, STREAMS)
    warm = make_producer(kafka)
    for s in STREAMS:  # wait until the worker has joined and serves every stream
        warm.produce(kafka.topics.frames(s), frame_bytes(jpeg, s, 0, width=w, height=h))
    warm.flush(10)
    arrivals.read(len(STREAMS), 60)
    arrivals.seen.clear()
    feed = FramePublisher(kafka, STREAMS, jpeg, width=w, height=h,
                          fps=total_fps / len(STREAMS)).start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        arrivals.read(10**9, min(1.0, deadline - time.monotonic()))
    feed.stop()
    arrivals.read(10**9, 1.0)
    stop_worker(worker)
    arrivals.close()
    latencies = [(t - r.capture_time_ns) / 1e6 for t, r in arrivals.seen]
    counts = {s: 0 for s in STREAMS}
    for _, r in arrivals.seen:
        counts[r.stream_id] += 1
    return latencies, counts


def idle_cpu(tmp: Path, seconds: float) -> float:
    """CPU share of one core used by a worker process with nothing to do."""
    kafka = fresh_kafka()
    create_streams(kafka, STREAMS)
    worker = start_worker(kafka, tmp / "idle.log")
    time.sleep(8.0)  # model load, group join
    before = _cpu_seconds(worker.pid)
    time.sleep(seconds)
    used = _cpu_seconds(worker.pid) - before
    stop_worker(worker)
    return used / seconds


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def jain(counts: list[int]) -> float:
    total = sum(counts)
    return total * total / (len(counts) * sum(c * c for c in counts)) if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    jpeg, w, h = photo_jpeg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    # The machine is shared: measure the loop before and after the service and use the mean.
    before, precision = baseline_fps(jpeg, args.frames)
    service = service_fps(jpeg, w, h, args.frames, tmp)
    after, _ = baseline_fps(jpeg, args.frames)
    base = (before + after) / 2
    print(f"in-process loop      : {base:7.1f} fps (before {before:.1f}, after {after:.1f}; "
          f"{MODEL}, {precision}, {w}x{h} JPEG)")
    print(f"framewire inference  : {service:7.1f} fps (exactly-once, 1 worker, 4 streams)")
    print(f"throughput ratio     : {service / base:7.3f} (goal >= 0.90)")
    for share, name in ((0.5, "50%"), (2.0, "200%")):
        lat, counts = load_run(jpeg, w, h, share * service, args.seconds, tmp, name)
        print(f"latency at {name:>4} load : p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms"
              f"  p99 {pct(lat, 99):6.1f} ms  ({len(lat)} results, {share * service:.0f} fps in)")
        if share > 1:
            print(f"fairness at 200%     : Jain {jain(list(counts.values())):.4f} "
                  f"(goal >= 0.98) per stream {counts}")
    # A pattern subscription re-reads the metadata of every topic: its idle cost grows with
    # the cluster's topic count, so print it beside the figure.
    topics = len(make_admin(KafkaSettings()).list_topics(timeout=10).topics)
    print(f"idle CPU             : {100 * idle_cpu(tmp, 10.0):6.2f} % of one core (goal < 1%; "
          f"{topics} topics on the broker)")
    print(f"worker logs in {tmp}")


if __name__ == "__main__":
    main()
