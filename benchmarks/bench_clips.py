"""Clip benchmark: ``framewire clip`` speed as a multiple of real time, and CPU per second of video.

A 640x480 @ 15 fps stream of the bundled photos (every JPEG different) is recorded on the
broker with a result per frame (two boxes each). Then, alternating in one run so the
machine's load shows in all of them:

1. the bare decode+encode loop on the same JPEGs (JPEG decode, libx264 encode, no Kafka):
   what the media work alone costs here;
2. ``make_clip`` over the recorded range, without boxes and with boxes burnt in.

Goal: a clip >= 5x real time. The ratio clip / bare loop says what reading Kafka costs.

Usage: FW_KAFKA_BOOTSTRAP=127.0.0.1:9092 python benchmarks/bench_clips.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np

from framewire.clips.encoder import Mp4Writer
from framewire.clips.make import ClipReport, ClipRequest, make_clip
from framewire.clips.spans import ClipRange
from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.v1.detection_pb2 import Box, Detection, DetectionResult
from support.replay import Recording, photo_jpegs, record

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from machine import machine_facts

FPS, WIDTH, HEIGHT, STREAM = 15, 640, 480, "clipbench"


def bare_loop(jpegs: list[bytes], out: Path) -> tuple[float, float]:
    """Seconds of wall and CPU time to decode and encode ``jpegs``."""
    start, cpu = time.perf_counter(), time.process_time()
    with Mp4Writer(out, WIDTH, HEIGHT, FPS) as writer:
        for i, jpeg in enumerate(jpegs):
            writer.add(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), round(i * 1000 / FPS))
    return time.perf_counter() - start, time.process_time() - cpu


def publish_results(kafka: KafkaSettings, rec: Recording) -> None:
    producer = make_producer(kafka)
    boxes = [Detection(label="person", score=0.8, box=Box(xmin=0.1, ymin=0.2, xmax=0.4, ymax=0.9)),
             Detection(label="dog", score=0.6, box=Box(xmin=0.5, ymin=0.5, xmax=0.9, ymax=0.95))]
    for i in range(rec.count):
        at_ns = rec.timestamp(i) * 1_000_000
        result = DetectionResult(stream_id=STREAM, frame_sequence=i, capture_time_ns=at_ns,
                                 image_width=WIDTH, image_height=HEIGHT, detections=boxes)
        producer.produce(kafka.topics.results(STREAM), encode(result), STREAM.encode())
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("results not delivered")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="recorded length (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    args = parser.parse_args()
    kafka = KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    jpegs = photo_jpegs(args.seconds * FPS, WIDTH, HEIGHT, hold=FPS)
    rec = record(kafka, STREAM, jpegs, width=WIDTH, height=HEIGHT, fps=FPS)
    publish_results(kafka, rec)
    window = rec.window()
    clip = ClipRange(STREAM, window.start_ms, window.end_ms)
    out = sys.stdout.write
    facts = machine_facts()
    out(f"machine      {facts['cpu_model']} ({facts['cpus_usable']} usable CPUs), "
        f"flags {facts['cpu_flags']}\n")
    out(f"recording    {len(jpegs)} frames {WIDTH}x{HEIGHT} @ {FPS} fps = {args.seconds} s of video\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for r in range(args.rounds):
            wall, cpu = bare_loop(jpegs, folder / "bare.mp4")
            plain = make_clip(kafka, ClipRequest(range=clip), folder / "plain.mp4")
            boxed = make_clip(kafka, ClipRequest(range=clip, boxes=True), folder / "boxed.mp4")
            out(f"round {r + 1}      bare decode+encode {args.seconds / wall:5.1f}x real time, "
                f"{cpu / args.seconds:.3f} CPU s per video s | " + line("clip", plain, args.seconds)
                + " | " + line("with boxes", boxed, args.seconds) + "\n")
            if plain.frames != len(jpegs) or boxed.frames_with_boxes != len(jpegs):
                raise RuntimeError(f"clip has {plain.frames} frames, {boxed.frames_with_boxes} boxed")
    load = ", ".join(f"{x:.2f}" for x in facts["load_average"])  # type: ignore[attr-defined]
    out(f"goal         clip >= 5x real time at 640x480 @ 15 fps; load average at start {load}\n")
    return 0


def line(name: str, report: ClipReport, seconds: int) -> str:
    return (f"{name} {report.speed:5.1f}x real time, {report.cpu_seconds / seconds:.3f} CPU s per "
            f"video s ({report.size_bytes / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
