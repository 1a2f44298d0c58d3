"""Tracker benchmark: results per second and CPU per result of the tracking stage.

Three figures, measured side by side in one run:
1. the association alone (``StreamTracker.update`` in a loop, no Kafka) on the same
   synthetic results: what the tracker itself costs;
2. the whole stage (``run_stage`` in this process, on the real broker): results already on
   the broker (N streams of synthetic results with ``--objects`` walking objects each) are
   read, tracked and committed with their state and offsets; results/s from the first
   committed state to the last, CPU seconds of this process per result;
3. the same with a zone and a counting line on every stream, the objects walking through
   both: the stage also watches the zones and commits the events and the watcher's state.

Goal (docs/tracking.md): >= 500 results/s per core for the stage.

Usage: FW_KAFKA_BOOTSTRAP=127.0.0.1:9092 python benchmarks/bench_tracker.py [--results 20000]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid

import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
from confluent_kafka import Producer
from pipeline.machine import machine_facts

from framewire.core.config import KafkaSettings
from framewire.core.kafka import producer_config
from framewire.core.records import Box, Detection
from framewire.core.zones import parse_lines, parse_zones
from framewire.core.zonewire import set_geometry
from framewire.tracker.service import run_stage
from framewire.tracker.settings import StartFrom, TrackerSettings
from framewire.tracker.tracking import StreamTracker
from framewire.v1.detection_pb2 import Box as BoxPb
from framewire.v1.detection_pb2 import Detection as DetectionPb
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.stream_pb2 import StreamSpec
from framewire.v1.tracks_pb2 import TrackerState, ZoneEvent
from support.inference import TopicReader, create_streams

FRAME_NS = 66_666_667  # 15 fps


def scene(objects: int, frame: int) -> list[Detection]:
    """``objects`` boxes moving on their own lines, a little each frame."""
    out = []
    for i in range(objects):
        x = 0.02 + ((0.07 * i + 0.002 * frame) % 0.85)
        y = 0.02 + (0.09 * i) % 0.85
        out.append(Detection(1 + i % 3, "obj", 0.8, Box(x, y, x + 0.1, y + 0.1)))
    return out


def association_only(objects: int, frames: int) -> tuple[float, float]:
    tracker = StreamTracker("bench")
    scenes = [scene(objects, f) for f in range(frames)]
    wall, cpu = time.perf_counter(), time.process_time()
    for f, dets in enumerate(scenes):
        tracker.update(dets, (f + 1) * FRAME_NS)
    return frames / (time.perf_counter() - wall), 1000 * (time.process_time() - cpu) / frames


def publish(kafka: KafkaSettings, streams: list[str], per_stream: int, objects: int) -> None:
    producer = Producer(producer_config(kafka))
    for f in range(per_stream):
        for s in streams:
            r = DetectionResult(schema_version=1, stream_id=s, frame_sequence=f, source_offset=f,
                                capture_time_ns=(f + 1) * FRAME_NS, detections=[
                                    DetectionPb(class_id=d.class_id, label=d.label, score=d.score,
                                                box=BoxPb(xmin=d.box.xmin, ymin=d.box.ymin,
                                                          xmax=d.box.xmax, ymax=d.box.ymax))
                                    for d in scene(objects, f)])
            producer.produce(kafka.topics.results(s), r.SerializeToString(), s)
        producer.poll(0)
    producer.flush(60)


def add_zones(kafka: KafkaSettings, streams: list[str]) -> None:
    """The left half as a zone and its edge as a line, on every stream's registry spec."""
    zones = parse_zones([{"id": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}])
    lines = parse_lines([{"id": "mid", "a": [0.5, 0], "b": [0.5, 1]}])
    producer = Producer(producer_config(kafka))
    for s in streams:
        spec = StreamSpec(schema_version=1, stream_id=s, source_uri="file:///dev/null")
        set_geometry(spec, zones, lines)
        producer.produce(kafka.topics.streams, spec.SerializeToString(), s)
    producer.flush(30)


def count_events(kafka: KafkaSettings) -> int:
    events = TopicReader(kafka, [kafka.topics.events], ZoneEvent)
    events.settle(2.0)
    events.close()
    return len(events.items)


def whole_stage(kafka: KafkaSettings, streams: list[str], per_stream: int) -> tuple[float, float]:
    settings = TrackerSettings(kafka=kafka, tracker_id="bench", http_port=-1,
                               start_from=StartFrom.EARLIEST, poll_timeout_s=0.2)
    stop = threading.Event()
    cpu = time.process_time()
    started = time.perf_counter()
    thread = threading.Thread(target=run_stage, args=(settings, stop), daemon=True)
    thread.start()
    states = TopicReader(kafka, [kafka.topics.tracker_state], TrackerState)
    done: dict[str, int] = {}
    first: list[float] = []

    def finished(items: list[TrackerState]) -> bool:
        for s in items:
            done[s.stream_id] = max(done.get(s.stream_id, 0), s.next_source_offset)
        if items and not first:
            first.append(time.perf_counter())
        return len(done) == len(streams) and min(done.values()) >= per_stream

    states.read_until(finished, 600)
    ended = time.perf_counter()
    used = time.process_time() - cpu
    stop.set()
    thread.join(30)
    states.close()
    results = per_stream * len(streams)
    window = ended - (first[0] if first else started)
    return results / window, 1000 * used / results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20_000, help="results in all (default 20000)")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--objects", type=int, default=10, help="objects per result (default 10)")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench{run_id}.")
    zoned = KafkaSettings(topic_prefix=f"bench{run_id}z.")
    streams = [f"s{i}" for i in range(args.streams)]
    per_stream = args.results // args.streams
    for k in (kafka, zoned):
        create_streams(k, streams)
        publish(k, streams, per_stream, args.objects)
    add_zones(zoned, streams)
    alone_rate, alone_ms = association_only(args.objects, per_stream)
    stage_rate, stage_ms = whole_stage(kafka, streams, per_stream)
    zoned_rate, zoned_ms = whole_stage(zoned, streams, per_stream)
    events = count_events(zoned)
    facts = machine_facts()
    load = ", ".join(f"{x:.2f}" for x in facts["load_average"])  # type: ignore[attr-defined]
    out = sys.stdout.write
    out(f"machine      {facts['cpu_model']} ({facts['cpus_usable']} usable CPUs), flags "
        f"{facts['cpu_flags']}; load average {load}\n")
    out(f"input        {args.streams} streams x {per_stream} results, {args.objects} objects each\n")
    out(f"association  {alone_rate:8.0f} results/s  {alone_ms:6.3f} CPU ms/result (no Kafka)\n")
    out(f"stage        {stage_rate:8.0f} results/s  {stage_ms:6.3f} CPU ms/result "
        f"(= {1000 / stage_ms:.0f} results per CPU second; goal >= 500)\n")
    out(f"with zones   {zoned_rate:8.0f} results/s  {zoned_ms:6.3f} CPU ms/result "
        f"(= {1000 / zoned_ms:.0f} results per CPU second; {events} zone and line events)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
