"""Calibration frames read back from a stream's frames topic (``--from-topic STREAM``).

Called by ``framewire models quantize``: the newest frames of ``<prefix>frames.<stream>``
are read without a consumer group (nothing is committed), every ``stride``-th one is kept
so that consecutive near-identical frames do not crowd the set, and each JPEG is decoded
with the wire codec's ``Frame``.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from framewire.core.codec import Frame, decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, ModelError
from framewire.core.history import end_offset, history_consumer, partitions_of, read_ranges
from framewire.models.calibration import ImageSet, split

log = logging.getLogger(__name__)


def topic_set(settings: KafkaSettings, stream: str, count: int, stride: int = 5) -> ImageSet:
    """``count`` frames each way from the end of ``stream``'s frames topic."""
    topic = settings.topics.frames(stream)
    frames, first, last = _read_frames(settings, topic, 2 * count, stride)
    if len(frames) < 2:
        raise ModelError(
            f"the frames topic {topic} holds {len(frames)} decodable frames; quantizing needs "
            "at least 2 (run the stream for a while, or calibrate on the bundled samples)",
            stream_id=stream, topic=topic,
        )
    log.info("read %d calibration frames from %s (offsets %s..%s)", len(frames), topic, first, last)
    return split(frames, f"topic {topic}: {len(frames)} frames, offsets {first}..{last}, every {stride}th")


def _read_frames(
    settings: KafkaSettings, topic: str, wanted: int, stride: int
) -> tuple[list[np.ndarray], dict[int, int], dict[int, int]]:
    """The newest ``wanted * stride`` records of ``topic``, every ``stride``-th decoded."""
    consumer = history_consumer(settings)
    try:
        parts = partitions_of(consumer, topic)
        ends = {p: end_offset(consumer, topic, p) for p in parts}
        span = -(-wanted * stride // len(parts))
        starts = {p: max(0, end - span) for p, end in ends.items()}
        frames: list[np.ndarray] = []
        for index, msg in enumerate(read_ranges(consumer, topic, {p: (starts[p], ends[p]) for p in parts})):
            if index % stride == 0:
                image = _image(msg.value(), topic, msg.partition(), msg.offset())
                if image is not None:
                    frames.append(image)
    finally:
        consumer.close()
    return frames[-wanted:], starts, ends


def _image(value: bytes | None, topic: str, partition: int | None, offset: int | None) -> np.ndarray | None:
    """The frame's picture, or None (logged) when the record is not a decodable JPEG frame."""
    try:
        frame = decode(Frame, value, topic=topic, partition=partition, offset=offset)
    except DecodeError as exc:
        log.warning("skipping a record that is not a Frame: %s", exc)
        return None
    if frame.encoding != Frame.ENCODING_JPEG or not frame.data:
        log.warning("skipping a frame that is not JPEG at %s[%s]@%s", topic, partition, offset)
        return None
    image = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("skipping an undecodable JPEG at %s[%s]@%s", topic, partition, offset)
    return image
