"""The gateway's Kafka producers: frames, and control messages (status, drop records).

Frames go through a producer whose queue is bounded (``producer_buffer_*``): when it is
full because the broker is slow or down, ``produce`` raises BufferError and the frame is
dropped with reason BACKPRESSURE, so the encoder never blocks. Frames not acknowledged
within ``delivery_timeout_ms`` (minutes: a short one lets the idempotent producer write
frames twice, see ``GatewaySettings``) are dropped with reason DELIVERY_FAILED. Status and drop
records use a second, small producer so they still flow while frames back up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from framewire.core.codec import encode
from framewire.core.kafka import make_producer
from framewire.core.topics import Topics
from framewire.gateway.counters import DropReason, StreamCounters
from framewire.gateway.settings import GatewaySettings
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DropRecord
from framewire.v1.stream_pb2 import StreamStatus

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[KafkaError | None, Message], None]


def delivery_callback(counters: StreamCounters) -> DeliveryCallback:
    """The per-stream delivery report handler; runs on the producer's poll thread."""

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            counters.frame_published(len(msg))
            return
        counters.frames_dropped(DropReason.DELIVERY_FAILED)
        if counters.dropped[DropReason.DELIVERY_FAILED] % 100 == 1:  # first, then every 100th
            log.warning("stream %s: frame not delivered to %s: %s",
                        counters.stream_id, msg.topic(), err.str())

    return on_delivery


def drop_report_callback(
    on_lost: Callable[[dict[DropReason, int]], None], drops: dict[DropReason, int]
) -> DeliveryCallback:
    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            log.warning("drop record for %s not delivered (%s); it is reported again",
                        msg.topic(), err.str())
            on_lost(drops)

    return on_delivery


class Publisher:
    """Owns both producers and the thread serving their delivery callbacks."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.topics: Topics = settings.kafka.topics
        self._last_error_log: dict[int, float] = {}
        self._frames = self._make_frames_producer()
        self._control = make_producer(settings.kafka, buffer_mib=4, **{"linger.ms": 20})
        self._fatal = threading.Event()
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="fw-gw-poll", daemon=True)

    def _make_frames_producer(self) -> Producer:
        s = self.settings
        return make_producer(
            s.kafka,
            buffer_mib=s.producer_buffer_mib,
            **{
                "queue.buffering.max.messages": s.producer_buffer_messages,
                "message.timeout.ms": s.delivery_timeout_ms,
                "error_cb": self._on_error,
            },
        )

    def start(self) -> None:
        self._poller.start()

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("frames producer hit a fatal error, recreating it: %s", err.str())
            self._fatal.set()
            return
        # While the broker is down librdkafka reports every retry: log each kind once a while.
        now = time.monotonic()
        if now - self._last_error_log.get(err.code(), -1e9) >= 10.0:
            self._last_error_log[err.code()] = now
            log.warning("frames producer: %s", err.str())

    def _poll_loop(self) -> None:
        # Serves delivery callbacks; poll() blocks up to its timeout, so no busy loop.
        while not self._closing.is_set():
            self._frames.poll(0.1)
            self._control.poll(0)
            if self._fatal.is_set():
                self._fatal.clear()
                old, self._frames = self._frames, self._make_frames_producer()
                old.purge()
                old.poll(0)

    def send_frame(self, topic: str, frame: Frame, on_delivery: DeliveryCallback,
                   counters: StreamCounters) -> bool:
        """Hand one frame to the producer; False (and counted) when it had to be dropped."""
        try:
            self._frames.produce(
                topic, encode(frame), frame.stream_id.encode(),
                on_delivery=on_delivery, timestamp=frame.capture_time_ns // 1_000_000,
            )
        except BufferError:
            counters.frames_dropped(DropReason.BACKPRESSURE)
            return False
        except KafkaException as exc:
            counters.frames_dropped(DropReason.DELIVERY_FAILED)
            log.warning("stream %s: cannot produce to %s: %s", frame.stream_id, topic, exc)
            return False
        return True

    def queued_frames(self) -> int:
        """Frames waiting in the producer (bounded by ``producer_buffer_messages``)."""
        return len(self._frames)

    def publish_status(self, status: StreamStatus) -> bool:
        return self._control_send(self.topics.status, status.stream_id, encode(status))

    def delete_status(self, stream_id: str) -> bool:
        """Tombstone the stream's status, so the compacted topic forgets it."""
        return self._control_send(self.topics.status, stream_id, None)

    def publish_drops(
        self, stream_id: str, drops: dict[DropReason, int],
        on_lost: Callable[[dict[DropReason, int]], None],
    ) -> dict[DropReason, int]:
        """One DropRecord per reason; returns those that could not be queued (retry later).

        A record queued but never delivered (the broker was gone past the delivery timeout)
        is handed to ``on_lost`` from the poll thread, so its count is reported again
        rather than silently missing from the drops topic.
        """
        now = time.time_ns()
        unsent = {}
        for reason, count in drops.items():
            record = DropRecord(
                stream_id=stream_id, topic="", partition=-1, first_offset=-1, last_offset=-1,
                count=count, reason=reason.value, service="gateway", time_ns=now,
                detail=f"gateway {self.settings.id}: {reason.label}",
            )
            if not self._control_send(self.topics.drops, stream_id, encode(record),
                                      drop_report_callback(on_lost, {reason: count})):
                unsent[reason] = count
        return unsent

    def _control_send(self, topic: str, key: str, value: bytes | None,
                      on_delivery: DeliveryCallback | None = None) -> bool:
        try:
            if on_delivery is None:
                self._control.produce(topic, value, key.encode())
            else:
                self._control.produce(topic, value, key.encode(), on_delivery=on_delivery)
        except (BufferError, KafkaException) as exc:
            log.debug("control message to %s not queued: %s", topic, exc)
            return False
        return True

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for queued frames and control messages; return what is left."""
        deadline = time.monotonic() + timeout_s
        left = self._frames.flush(timeout_s)
        return left + self._control.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush, then stop the poll thread; called once when the gateway stops."""
        left = self.flush(timeout_s)
        if left:
            log.warning("%s messages not delivered at shutdown", left)
        self._closing.set()
        self._poller.join(timeout=2.0)

