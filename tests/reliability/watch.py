"""A read_committed observer of a running pipeline: frames, results, drops, stats, DLQ.

Reads every per-stream and shared topic of one prefix from the beginning on a background
thread, keeping only what the reliability tests measure (no pixels), with the local time
each record was seen. It keeps reading across a broker outage (librdkafka reconnects).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_consumer
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DropRecord


@dataclass(frozen=True)
class FrameSeen:
    offset: int
    sequence: int
    capture_time_ns: int


@dataclass(frozen=True)
class ResultSeen:
    source_offset: int
    capture_time_ns: int
    result_time_ns: int

    @property
    def latency_ms(self) -> float:
        return (self.result_time_ns - self.capture_time_ns) / 1e6


@dataclass
class Observed:
    frames: dict[str, list[FrameSeen]] = field(default_factory=dict)
    results: dict[str, list[ResultSeen]] = field(default_factory=dict)
    drops: list[DropRecord] = field(default_factory=list)
    # Broker timestamps (ms) of aggregator window records.
    stats_ms: list[int] = field(default_factory=list)
    dead_letters: int = 0


class PipelineWatch:
    """Collects what the pipeline publishes for ``streams`` until ``close``."""

    def __init__(self, kafka: KafkaSettings, streams: list[str]) -> None:
        topics = kafka.topics
        self._kinds = {topics.frames(s): ("frame", s) for s in streams}
        self._kinds |= {topics.results(s): ("result", s) for s in streams}
        self._kinds |= {topics.drops: ("drop", ""), topics.stats: ("stats", ""),
                        topics.dlq: ("dlq", "")}
        self.seen = Observed({s: [] for s in streams}, {s: [] for s in streams})
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = make_consumer(kafka, f"{kafka.topic_prefix}watch-{time.time_ns()}")
        self._consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in self._kinds])
        self._thread = threading.Thread(target=self._run, name="pipeline-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, 0.2):
                if msg.error() is None and msg.value() is not None:
                    with self._lock:
                        self._add(msg)
        self._consumer.close()

    def _add(self, msg: object) -> None:
        kind, stream = self._kinds[msg.topic()]  # type: ignore[attr-defined]
        value = msg.value()  # type: ignore[attr-defined]
        if kind == "frame":
            f = decode(Frame, value)
            self.seen.frames[stream].append(FrameSeen(msg.offset(), f.sequence, f.capture_time_ns))  # type: ignore[attr-defined]
        elif kind == "result":
            r = decode(DetectionResult, value)
            self.seen.results[stream].append(ResultSeen(r.source_offset, r.capture_time_ns,
                                                        r.result_time_ns))
        elif kind == "drop":
            self.seen.drops.append(decode(DropRecord, value))
        elif kind == "stats":
            self.seen.stats_ms.append(msg.timestamp()[1])  # type: ignore[attr-defined]
        else:
            self.seen.dead_letters += 1

    def frames(self, stream: str) -> list[FrameSeen]:
        with self._lock:
            return list(self.seen.frames[stream])

    def results(self, stream: str) -> list[ResultSeen]:
        with self._lock:
            return list(self.seen.results[stream])

    def drops(self) -> list[DropRecord]:
        with self._lock:
            return list(self.seen.drops)

    def backlog(self) -> int:
        """Frames on the broker that no result or inference drop record covers yet."""
        with self._lock:
            published = sum(len(f) for f in self.seen.frames.values())
            handled = sum(len(r) for r in self.seen.results.values())
            handled += sum(d.count for d in self.seen.drops if d.service == "inference")
        return published - handled

    def stats_after(self, since_ns: int) -> int:
        with self._lock:
            return sum(1 for ms in self.seen.stats_ms if ms * 1_000_000 > since_ns)

    def dead_letters(self) -> int:
        with self._lock:
            return self.seen.dead_letters

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
