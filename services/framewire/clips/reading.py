"""Reading a clip's inputs from Kafka: frames of a time range, their results, alerts.

Called by ``clips.make``. Frames and results are read group-less and read_committed
(``core.history``); a frame in its topic twice is read once (``core.dedup``). Where the
range cannot be served the error says what is on Kafka instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import Message
from pydantic import ValidationError

from framewire.clips.overlay import Drawn
from framewire.clips.spans import MAX_WAIT_S, ClipRange, ClipRangeError
from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.dedup import RecentFrames
from framewire.core.errors import DecodeError
from framewire.core.history import UnknownTopicError, history_consumer, read_topic
from framewire.core.kafka import make_admin
from framewire.core.statsformat import AlertMessage
from framewire.replay.frames import FramesHistory
from framewire.replay.window import PartitionRange, PartitionState, TimeWindow, format_time, range_of
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame

log = logging.getLogger(__name__)
# Results are written after their frame: look this far past the range for them.
RESULTS_LAG_MS = 60_000
# A frame captured just before ``end`` is on Kafka a moment later.
SETTLE_MS = 1500
FrameKey = tuple[int, int]  # (sequence, capture time ns)


@dataclass(frozen=True)
class ClipFrame:
    """One stored frame of the range, still JPEG-encoded."""

    sequence: int
    capture_ns: int
    width: int
    height: int
    jpeg: bytes

    @property
    def key(self) -> FrameKey:
        return self.sequence, self.capture_ns

    @property
    def capture_ms(self) -> int:
        return self.capture_ns // 1_000_000


@dataclass(frozen=True)
class FramePlan:
    """Where the range lies in the frames topic, and the stored span for messages."""

    ranges: list[PartitionRange]
    oldest_ms: int
    newest_ms: int

    @property
    def count(self) -> int:
        return sum(r.count for r in self.ranges)


class ClipSource:
    """One stream's frames, results and the alerts; ``close`` when done."""

    def __init__(self, kafka: KafkaSettings, stream: str, stall_s: float = 30.0) -> None:
        self._kafka, self._stream, self._stall_s = kafka, stream, stall_s
        self._topics = kafka.topics
        self._admin = make_admin(kafka)
        self._frames = FramesHistory(kafka, self._admin, self._topics.frames(stream))

    def wait_for_end(self, clip: ClipRange, on_wait: Callable[[float], None] | None = None) -> None:
        """Block until frames up to the range's end can be on Kafka (post-roll of a fresh event)."""
        remaining = (clip.end_ms + SETTLE_MS) / 1000 - time.time()
        if remaining > MAX_WAIT_S + SETTLE_MS / 1000:
            raise ClipRangeError(f"the range ends more than {MAX_WAIT_S} s from now", stream_id=clip.stream)
        if remaining > 0:
            if on_wait is not None:
                on_wait(remaining)
            time.sleep(remaining)

    def plan(self, clip: ClipRange) -> FramePlan:
        """Offsets of the range per partition; ClipRangeError when none of it is stored."""
        partitions = self._frames.partitions(clip.stream)
        states = self._frames.states(partitions, TimeWindow(clip.start_ms, clip.end_ms))
        return plan_frames(clip, states, self._frames.topic)

    def frames(self, plan: FramePlan, clip: ClipRange) -> Iterator[ClipFrame]:
        """The range's frames in capture order per partition, each once."""
        recent = RecentFrames()
        for msg in self._frames.read(plan.ranges, self._stall_s):
            frame = _frame_of(msg)
            if frame is None or not clip.start_ms <= frame.capture_ms < clip.end_ms:
                continue
            if not recent.seen_before(frame.sequence, frame.capture_ns):
                yield frame

    def results(self, clip: ClipRange) -> dict[FrameKey, list[Drawn]]:
        """Detections of the range's frames by (sequence, capture time); empty when the
        stream has no results topic (no worker ever ran on it)."""
        topic = self._topics.results(self._stream)
        reader = FramesHistory(self._kafka, self._admin, topic)
        try:
            partitions = reader.partitions(self._stream)
        except UnknownTopicError:
            return {}
        try:
            window = TimeWindow(clip.start_ms, clip.end_ms + RESULTS_LAG_MS)
            states = reader.states(partitions, window)
            ranges = [range_of(s) for s in states if not s.empty]
            found: dict[FrameKey, list[Drawn]] = {}
            for msg in reader.read([r for r in ranges if r.count > 0], self._stall_s):
                _add_result(found, msg, clip)
            return found
        finally:
            reader.close()

    def alerts(self) -> Iterator[AlertMessage]:
        """Every alert transition still on the alerts topic, in topic order."""
        consumer = history_consumer(self._kafka, "framewire-clip")
        try:
            for msg in read_topic(consumer, self._topics.alerts, self._stall_s):
                alert = _alert_of(msg)
                if alert is not None:
                    yield alert
        except UnknownTopicError:
            return
        finally:
            consumer.close()

    def close(self) -> None:
        self._frames.close()


def plan_frames(clip: ClipRange, states: list[PartitionState], topic: str) -> FramePlan:
    """Offsets covering ``clip``; ClipRangeError naming the stored span when none of it is
    stored (expired by retention, or never captured)."""
    stored = [s for s in states if not s.empty]
    if not stored:
        raise ClipRangeError(f"no frames of stream {clip.stream} are on Kafka (none published, or "
                             "retention removed them all)", stream_id=clip.stream, topic=topic)
    oldest, newest = min(s.first_ts for s in stored), max(s.last_ts for s in stored)
    if clip.end_ms <= oldest:
        expired = any(s.low > 0 for s in stored)
        why = "retention removed them" if expired else "the stream's frames begin later"
        raise ClipRangeError(
            f"frames of stream {clip.stream} before {format_time(oldest)} are not on Kafka ({why}); "
            f"the oldest available frame is at {format_time(oldest)}",
            stream_id=clip.stream, topic=topic)
    ranges = [r for r in (range_of(s) for s in stored) if r.count > 0]
    if not ranges:
        raise ClipRangeError(f"no frames of stream {clip.stream} in {clip}; the frames on Kafka span "
                             f"{format_time(oldest)} .. {format_time(newest)}",
                             stream_id=clip.stream, topic=topic)
    return FramePlan(ranges, oldest, newest)


def _frame_of(msg: Message) -> ClipFrame | None:
    try:
        frame = decode(Frame, msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset())
    except DecodeError as exc:
        log.warning("skipping a frame record: %s", exc)
        return None
    return ClipFrame(frame.sequence, frame.capture_time_ns, frame.width, frame.height, frame.data)


def _add_result(found: dict[FrameKey, list[Drawn]], msg: Message, clip: ClipRange) -> None:
    try:
        result = decode(DetectionResult, msg.value(), topic=msg.topic(), partition=msg.partition(),
                        offset=msg.offset())
    except DecodeError as exc:
        log.warning("skipping a result record: %s", exc)
        return
    if not clip.start_ms <= result.capture_time_ns // 1_000_000 < clip.end_ms:
        return
    found[(result.frame_sequence, result.capture_time_ns)] = [
        Drawn(d.label, d.score, (d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax))
        for d in result.detections
    ]


def _alert_of(msg: Message) -> AlertMessage | None:
    try:
        return AlertMessage.model_validate(json.loads(msg.value() or b""))
    except (ValueError, ValidationError):  # not an alert of ours: other tools may write here
        return None
