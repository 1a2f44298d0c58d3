"""The direct producer: Frames of pre-encoded JPEGs, open loop (a fixed rate) or closed loop.

Used for offered loads beyond what a gateway paces from clips, and to keep gateway costs
out of the inference measurements. Open loop sends round-robin over the streams on a fixed
schedule (``due = start + n / rate``), so the offered rate is exact however late a wake-up
is. Closed loop (the capacity phase) gives each stream a few *credits*: a frame is sent
when a credit is free and an answer for an earlier frame (its result or a drop record)
returns it, so the pipeline runs flat out with short queues. Both block between frames and
never spin. Every frame is recorded with its capture time and size; a full producer buffer
or a failed delivery is counted, not hidden.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

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
WAIT_S = 0.2  # longest a closed-loop wait blocks before looking at the stop flag


class Credits:
    """Frames each stream may still have unanswered (closed-loop feeding)."""

    def __init__(self, streams: list[str], per_stream: int) -> None:
        self.per_stream = per_stream
        self._left = dict.fromkeys(streams, per_stream)
        self._order = list(streams)
        self._next = 0
        self._cond = threading.Condition()

    def give(self, stream: str, count: int = 1) -> None:
        """An answer arrived (called by the results observer's thread)."""
        with self._cond:
            if stream in self._left:
                self._left[stream] = min(self.per_stream, self._left[stream] + count)
                self._cond.notify_all()

    def wait_returned(self, timeout_s: float) -> bool:
        """Block until every credit is back (all frames answered); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while sum(self._left.values()) < self.per_stream * len(self._left):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(WAIT_S, left))
        return True

    def take(self, stop: threading.Event) -> str | None:
        """The next stream (round-robin) with a free credit; None once ``stop`` is set."""
        with self._cond:
            while not stop.is_set():
                for k in range(len(self._order)):
                    stream = self._order[(self._next + k) % len(self._order)]
                    if self._left[stream] > 0:
                        self._left[stream] -= 1
                        self._next = (self._next + k + 1) % len(self._order)
                        return stream
                self._cond.wait(WAIT_S)
        return None


class LoadGenerator:
    """One per run. ``start_rate``/``start_closed`` … ``stop`` per phase; ``probe`` between."""

    def __init__(self, kafka: KafkaSettings, workload: Workload) -> None:
        self._kafka = kafka
        self._media = {s.stream_id: s for s in workload.streams}
        self._size = (workload.width, workload.height)
        self._producer = make_producer(kafka, buffer_mib=PRODUCER_BUFFER_MIB, **{"linger.ms": 1})
        self._sequence = dict.fromkeys(self._media, 0)
        self._lock = threading.Lock()
        self._sent: list[Sent] = []
        self._drops: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def continue_after(self, last_sequences: dict[str, int]) -> None:
        """Keep sequences strictly increasing after frames another producer wrote."""
        for stream_id, last in last_sequences.items():
            self._sequence[stream_id] = max(self._sequence[stream_id], last + 1)

    def start_rate(self, total_fps: float) -> None:
        self._start(self._run_rate, total_fps)

    def start_closed(self, credits: Credits) -> None:
        self._start(self._run_closed, credits)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._producer.flush(30)

    def probe(self) -> None:
        """One frame per stream, outside any phase: used to see that workers serve them."""
        for stream_id in self._media:
            self._produce(stream_id, record=False)
        self._producer.flush(10)

    def take_sent(self) -> list[Sent]:
        with self._lock:
            sent, self._sent = self._sent, []
        return sent

    def take_drops(self) -> Counter[str]:
        with self._lock:
            drops, self._drops = self._drops, Counter()
        return drops

    def close(self) -> None:
        self._producer.flush(30)

    def _start(self, target: Callable[[Any], None], arg: object) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=target, args=(arg,), name="bench-load", daemon=True)
        self._thread.start()

    def _run_rate(self, total_fps: float) -> None:
        streams = list(self._media)
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            wait = start + n / total_fps - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            self._produce(streams[n % len(streams)])
            self._producer.poll(0)
            n += 1

    def _run_closed(self, credits: Credits) -> None:
        while (stream := credits.take(self._stop)) is not None:
            if not self._produce(stream):
                credits.give(stream)  # nothing was sent: no answer will return the credit
            self._producer.poll(0)

    def _produce(self, stream_id: str, record: bool = True) -> bool:
        now = time.time_ns()
        sequence = self._sequence[stream_id]
        jpegs = self._media[stream_id].jpegs
        value = encode(Frame(
            stream_id=stream_id, sequence=sequence, capture_time_ns=now, publish_time_ns=now,
            source="bench", width=self._size[0], height=self._size[1],
            encoding=Frame.ENCODING_JPEG, data=jpegs[sequence % len(jpegs)],
        ))
        key = stream_id.encode()
        try:
            self._producer.produce(self._kafka.topics.frames(stream_id), value, key,
                                   on_delivery=self._on_delivery)
        except BufferError:
            with self._lock:
                self._drops["loadgen:backpressure"] += 1
            self._producer.poll(0.05)  # let deliveries free the buffer before the next try
            return False
        self._sequence[stream_id] = sequence + 1
        if record:
            with self._lock:
                self._sent.append(Sent(stream_id, now, len(key) + len(value)))
        return True

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            with self._lock:
                self._drops["loadgen:delivery_failed"] += 1
            log.warning("frame not delivered to %s: %s", msg.topic(), err)
