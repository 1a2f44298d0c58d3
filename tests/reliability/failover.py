"""Failover runs for the reliability suite: real workers, a poll()-based probe, the figures.

``Probe`` reads the results and drops topics with ``poll()`` (not ``consume(n, timeout)``,
which waits for n messages) and stamps each record with the local time it became visible
to a read_committed reader, so "time from the kill to the stream's first new result" is
measured from outside, as a viewer would see it.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_consumer
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DropRecord
from reliability.procs import Service, kafka_env

MODEL = "ssd-mobilenet-v2-oidv4"
SESSION_TIMEOUT_MS = 6000


def worker(kafka: KafkaSettings, worker_id: str, log: Path, **env: str) -> Service:
    """A ``framewire inference`` process with the suite's settings (and ``env`` on top)."""
    base = {**kafka_env(kafka), "FW_INFERENCE_WORKER_ID": worker_id, "FW_INFERENCE_MODEL": MODEL,
            "FW_INFERENCE_HTTP_PORT": "-1", "FW_INFERENCE_POLL_TIMEOUT_S": "0.2",
            "FW_INFERENCE_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "FW_INFERENCE_METADATA_REFRESH_MS": "1000"}
    return Service(f"inference-{worker_id}", ["inference"], {**base, **env}, log).start()


@dataclass(frozen=True)
class Seen:
    source_offset: int
    capture_time_ns: int
    worker_id: str
    # Local wall clock when the probe received the committed record.
    seen_ns: int


@dataclass
class Probe:
    """Every committed result of ``streams`` and every drop record, as they become visible."""

    kafka: KafkaSettings
    streams: list[str]
    results: dict[str, list[Seen]] = field(default_factory=dict)
    drops: list[DropRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        topics = self.kafka.topics
        self._stream_of = {topics.results(s): s for s in self.streams}
        self.results = {s: [] for s in self.streams}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = make_consumer(self.kafka, f"{self.kafka.topic_prefix}probe-{time.time_ns()}")
        wanted = [*self._stream_of, topics.drops]
        self._consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in wanted])
        self._thread = threading.Thread(target=self._run, name="failover-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.05)
            if msg is None or msg.error() is not None or msg.value() is None:
                continue
            now = time.time_ns()
            stream = self._stream_of.get(str(msg.topic()))
            with self._lock:
                if stream is None:
                    self.drops.append(decode(DropRecord, msg.value()))
                else:
                    r = decode(DetectionResult, msg.value())
                    self.results[stream].append(Seen(r.source_offset, r.capture_time_ns, r.worker_id, now))
        self._consumer.close()

    def first_after(self, stream: str, since_ns: int, not_from: str = "") -> float | None:
        """Seconds from ``since_ns`` to the stream's first result seen after it (from a
        worker other than ``not_from`` when given), or None."""
        with self._lock:
            later = [r.seen_ns for r in self.results[stream]
                     if r.seen_ns > since_ns and r.worker_id != not_from]
        return (min(later) - since_ns) / 1e9 if later else None

    def wait_first_after(
        self, stream: str, since_ns: int, timeout_s: float, not_from: str = ""
    ) -> float | None:
        deadline = time.monotonic() + timeout_s
        while ((found := self.first_after(stream, since_ns, not_from)) is None
               and time.monotonic() < deadline):
            time.sleep(0.02)
        return found

    def longest_gap(self, stream: str, first_ns: int, last_ns: int) -> float:
        """The longest time in [first_ns, last_ns] the stream went without a new result."""
        with self._lock:
            times = sorted(r.seen_ns for r in self.results[stream] if first_ns < r.seen_ns < last_ns)
        edges = [first_ns, *times, last_ns]
        return max(b - a for a, b in itertools.pairwise(edges)) / 1e9

    def wait_all_flowing(self, timeout_s: float) -> bool:
        start = time.time_ns()
        return all(self.wait_first_after(s, start, timeout_s) is not None for s in self.streams)

    def stale_since(self, stream: str, since_ns: int) -> int:
        """Frames of ``stream`` dropped as stale by records written after ``since_ns``."""
        return sum(d.count for d in self.drop_records(stream)
                   if d.reason == DropRecord.REASON_STALE and d.time_ns > since_ns)

    def drop_records(self, stream: str) -> list[DropRecord]:
        with self._lock:
            return [d for d in self.drops if d.stream_id == stream]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


@dataclass(frozen=True)
class Accounting:
    """What a run's frames became, per stream, checked offset by offset."""

    frames: int
    results: int
    stale: int
    other_drops: int
    duplicates: int
    unaccounted: int
    both: int

    @property
    def stale_fraction(self) -> float:
        return self.stale / self.frames if self.frames else 0.0


def account(sent: int, results: list[int], drops: list[DropRecord]) -> Accounting:
    """Offsets 0..sent-1 of one stream against its result offsets and drop records."""
    result_counts = Counter(results)
    dropped: Counter[int] = Counter()
    stale = other = 0
    for d in drops:
        offsets = range(d.first_offset, d.last_offset + 1)
        dropped.update(offsets)
        if d.reason == DropRecord.REASON_STALE:
            stale += len(offsets)
        else:
            other += len(offsets)
    every = set(result_counts) | set(dropped)
    return Accounting(
        frames=sent, results=sum(result_counts.values()), stale=stale, other_drops=other,
        duplicates=sum(1 for o in every if result_counts[o] + dropped[o] > 1),
        unaccounted=sum(1 for o in range(sent) if o not in every),
        both=sum(1 for o in result_counts if o in dropped),
    )


def machine() -> str:
    """CPU model, cores and load average, printed beside every figure."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs, load {load}"
