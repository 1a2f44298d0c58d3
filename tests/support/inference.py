"""Test and benchmark support: Frame messages from real photos, and a tiny real detector.

``TinyDetector`` is a genuine OpenVINO model (built from ``openvino.opset`` ops, a few
microseconds per image) implementing the ``Detector`` protocol, so the worker's machinery
can be exercised where the zoo model's cost or download would get in the way. Its one
"detection" per image is the whole frame, scored by mean brightness.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import cv2
import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from google.protobuf.message import Message

from framewire.core.admin import ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import decode, encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config, make_admin, make_producer
from framewire.core.records import Box, Detection
from framewire.models.api import ModelInfo, RawOutputs
from framewire.v1.frame_pb2 import Frame
from support.delivery import Deliveries, end_offsets

TINY_SIDE = 16
M = TypeVar("M", bound=Message)


def jpeg_of(bgr: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    return buf.tobytes()


def frame_bytes(
    jpeg: bytes, stream_id: str, sequence: int, *, width: int, height: int,
    capture_time_ns: int | None = None,
) -> bytes:
    """A Frame message as a gateway publishes it."""
    now = time.time_ns()
    return encode(Frame(
        stream_id=stream_id, sequence=sequence, capture_time_ns=capture_time_ns or now,
        publish_time_ns=now, source="test", width=width, height=height,
        encoding=Frame.ENCODING_JPEG, data=jpeg,
    ))


class TinyDetector:
    """A real, very small OpenVINO detector with a dynamic batch dimension."""

    def __init__(self, version: str = "1", threshold: float = 0.0, num_requests: int = 2) -> None:
        import openvino as ov
        import openvino.opset13 as ops

        image = ops.parameter([-1, TINY_SIDE, TINY_SIDE, 3], ov.Type.u8, name="image")
        scaled = ops.divide(ops.convert(image, ov.Type.f32), ops.constant(np.float32(255.0)))
        means = ops.reduce_mean(scaled, ops.constant(np.array([1, 2, 3], dtype=np.int64)), False)
        model = ov.Model([means], [image], "tiny")
        compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1})
        self._queue = ov.AsyncInferQueue(compiled, num_requests)
        self._queue.set_callback(self._on_complete)
        self._compiled = compiled
        self._lock = threading.Lock()
        self.info = ModelInfo(
            model_id="tiny", version=version, input_width=TINY_SIDE, input_height=TINY_SIDE,
            labels=("bright",), max_batch=8, precision="f32", score_threshold=threshold,
        )
        self.batches: list[int] = []

    def preprocess(self, bgr: np.ndarray) -> np.ndarray:
        small = cv2.resize(bgr, (TINY_SIDE, TINY_SIDE), interpolation=cv2.INTER_AREA)
        return small[np.newaxis]

    def infer(self, batch: np.ndarray) -> list[RawOutputs]:
        result = self._compiled({0: batch})[0]
        return [{"brightness": np.asarray(v)} for v in result]

    def infer_async(
        self, batch: np.ndarray, done: Callable[[list[RawOutputs], Any], None], userdata: Any
    ) -> None:
        with self._lock:
            self.batches.append(len(batch))
        self._queue.start_async({0: batch}, (done, userdata))

    def _on_complete(self, request: Any, context: Any) -> None:
        done, userdata = context
        values = request.get_output_tensor(0).data.copy()
        done([{"brightness": np.asarray(v)} for v in values], userdata)

    def wait_all(self) -> None:
        self._queue.wait_all()

    def postprocess(self, outputs: RawOutputs) -> list[Detection]:
        score = float(outputs["brightness"])
        if score < self.info.score_threshold:
            return []
        return [Detection(0, "bright", score, Box(0.0, 0.0, 1.0, 1.0))]

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return self.postprocess(self.infer(self.preprocess(bgr))[0])


# -- Kafka side (tests and benchmarks with a real broker) ----------------------------------


def create_streams(kafka: KafkaSettings, streams: list[str]) -> None:
    """Frames and results topics for ``streams`` plus the shared topics (idempotent)."""
    specs = fixed_topics(kafka.topics, kafka.topic_policy)
    for stream in streams:
        specs += stream_topics(kafka.topics, stream, kafka.topic_policy)
    ensure_topics(make_admin(kafka), specs)


class FramePublisher:
    """Publishes the same JPEG as frames of several streams at a fixed rate, in a thread."""

    def __init__(
        self, kafka: KafkaSettings, streams: list[str], jpeg: bytes, *, width: int, height: int,
        fps: float,
    ) -> None:
        self._kafka = kafka
        self._streams = streams
        self._jpeg, self._size = jpeg, (width, height)
        self._period = 1.0 / fps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-frames", daemon=True)
        self.deliveries = Deliveries()
        # Frames produced so far per stream (their sequence numbers); ``stop`` gives how
        # many of them reached the broker.
        self.produced = dict.fromkeys(streams, 0)
        self._starts: dict[str, int] = {}

    def start(self) -> FramePublisher:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> dict[str, int]:
        """Stop, flush and return how many frames each stream's topic holds (offsets
        0..n-1), read from the broker: delivery reports are not enough. A retried first
        message of a new partition was seen reported delivered ("already written",
        no offset) while the partition never held it."""
        self._stop.set()
        self._thread.join()
        return self.sent

    @property
    def sent(self) -> dict[str, int]:
        """Frames this feed added to each stream's topic: its end offset now, less the end
        offset when the feed started."""
        ends = self._ends()
        for s, end in ends.items():
            added = end - self._starts.get(s, 0)
            delivered = self.deliveries.count(self._kafka.topics.frames(s))
            if added != delivered:
                print(f"frames of {s}: {delivered} reported delivered, {added} in the topic")
        return {s: end - self._starts.get(s, 0) for s, end in ends.items()}

    def _ends(self) -> dict[str, int]:
        topics = self._kafka.topics
        ends = end_offsets(self._kafka, [topics.frames(s) for s in self._streams])
        return {s: ends[topics.frames(s)] for s in self._streams}

    def _run(self) -> None:
        producer = make_producer(self._kafka)
        topics = self._kafka.topics
        self._starts = self._ends()  # also waits until each partition is served
        w, h = self._size
        # Streams are independent cameras: their frames are spread over the period, not sent
        # in one burst.
        step = self._period / len(self._streams)
        deadline = time.monotonic()
        while not self._stop.is_set():
            for s in self._streams:
                value = frame_bytes(self._jpeg, s, self.produced[s], width=w, height=h)
                producer.produce(topics.frames(s), value, s.encode(),
                                 on_delivery=self.deliveries.callback)
                self.produced[s] += 1
                producer.poll(0)
                deadline += step
                if self._stop.wait(max(0.0, deadline - time.monotonic())):
                    break
        if producer.flush(30) != 0:
            self.deliveries.failures.append("frames still queued after 30 s")


class TopicReader(Generic[M]):
    """Reads whole topics (partition 0 onwards) as a read_committed reader would."""

    def __init__(self, kafka: KafkaSettings, topics: list[str], cls: type[M]) -> None:
        conf = consumer_config(kafka, f"reader-{time.time_ns()}", **{"enable.partition.eof": False})
        self._consumer = Consumer(conf)
        self._consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in topics])
        self._cls = cls
        self.items: list[M] = []
        self.keys: list[bytes | None] = []

    def read_until(self, done: Callable[[list[M]], bool], timeout_s: float) -> list[M]:
        """Read until ``done(items)`` holds or ``timeout_s`` passes; returns all items."""
        deadline = time.monotonic() + timeout_s
        while not done(self.items) and time.monotonic() < deadline:
            for m in self._consumer.consume(500, 0.2):
                if m.error() is None:
                    self.items.append(decode(self._cls, m.value()))
                    self.keys.append(m.key())
        return self.items

    def settle(self, quiet_s: float = 1.0) -> list[M]:
        """Keep reading until nothing new arrived for ``quiet_s``."""
        while True:
            before = len(self.items)
            self.read_until(functools.partial(_grew, before), quiet_s)
            if len(self.items) == before:
                return self.items

    def close(self) -> None:
        self._consumer.close()


def _grew(before: int, items: list[Any]) -> bool:
    return len(items) > before


def coverage(results: list[Any], drops: list[Any]) -> dict[tuple[str, int], list[int]]:
    """Every source offset a result or a drop record accounts for, per frames partition."""
    seen: dict[tuple[str, int], list[int]] = {}
    for r in results:
        seen.setdefault((r.source_topic, r.source_partition), []).append(r.source_offset)
    for d in drops:
        seen.setdefault((d.topic, d.partition), []).extend(
            range(d.first_offset, d.last_offset + 1)
        )
    return seen


class WorkerThread:
    """``run_worker`` on a thread, for tests and benchmarks; ``start`` waits until ready."""

    def __init__(self, settings: Any, detector: Any = None) -> None:
        self.settings = settings
        self._detector = detector
        self._stop = threading.Event()
        self._started = threading.Event()
        self.handle: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-worker", daemon=True)

    def start(self, timeout_s: float = 60.0) -> WorkerThread:
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"worker did not start within {timeout_s}s: {self.error}")
        if self.error is not None:
            raise RuntimeError("worker failed to start") from self.error
        return self

    def stop(self, timeout_s: float = 60.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError("worker did not stop")
        if self.error is not None:
            raise RuntimeError("worker failed") from self.error

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _on_started(self, handle: Any) -> None:
        self.handle = handle
        self._started.set()

    def _run(self) -> None:
        from framewire.inference.service import run_worker

        try:
            run_worker(self.settings, self._stop, detector=self._detector,
                       on_started=self._on_started)
        except BaseException as exc:
            self.error = exc
            self._started.set()


def read_until_covered(
    kafka: KafkaSettings, sent: dict[str, int], timeout_s: float
) -> tuple[list[Any], list[Any]]:
    """Read committed results and drop records until every sent frame offset is accounted
    for (or ``timeout_s`` passes), then until quiet, so late duplicates would show too."""
    from framewire.v1.detection_pb2 import DetectionResult
    from framewire.v1.ops_pb2 import DropRecord

    topics = kafka.topics
    results = TopicReader(kafka, [topics.results(s) for s in sent], DetectionResult)
    drops = TopicReader(kafka, [topics.drops], DropRecord)
    wanted = {(topics.frames(s), 0): set(range(n)) for s, n in sent.items()}

    def covered(_: list[Any]) -> bool:
        seen = coverage(results.items, drops.items)
        return all(want <= set(seen.get(tp, ())) for tp, want in wanted.items())

    deadline = time.monotonic() + timeout_s
    while not covered([]) and time.monotonic() < deadline:
        results.read_until(covered, 0.5)
        drops.read_until(covered, 0.1)
    results.settle(1.0)
    drops.settle(0.5)
    results.close()
    drops.close()
    return results.items, drops.items
