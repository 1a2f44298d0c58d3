"""The direct producer: Frames of pre-encoded JPEGs at a controlled total rate.

Used for offered loads beyond what a gateway paces from clips, and to keep gateway costs
out of the inference measurements. Frames go round-robin over the streams on a fixed
schedule (``due = start + n / rate``), so the offered rate is exact however late a wake-up
is; the thread blocks between frames and never spins. Every frame is recorded with its
capture time and size; a full producer buffer or a failed delivery is counted, not hidden.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from confluent_kafka import KafkaError, Message
from measures import Sent
from workload import Workload

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.v1.frame_pb2 import Frame

log = logging.getLogger(__name__)

# Bound of the producer's queue: when it is full the frame is dropped and counted.
PRODUCER_BUFFER_MIB = 64


class LoadGenerator:
    """One per run. ``start(rate)`` … ``stop()`` per phase; ``probe()`` between phases."""

    def __init__(self, kafka: KafkaSettings, workload: Workload) -> None:
        self._kafka = kafka
        self._workload = workload
        self._producer = make_producer(kafka, buffer_mib=PRODUCER_BUFFER_MIB, **{"linger.ms": 1})
        self._sequence = {s.stream_id: 0 for s in workload.streams}
        self._lock = threading.Lock()
        self._sent: list[Sent] = []
        self.drops: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def continue_after(self, last_sequences: dict[str, int]) -> None:
        """Keep sequences strictly increasing after frames another producer wrote."""
        for stream_id, last in last_sequences.items():
            self._sequence[stream_id] = max(self._sequence[stream_id], last + 1)

    def start(self, total_fps: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(total_fps,), name="bench-load",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._producer.flush(30)

    def probe(self) -> None:
        """One frame per stream, outside any phase: used to see that workers serve them."""
        for media in self._workload.streams:
            self._produce(media.stream_id, media.jpegs[0], record=False)
        self._producer.flush(10)

    def take_sent(self) -> list[Sent]:
        with self._lock:
            sent, self._sent = self._sent, []
        return sent

    def take_drops(self) -> Counter[str]:
        with self._lock:
            drops, self.drops = self.drops, Counter()
        return drops

    def close(self) -> None:
        self._producer.flush(30)

    def _run(self, total_fps: float) -> None:
        streams = self._workload.streams
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            due = start + n / total_fps
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            media = streams[n % len(streams)]
            self._produce(media.stream_id, media.jpegs[(n // len(streams)) % len(media.jpegs)])
            self._producer.poll(0)
            n += 1

    def _produce(self, stream_id: str, jpeg: bytes, record: bool = True) -> None:
        now = time.time_ns()
        sequence = self._sequence[stream_id]
        value = encode(Frame(
            stream_id=stream_id, sequence=sequence, capture_time_ns=now, publish_time_ns=now,
            source="bench", width=self._workload.width, height=self._workload.height,
            encoding=Frame.ENCODING_JPEG, data=jpeg,
        ))
        key = stream_id.encode()
        try:
            self._producer.produce(self._kafka.topics.frames(stream_id), value, key,
                                   on_delivery=self._on_delivery)
        except BufferError:
            with self._lock:
                self.drops["loadgen:backpressure"] += 1
            return
        self._sequence[stream_id] = sequence + 1
        if record:
            with self._lock:
                self._sent.append(Sent(stream_id, now, len(key) + len(value)))

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            with self._lock:
                self.drops["loadgen:delivery_failed"] += 1
            log.warning("frame not delivered to %s: %s", msg.topic(), err)
