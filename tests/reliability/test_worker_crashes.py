"""Inference workers SIGKILLed every few seconds during a multi-stream run.

Two ``framewire inference`` processes share four streams; every few seconds one of them is
killed outright and restarted under the same worker id (which fences its zombie). Every
frame offset must end with exactly one committed result or one drop record, and a
read_committed reader must see no duplicate. The extended run is
``pytest -m "reliability and slow" tests/reliability/test_worker_crashes.py``.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from framewire.core.config import KafkaSettings
from framewire.v1.detection_pb2 import DetectionResult
from reliability.procs import Service, kafka_env
from support.inference import (
    FramePublisher,
    TopicReader,
    coverage,
    create_streams,
    jpeg_of,
    read_until_covered,
)

pytestmark = pytest.mark.reliability

MODEL = "ssd-mobilenet-v2-oidv4"
STREAMS = [f"k{i}" for i in range(4)]
FPS = 8
SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms
# How long after the last kill every stream must be detected again (liveness, not speed).
RESUME_BOUND_S = 60.0


def worker(kafka: KafkaSettings, worker_id: str, log: Path) -> Service:
    env = {**kafka_env(kafka), "FW_INFERENCE_WORKER_ID": worker_id, "FW_INFERENCE_MODEL": MODEL,
           "FW_INFERENCE_HTTP_PORT": "-1", "FW_INFERENCE_POLL_TIMEOUT_S": "0.2",
           "FW_INFERENCE_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
           "FW_INFERENCE_METADATA_REFRESH_MS": "1000",
           # (the suite's budget on a loaded machine; see reliability/failover.py)
           "FW_INFERENCE_MAX_AGE_MS": "2000"}
    return Service(f"inference-{worker_id}", ["inference"], env, log).start()


def longest_silence_s(results: list, streams: list[str]) -> float:
    """The longest time any stream went without a committed result, once results flowed."""
    longest = 0.0
    for stream in streams:
        times = sorted(r.result_time_ns for r in results if r.stream_id == stream)
        longest = max([longest, *((b - a) / 1e9 for a, b in itertools.pairwise(times))])
    return longest


@pytest.mark.parametrize(("run_s", "every_s"), [
    (8.0, 4.0), pytest.param(180.0, 3.0, marks=[pytest.mark.slow, pytest.mark.timeout(600)]),
])
def test_sigkilled_workers_lose_and_duplicate_no_frame(
    kafka_settings: KafkaSettings, tmp_path: Path, run_s: float, every_s: float
) -> None:
    # Given four 8 fps streams and two worker processes sharing them
    create_streams(kafka_settings, STREAMS)
    photo = np.ascontiguousarray(skimage.data.coffee()[::2, ::2, ::-1])
    h, w = photo.shape[:2]
    workers = {wid: worker(kafka_settings, wid, tmp_path / f"{wid}.log") for wid in ("a", "b")}
    feed = FramePublisher(kafka_settings, STREAMS, jpeg_of(photo), width=w, height=h, fps=FPS).start()
    kills, last_kill_ns = 0, 0
    watch = TopicReader(kafka_settings, [kafka_settings.topics.results(s) for s in STREAMS],
                        DetectionResult)

    def detected_since(ns: int) -> Callable[[list], bool]:
        return lambda rs: {r.stream_id for r in rs if r.result_time_ns > ns} == set(STREAMS)

    try:
        # (once every stream is being detected)
        assert watch.read_until(detected_since(0), 60) and detected_since(0)(watch.items)
        # When, every few seconds, one of them is SIGKILLed and restarted with the same id
        started = time.monotonic()
        while time.monotonic() - started < run_s:
            time.sleep(every_s)
            victim = "ab"[kills % 2]
            workers[victim].kill()
            last_kill_ns = time.time_ns()
            kills += 1
            workers[victim] = worker(kafka_settings, victim, tmp_path / f"{victim}.log")
        # (and the streams keep coming until each is detected again after the last death)
        # (a liveness bound, generous for a loaded machine: how fast is benchmarks/
        # bench_group_failover.py's question, not this test's)
        watch.read_until(detected_since(last_kill_ns), RESUME_BOUND_S)
        sent = feed.stop()
        results, drops = read_until_covered(kafka_settings, sent, 60)
    finally:
        watch.close()
        if feed.running:
            feed.stop()
        codes = {wid: s.stop() for wid, s in workers.items()}
    # Then every frame offset has exactly one committed result or drop record
    seen = coverage(results, drops)
    for stream, n in sent.items():
        counts = Counter(seen.get((kafka_settings.topics.frames(stream), 0), []))
        assert not [o for o, c in counts.items() if c > 1], f"{stream}: duplicates"
        assert sorted(counts) == list(range(n)), f"{stream}: lost {sorted(set(range(n)) - set(counts))[:20]}"
    assert all(d.count == d.last_offset - d.first_offset + 1 for d in drops)
    # And after the last kill every stream was detected again, and both workers stopped cleanly
    resumed = {stream: [r.result_time_ns for r in results
                        if r.stream_id == stream and r.result_time_ns > last_kill_ns]
               for stream in STREAMS}
    assert all(resumed.values()), {s: len(t) for s, t in resumed.items()}
    recovery_s = max(min(t) - last_kill_ns for t in resumed.values()) / 1e9
    assert codes == {"a": 0, "b": 0}, codes
    print(f"RELIABILITY crash: kills={kills} frames={sum(sent.values())} results={len(results)} "
          f"dropped={sum(d.count for d in drops)} duplicates=0 lost=0 "
          f"recovery_after_last_kill_s={recovery_s:.1f} "
          f"longest_stream_silence_s={longest_silence_s(results, STREAMS):.1f}")
