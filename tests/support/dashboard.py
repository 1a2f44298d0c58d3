"""Synthetic pipeline traffic, published exactly as the gateway and inference publish it.

Used by the dashboard's tests, its benchmark and for demos without cameras: real JPEGs
(scikit-image's bundled photos, a test dependency, imported lazily), ``Frame``,
``DetectionResult``, ``StreamStatus`` and ``StreamSpec`` records on the real topics, and
the tracker's ``TrackedResult`` and ``ZoneEvent`` records in Kafka transactions
(``TrackerTraffic``), as the tracking stage writes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import make_admin, make_producer, producer_config
from framewire.v1.detection_pb2 import Box, Detection, DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus
from framewire.v1.tracks_pb2 import Track, TrackedResult, ZoneEvent


@cache
def sample_jpeg(name: str = "chelsea", quality: int = 85) -> tuple[bytes, int, int]:
    """A bundled scikit-image photo as JPEG bytes with its width and height."""
    import cv2
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode {name} as JPEG")
    return buf.tobytes(), int(rgb.shape[1]), int(rgb.shape[0])


@dataclass
class Ack:
    """Where a record landed; filled in by the delivery report (after ``flush``)."""

    partition: int = -1
    offset: int = -1
    error: KafkaError | None = None

    @property
    def coords(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Det:
    """A detection to publish: label, score and normalised box (x1, y1, x2, y2)."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    class_id: int = 0


@dataclass
class TrafficPublisher:
    """Publishes records and reports their offsets; call ``flush()`` before reading acks."""

    kafka: KafkaSettings
    # Extra librdkafka producer options, e.g. {"linger.ms": 0} for latency measurements.
    producer_options: dict[str, Any] = field(default_factory=dict)
    _producer: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._producer = make_producer(self.kafka, **self.producer_options)

    def create_topics(self, *stream_ids: str) -> None:
        topics, policy = self.kafka.topics, TopicPolicy()
        specs = fixed_topics(topics, policy)
        for stream_id in stream_ids:
            specs += stream_topics(topics, stream_id, policy)
        ensure_topics(make_admin(self.kafka), specs)

    def _send(self, topic: str, key: str, value: bytes | None) -> Ack:
        ack = Ack()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            ack.error = err
            partition, offset = msg.partition(), msg.offset()
            ack.partition = -1 if partition is None else partition
            ack.offset = -1 if offset is None else offset

        self._producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
        self._producer.poll(0)
        return ack

    def frame(self, stream_id: str, sequence: int, image: str = "chelsea") -> Ack:
        jpeg, width, height = sample_jpeg(image)
        now = time.time_ns()
        msg = Frame(stream_id=stream_id, sequence=sequence, capture_time_ns=now,
                    publish_time_ns=now, source=f"sample:{image}", width=width, height=height,
                    encoding=Frame.ENCODING_JPEG, data=jpeg)
        return self._send(self.kafka.topics.frames(stream_id), stream_id, encode(msg))

    def result(
        self, stream_id: str, frame: Ack | None, sequence: int, detections: list[Det],
        *, size: tuple[int, int] = (451, 300), capture_time_ns: int | None = None,
    ) -> Ack:
        now = time.time_ns()
        msg = DetectionResult(
            stream_id=stream_id, frame_sequence=sequence,
            source_topic=self.kafka.topics.frames(stream_id),
            source_partition=frame.partition if frame else 0,
            source_offset=frame.offset if frame else -1,
            capture_time_ns=capture_time_ns or now - 20_000_000, result_time_ns=now,
            model_id="sample-model", model_version="1", image_width=size[0], image_height=size[1],
            worker_id="testkit",
            detections=[Detection(class_id=d.class_id, label=d.label, score=d.score,
                                  box=Box(xmin=d.box[0], ymin=d.box[1], xmax=d.box[2],
                                          ymax=d.box[3])) for d in detections],
        )
        return self._send(self.kafka.topics.results(stream_id), stream_id, encode(msg))

    def status(self, stream_id: str, state: Any = StreamStatus.STATE_RUNNING, **fields: Any) -> Ack:
        msg = StreamStatus(stream_id=stream_id, state=state, updated_time_ns=time.time_ns(),
                           gateway_id="testkit", **fields)
        return self._send(self.kafka.topics.status, stream_id, encode(msg))

    def spec(self, stream_id: str, source_uri: str = "file:///samples/cat.jpg", **fields: Any) -> Ack:
        msg = StreamSpec(stream_id=stream_id, source_uri=source_uri, enabled=True, **fields)
        return self._send(self.kafka.topics.streams, stream_id, encode(msg))

    def raw(self, topic: str, key: str, value: bytes | None) -> Ack:
        return self._send(topic, key, value)

    def flush(self, timeout_s: float = 15.0) -> None:
        if self._producer.flush(timeout_s) > 0:
            raise KafkaUnavailableError(f"records not delivered to {self.kafka.bootstrap} in time")


@dataclass(frozen=True)
class Obj:
    """A tracked object in one frame: id, label and normalised box (x1, y1, x2, y2)."""

    track_id: int
    label: str
    box: tuple[float, float, float, float]


class TrackerTraffic:
    """Writes what the tracking stage writes, each call in its own Kafka transaction: one
    frame's ``TrackedResult`` on ``tracks.<stream>``, with its ``ZoneEvent``s on ``events``."""

    def __init__(self, kafka: KafkaSettings, name: str = "testkit-tracker") -> None:
        self.kafka = kafka
        self._producer = Producer(producer_config(kafka, transactional_id=f"{kafka.topics.prefix}{name}"))
        self._producer.init_transactions(30)

    def frame(self, stream_id: str, sequence: int, frame_offset: int, objects: list[Obj],
              events: Sequence[ZoneEvent] = (), *, commit: bool = True) -> None:
        now = time.time_ns()
        tracks = [Track(track_id=o.track_id, label=o.label, score=0.9, hits=sequence + 1,
                        box=Box(xmin=o.box[0], ymin=o.box[1], xmax=o.box[2], ymax=o.box[3]),
                        first_seen_ns=now, last_seen_ns=now) for o in objects]
        msg = TrackedResult(schema_version=1, stream_id=stream_id, frame_sequence=sequence,
                            capture_time_ns=now, frame_topic=self.kafka.topics.frames(stream_id),
                            frame_offset=frame_offset, tracks=tracks, tracker_id="testkit",
                            result_time_ns=now)
        self._producer.begin_transaction()
        self._producer.produce(self.kafka.topics.tracks(stream_id), encode(msg), stream_id.encode())
        for event in events:
            self._producer.produce(self.kafka.topics.events, encode(event), stream_id.encode())
        if commit:
            self._producer.commit_transaction(30)
        else:
            self._producer.abort_transaction(30)

    @staticmethod
    def event(stream_id: str, kind: str, track_id: int, where: str, sequence: int,
              direction: str = "", label: str = "person") -> ZoneEvent:
        now = time.time_ns()
        return ZoneEvent(schema_version=1, stream_id=stream_id, kind=ZoneEvent.Kind.Value(kind.upper()),
                         track_id=track_id, zone_or_line=where, direction=direction, label=label,
                         frame_sequence=sequence, capture_time_ns=now, tracker_id="testkit",
                         event_time_ns=now)

    def close(self) -> None:
        self._producer.flush(10)


@dataclass(frozen=True)
class SseEvent:
    """One parsed server-sent event."""

    kind: str
    event_id: str | None
    data: Any


def parse_sse_block(block: str) -> SseEvent | None:
    """Parse one SSE block (lines between blank lines); None for heartbeats and comments."""
    kind, event_id, data = "message", None, []
    for line in block.splitlines():
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "id":
            event_id = value
        elif name == "data":
            data.append(value)
    if not data:
        return None
    return SseEvent(kind, event_id, json.loads("\n".join(data)))


async def sse_events(chunks: Any) -> Any:
    """Async-iterate SseEvents from an async iterator of text chunks (e.g. httpx aiter_text)."""
    buffer = ""
    async for chunk in chunks:
        buffer += chunk.replace("\r\n", "\n")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event = parse_sse_block(block)
            if event is not None:
                yield event
