"""Kit for the tracking stage's tests: synthetic detection results with known object paths,
published to the results topics, and the tracks read back."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Producer

from framewire.core.config import KafkaSettings
from framewire.core.kafka import producer_config
from framewire.core.records import Box, Detection
from framewire.v1.detection_pb2 import Box as BoxPb
from framewire.v1.detection_pb2 import Detection as DetectionPb
from framewire.v1.detection_pb2 import DetectionResult
from support.delivery import Deliveries, end_offsets

FRAME_NS = 33_333_333  # 30 fps


@dataclass(frozen=True)
class Walker:
    """An object of known identity crossing the image at a constant speed, bouncing at the
    edges so it stays in view however long the run."""

    name: str
    class_id: int
    label: str
    x0: float
    y0: float
    vx: float  # per frame, normalised
    vy: float
    size: float = 0.12

    def box(self, frame: int) -> Box:
        x = _bounce(self.x0 + self.vx * frame, 1.0 - self.size)
        y = _bounce(self.y0 + self.vy * frame, 1.0 - self.size)
        return Box(x, y, x + self.size, y + self.size)


def _bounce(position: float, span: float) -> float:
    period = 2 * span
    p = position % period
    return p if p <= span else period - p


WALKERS = (
    Walker("person-a", 1, "Person", 0.05, 0.10, 0.004, 0.001),
    Walker("person-b", 1, "Person", 0.70, 0.60, -0.003, 0.0005),
    Walker("car", 3, "Car", 0.40, 0.05, 0.002, 0.004),
)


def detections(frame: int) -> list[tuple[str, Detection]]:
    """Every walker's detection in ``frame`` (one walker skips every 11th frame: a flicker)."""
    out = []
    for w in WALKERS:
        if w.name == "car" and frame % 11 == 5:
            continue
        out.append((w.name, Detection(w.class_id, w.label, 0.9, w.box(frame))))
    return out


def result_of(stream: str, frame: int, t0_ns: int) -> DetectionResult:
    return DetectionResult(
        schema_version=1, stream_id=stream, frame_sequence=frame,
        source_topic=f"frames.{stream}", source_partition=0, source_offset=frame,
        capture_time_ns=t0_ns + frame * FRAME_NS, model_id="synthetic", model_version="1",
        detections=[DetectionPb(class_id=d.class_id, label=d.label, score=d.score,
                                box=BoxPb(xmin=d.box.xmin, ymin=d.box.ymin, xmax=d.box.xmax,
                                          ymax=d.box.ymax))
                    for _, d in detections(frame)],
        worker_id="synthetic", result_time_ns=t0_ns + frame * FRAME_NS,
    )


class ResultFeed:
    """Publishes frame ``0..n-1`` results of each stream, ``per_s`` frames a second each."""

    def __init__(self, kafka: KafkaSettings, streams: list[str]) -> None:
        self._kafka = kafka
        self._streams = streams
        self._producer = Producer(producer_config(kafka))
        self.t0_ns = time.time_ns()
        self.sent = 0
        self.deliveries = Deliveries()

    def publish(self, frames: int, per_s: float) -> None:
        """Publish frames ``sent..sent+frames-1`` of each stream; AssertionError if one did
        not reach its topic (the checks take result i to be at offset i)."""
        topics = self._kafka.topics
        end_offsets(self._kafka, [topics.results(s) for s in self._streams])
        for _ in range(frames):
            for s in self._streams:
                value = result_of(s, self.sent, self.t0_ns).SerializeToString()
                self._producer.produce(topics.results(s), value, s,
                                       on_delivery=self.deliveries.callback)
            self.sent += 1
            self._producer.poll(0)
            time.sleep(1.0 / per_s)
        self._producer.flush(30)
        assert not self.deliveries.failures, self.deliveries.failures[:5]

    def publish_raw(self, stream: str, value: bytes) -> None:
        self._producer.produce(self._kafka.topics.results(stream), value, stream)
        self._producer.flush(30)
