"""Replay kit: a recorded stream with known timestamps.

``record`` publishes frames as a gateway would have, 1/fps apart on Kafka's clock and
ending a few seconds ago, and returns the window that holds exactly them, so a test can
replay all of them or the window of any frame range.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from framewire.core.admin import ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import Frame, encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_admin, make_producer
from framewire.replay.window import TimeWindow

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photo_jpegs(count: int, width: int, height: int, hold: int = 1) -> list[bytes]:
    """``count`` frames showing the bundled photos in turn, each for ``hold`` frames,
    drifting 2 px a frame while held (so held frames still differ)."""
    import skimage.data

    photos = []
    for name in PHOTOS:
        rgb = getattr(skimage.data, name)()
        photos.append(cv2.resize(np.ascontiguousarray(rgb[:, :, ::-1]), (width, height)))
    frames = (np.roll(photos[(i // hold) % len(photos)], 2 * (i % hold), axis=1) for i in range(count))
    return [cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for bgr in frames]


class Recording:
    """Frames of one stream published with timestamps ``start_ms + i * 1000 / fps``."""

    def __init__(self, kafka: KafkaSettings, stream: str, fps: float, start_ms: int) -> None:
        self.kafka, self.stream, self.fps, self.start_ms = kafka, stream, fps, start_ms
        self.count = 0

    def timestamp(self, index: int) -> int:
        return self.start_ms + round(index * 1000 / self.fps)

    def window(self, first: int = 0, stop: int | None = None) -> TimeWindow:
        """The window holding exactly frames ``first .. stop-1`` (all by default)."""
        return TimeWindow(self.timestamp(first), self.timestamp(self.count if stop is None else stop))

    def publish(self, jpegs: list[bytes], width: int, height: int) -> None:
        producer = make_producer(self.kafka)
        topic = self.kafka.topics.frames(self.stream)
        for jpeg in jpegs:
            ts = self.timestamp(self.count)
            # As a gateway publishes it, captured at the record's timestamp.
            value = encode(Frame(stream_id=self.stream, sequence=self.count, source="test",
                                 capture_time_ns=ts * 1_000_000, publish_time_ns=time.time_ns(),
                                 width=width, height=height, encoding=Frame.ENCODING_JPEG,
                                 data=jpeg))
            producer.produce(topic, value, self.stream.encode(), timestamp=ts)
            producer.poll(0)
            self.count += 1
        if producer.flush(30) != 0:
            raise RuntimeError("recorded frames were not all delivered")


def record(
    kafka: KafkaSettings, stream: str, jpegs: list[bytes], *, width: int, height: int,
    fps: float = 15.0,
) -> Recording:
    """Create the stream's topics and publish ``jpegs`` as recorded until 5 s ago."""
    topics, policy = kafka.topics, kafka.topic_policy
    ensure_topics(make_admin(kafka), [*fixed_topics(topics, policy), *stream_topics(topics, stream, policy)])
    start_ms = time.time_ns() // 1_000_000 - 5000 - round(len(jpegs) * 1000 / fps)
    recording = Recording(kafka, stream, fps, start_ms)
    recording.publish(jpegs, width, height)
    return recording
