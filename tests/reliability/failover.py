"""Failover runs for the reliability suite: real workers, a poll()-based probe, the figures.

``Probe`` reads the results and drops topics with ``poll()`` (not ``consume(n, timeout)``,
which waits for n messages) and stamps each record with the local time it became visible
to a read_committed reader, so "time from the kill to the stream's first new result" is
measured from outside, as a viewer would see it.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import skimage.data
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_consumer
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DropRecord
from reliability.procs import Service, kafka_env, wait_until
from support.inference import FramePublisher, create_streams, jpeg_of, read_until_covered

MODEL = "ssd-mobilenet-v2-oidv4"
SESSION_TIMEOUT_MS = 6000
STREAMS = ["f0", "f1"]
FPS = 15
ASSIGNED = re.compile(r"assigned \S+frames\.")
_EVENT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?(subscribed to|assigned \S+frames\.)",
                    re.MULTILINE)


def worker(kafka: KafkaSettings, worker_id: str, log: Path, **env: str) -> Service:
    """A ``framewire inference`` process with the suite's settings (and ``env`` on top)."""
    base = {**kafka_env(kafka), "FW_INFERENCE_WORKER_ID": worker_id, "FW_INFERENCE_MODEL": MODEL,
            "FW_INFERENCE_HTTP_PORT": "-1", "FW_INFERENCE_POLL_TIMEOUT_S": "0.2",
            "FW_INFERENCE_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "FW_INFERENCE_METADATA_REFRESH_MS": "1000",
            "FW_INFERENCE_STATIC_MEMBERSHIP": "true",
            # With the 500 ms default a loaded 2-core machine turned every frame of both
            # streams into a stale drop and the streams were "never detected"; the stale
            # loss of a failover at the default budget is bench_group_failover's figure.
            "FW_INFERENCE_MAX_AGE_MS": "2000"}
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
    # The first unaccounted offsets (of ``frames``): at the tail or in the middle says which
    # failure it is, a backlog not processed in time or a frame skipped.
    missing: tuple[int, ...] = ()

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
        missing=tuple(o for o in range(sent) if o not in every)[:20],
    )


def group_events(log_text: str) -> list[tuple[float, str]]:
    """(epoch seconds, "subscribed" or "assigned") for each group event a worker logged."""
    events = []
    for stamp, what in _EVENT.findall(log_text):
        when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        events.append((when, "subscribed" if what.startswith("subscribed") else "assigned"))
    return events


def join_to_assignment_s(log_text: str) -> float | None:
    """Seconds from a worker's subscribe to its first partition, in one start's log."""
    events = group_events(log_text)
    joined = next((t for t, e in events if e == "subscribed"), None)
    got = next((t for t, e in events if e == "assigned" and joined is not None and t >= joined),
               None)
    return None if joined is None or got is None else got - joined


def assigned_after_s(log_text: str, since_ns: int) -> float | None:
    """Seconds from ``since_ns`` to the first partition a worker logged as assigned after it."""
    since = since_ns / 1e9
    later = [t for t, e in group_events(log_text) if e == "assigned" and t > since]
    return min(later) - since if later else None


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


class Run:
    """Streams, workers ``a`` and ``b`` and the probe of one test."""

    def __init__(self, kafka: KafkaSettings, tmp: Path, **env: str) -> None:
        create_streams(kafka, STREAMS)
        self.kafka, self.tmp, self.env = kafka, tmp, env
        self.workers: dict[str, Service] = {w: self.start(w) for w in ("a", "b")}
        photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2, ::-1])
        h, w = photo.shape[:2]
        self.feed = FramePublisher(kafka, STREAMS, jpeg_of(photo), width=w, height=h, fps=FPS)
        self.probe = Probe(kafka, STREAMS)
        self.feed.start()

    def start(self, wid: str, log_name: str = "") -> Service:
        return worker(self.kafka, wid, self.tmp / f"{log_name or wid}.log", **self.env)

    def wait_assigned(self, wid: str, log_from: int, timeout_s: float) -> bool:
        """Whether the worker logged a partition assigned to it, past ``log_from`` (restarts
        append to the same log), within ``timeout_s``."""
        service = self.workers[wid]
        return wait_until(lambda: bool(ASSIGNED.search(service.log_text()[log_from:])), timeout_s)

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until the group has settled with each worker serving a stream: the newest
        result of each stream comes from a different worker, twice 1 s apart (a SIGTERM in
        the middle of a rebalance is another case than a rolling restart's)."""
        def split() -> bool:
            newest = {s: rs[-1].worker_id for s, rs in self.probe.results.items() if rs}
            return len(newest) == len(STREAMS) and len(set(newest.values())) == len(STREAMS)

        return wait_until(lambda: split() and (time.sleep(1.0) is None) and split(), timeout_s)

    def wait_assigned_after(self, wid: str, since_ns: int, timeout_s: float) -> float | None:
        """Seconds from ``since_ns`` until the worker logged a newly assigned partition."""
        service = self.workers[wid]
        wait_until(lambda: assigned_after_s(service.log_text(), since_ns) is not None, timeout_s)
        return assigned_after_s(service.log_text(), since_ns)

    def resume_s(self, since_ns: int, timeout_s: float) -> float:
        """Time from ``since_ns`` until every stream has a new result (the victim's stream
        is the slowest); inf if one never does within ``timeout_s``."""
        found = [self.probe.wait_first_after(s, since_ns, timeout_s) for s in STREAMS]
        return max(f if f is not None else float("inf") for f in found)

    def mark(self) -> tuple[int, dict[str, int]]:
        """Now, and the frames sent so far per stream: where ``stale_fractions`` counts from."""
        return time.time_ns(), dict(self.feed.produced)

    def stale_fractions(self, mark: tuple[int, dict[str, int]]) -> dict[str, float]:
        """Per stream, the frames dropped as stale since ``mark`` over the frames sent since."""
        since_ns, sent = mark
        return {s: round(self.probe.stale_since(s, since_ns)
                         / max(1, self.feed.produced[s] - sent[s]), 3) for s in STREAMS}

    def finish(self) -> dict[str, object]:
        """Stop the feed, read everything back, stop the workers; per-stream accounting."""
        sent = self.feed.stop()
        if self.feed.deliveries.failures:
            print(f"frames not delivered (left out of the accounting): "
                  f"{self.feed.deliveries.failures[:5]}")
        results, drops = read_until_covered(self.kafka, sent, 60)
        self.probe.close()
        codes = {w: s.stop() for w, s in self.workers.items()}
        topics = self.kafka.topics
        per_stream = {
            s: account(n, [r.source_offset for r in results
                           if r.source_topic == topics.frames(s)],
                       [d for d in drops if d.topic == topics.frames(s)])
            for s, n in sent.items()
        }
        return {"codes": codes, "streams": per_stream}

    def close(self) -> None:
        if self.feed.running:
            self.feed.stop()
        self.probe.close()
        for s in self.workers.values():
            if s.alive():
                s.stop()


def check_accounting(outcome: dict[str, object]) -> None:
    for stream, acc in outcome["streams"].items():  # type: ignore[attr-defined]
        assert acc.duplicates == 0, f"{stream}: {acc}"
        assert acc.unaccounted == 0, f"{stream}: {acc}"
        assert acc.both == 0, f"{stream}: {acc}"


def summary(outcome: dict[str, object]) -> str:
    return " ".join(
        f"{s}: frames={a.frames} results={a.results} stale={a.stale} "
        f"stale_fraction={a.stale_fraction:.3f} dup={a.duplicates} unaccounted={a.unaccounted}"
        for s, a in outcome["streams"].items()  # type: ignore[attr-defined]
    )
