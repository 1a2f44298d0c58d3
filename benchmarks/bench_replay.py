"""Replay benchmark: speed of ``framewire replay`` as a multiple of real time.

A 640x480 @ 15 fps stream is recorded on the broker (photos shifted a little every frame,
so every JPEG differs; Kafka timestamps 1/15 s apart, as a gateway stamps them). Then, in
the same run and alternating, to see the machine's load in both figures:

1. the bare model loop on the same JPEGs (full decode, preprocess, infer, post-process,
   one frame after the other, no Kafka): what the model alone can do here;
2. ``run_replay`` over the recorded range into a fresh topic (reading, the inference
   service's engine, transactional writes) with the THROUGHPUT hint ``framewire replay``
   uses by default: frames/s and multiple of real time.

The ratio of the two says what Kafka and the transactions cost. Goal: replay >= 10x real time.

Usage: FW_KAFKA_BOOTSTRAP=127.0.0.1:9092 python benchmarks/bench_replay.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass

import cv2
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np

from framewire.core.config import KafkaSettings
from framewire.models.api import Detector
from framewire.models.perframe.loading import load_model
from framewire.replay.run import ReplayRequest, ReplaySummary, run_replay
from framewire.replay.settings import ReplaySettings
from framewire.replay.window import TimeWindow
from support.replay import photo_jpegs, record

FPS = 15
WIDTH, HEIGHT = 640, 480
STREAM = "rec"


@dataclass(frozen=True)
class Measured:
    fps: float
    # CPU time of this process (all threads) per frame: what the machine's load hides least.
    cpu_ms: float
    summary: ReplaySummary | None = None


def bare_loop(detector: Detector, jpegs: list[bytes]) -> Measured:
    start, cpu = time.perf_counter(), time.process_time()
    for jpeg in jpegs:
        detector.detect(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    return Measured(len(jpegs) / wall, 1000 * used / len(jpegs))


def replay_once(settings: ReplaySettings, window: TimeWindow, run: int) -> Measured:
    output = f"{settings.kafka.topics.results(STREAM)}.bench-{run}"
    cpu = time.process_time()
    summary = run_replay(settings, ReplayRequest(STREAM, window, output))
    if summary.results != summary.frames:
        raise RuntimeError(f"replay wrote {summary.results} of {summary.frames} results")
    # Set-up (model compile from cache, lookups) is in the CPU figure too: a small bias.
    used = time.process_time() - cpu
    return Measured(summary.results / summary.seconds, 1000 * used / summary.results, summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="recorded length (default 30)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    args = parser.parse_args()
    kafka = KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    # As ``framewire replay`` runs by default; the bare loop gets the hint best for it.
    settings = ReplaySettings(kafka=kafka, performance_hint="THROUGHPUT")
    jpegs = photo_jpegs(args.seconds * FPS, WIDTH, HEIGHT, hold=FPS)
    window = record(kafka, STREAM, jpegs, width=WIDTH, height=HEIGHT, fps=FPS).window()
    detector = load_model(settings.model_copy(update={"performance_hint": "LATENCY"}))
    bare_loop(detector, jpegs[:FPS])  # warm-up
    bare, replays = [], []
    for run in range(args.rounds):
        bare.append(bare_loop(detector, jpegs))
        replays.append(replay_once(settings, window, run))
    report(settings, detector, len(jpegs), bare, replays)
    return 0


def report(settings: ReplaySettings, detector: Detector, frames: int, bare: list[Measured],
           replays: list[Measured]) -> None:
    best = max(replays, key=lambda m: m.fps)
    best_bare = max(bare, key=lambda m: m.fps)
    assert best.summary is not None
    out = sys.stdout.write
    out(f"machine      {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end\n")
    out(f"model        {detector.info.model_id} {detector.info.version} "
        f"({detector.info.precision}; hint LATENCY for the bare loop, "
        f"{settings.performance_hint} for the replay)\n")
    out(f"recording    {frames} frames {WIDTH}x{HEIGHT} @ {FPS} fps = "
        f"{best.summary.recorded_seconds:.1f} s of video\n")
    for i, (b, r) in enumerate(zip(bare, replays, strict=True)):
        assert r.summary is not None
        out(f"round {i + 1}      bare model loop {b.fps:6.1f} frames/s {b.cpu_ms:5.1f} CPU ms/frame"
            f" | replay {r.fps:6.1f} frames/s {r.cpu_ms:5.1f} CPU ms/frame in "
            f"{r.summary.seconds:.2f} s (+{r.summary.setup_seconds:.2f} s set-up)\n")
    out(f"replay       best {best.fps:.1f} frames/s = {best.summary.speed or 0:.1f}x real time "
        f"(goal >= 10x)\n")
    out(f"ratio        replay / bare model loop: {best.fps / best_bare.fps:.2f} in frames/s, "
        f"{min(r.cpu_ms for r in replays) / min(b.cpu_ms for b in bare):.2f} in CPU per frame\n")


if __name__ == "__main__":
    sys.exit(main())
