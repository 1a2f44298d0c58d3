"""Replay benchmark: speed of ``framewire replay`` as a multiple of real time.

A 640x480 @ 15 fps stream is recorded on the broker (photos shifted a little every frame,
so every JPEG differs; Kafka timestamps 1/15 s apart, as a gateway stamps them). Then, in
the same run and alternating, to see the machine's load in both figures:

1. the bare model loop on the same JPEGs (full decode, preprocess, infer, post-process,
   one frame after the other, no Kafka): what the model alone can do here;
2. ``run_replay`` over the recorded range into a fresh topic (reading, the inference
   service's engine, transactional writes): frames/s and multiple of real time.

The ratio of the two says what Kafka and the transactions cost. Goal: replay >= 10x real time.

Usage: FW_KAFKA_BOOTSTRAP=127.0.0.1:9092 python benchmarks/bench_replay.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

import cv2
import numpy as np

from framewire.core.config import KafkaSettings
from framewire.inference.modelwatch import load_model
from framewire.inference.replay_range import TimeWindow
from framewire.inference.replay_run import ReplayRequest, ReplaySummary, run_replay
from framewire.inference.replay_testing import photo_jpegs, record
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.models.api import Detector

FPS = 15
WIDTH, HEIGHT = 640, 480
STREAM = "rec"


def bare_loop_fps(detector: Detector, jpegs: list[bytes]) -> float:
    start = time.perf_counter()
    for jpeg in jpegs:
        detector.detect(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    return len(jpegs) / (time.perf_counter() - start)


def replay_once(settings: InferenceSettings, window: TimeWindow, run: int) -> ReplaySummary:
    output = f"{settings.kafka.topics.results(STREAM)}.bench-{run}"
    summary = run_replay(settings, ReplayRequest(STREAM, window, output))
    if summary.results != summary.frames:
        raise RuntimeError(f"replay wrote {summary.results} of {summary.frames} results")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="recorded length (default 30)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    args = parser.parse_args()
    kafka = KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    settings = InferenceSettings(kafka=kafka, freshness=FreshnessPolicy.NONE, http_port=-1)
    jpegs = photo_jpegs(args.seconds * FPS, WIDTH, HEIGHT, hold=FPS)
    window = record(kafka, STREAM, jpegs, width=WIDTH, height=HEIGHT, fps=FPS).window()
    detector = load_model(settings)
    bare_loop_fps(detector, jpegs[:FPS])  # warm-up
    bare, replays = [], []
    for run in range(args.rounds):
        bare.append(bare_loop_fps(detector, jpegs))
        replays.append(replay_once(settings, window, run))
    report(settings, detector, len(jpegs), bare, replays)
    return 0


def report(settings: InferenceSettings, detector: Detector, frames: int, bare: list[float],
           replays: list[ReplaySummary]) -> None:
    best = min(replays, key=lambda s: s.seconds)
    replay_fps = best.results / best.seconds
    out = sys.stdout.write
    out(f"machine      {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end\n")
    out(f"model        {detector.info.model_id} {detector.info.version} "
        f"({detector.info.precision}, hint {settings.performance_hint})\n")
    out(f"recording    {frames} frames {WIDTH}x{HEIGHT} @ {FPS} fps = "
        f"{best.recorded_seconds:.1f} s of video\n")
    for i, (fps, s) in enumerate(zip(bare, replays, strict=True)):
        out(f"round {i + 1}      bare model loop {fps:6.1f} frames/s | replay "
            f"{s.results / s.seconds:6.1f} frames/s in {s.seconds:.2f} s "
            f"(+{s.setup_seconds:.2f} s set-up)\n")
    out(f"replay       {replay_fps:.1f} frames/s = {best.speed or 0:.1f}x real time "
        f"(goal >= 10x)\n")
    out(f"ratio        replay / bare model loop = {replay_fps / max(bare):.2f}\n")


if __name__ == "__main__":
    sys.exit(main())
