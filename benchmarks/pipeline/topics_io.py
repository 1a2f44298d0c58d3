"""The run's topics: creating them, and reading back what a gateway phase put on them."""

from __future__ import annotations

from confluent_kafka import Consumer
from measures import Sent

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.history import end_offset, history_consumer, read_ranges
from framewire.core.kafka import make_admin
from framewire.v1.frame_pb2 import Frame


def create_topics(kafka: KafkaSettings, streams: list[str]) -> None:
    """Every topic the pipeline uses, created up front so no phase waits for it."""
    policy = TopicPolicy()
    specs = fixed_topics(kafka.topics, policy)
    for stream_id in streams:
        specs += stream_topics(kafka.topics, stream_id, policy)
    ensure_topics(make_admin(kafka), specs)


class FramesReader:
    """End offsets of the frames topics, and the frames between two such readings."""

    def __init__(self, kafka: KafkaSettings, streams: list[str]) -> None:
        self._topics = {s: kafka.topics.frames(s) for s in streams}
        self._consumer: Consumer = history_consumer(kafka)

    def ends(self) -> dict[str, int]:
        return {s: end_offset(self._consumer, t, 0) for s, t in self._topics.items()}

    def read(self, starts: dict[str, int], ends: dict[str, int]) -> tuple[list[Sent], dict[str, int]]:
        """Frames in [starts, ends) per stream, and each stream's last sequence number."""
        sent, last = [], {}
        for stream_id, topic in self._topics.items():
            if ends[stream_id] <= starts[stream_id]:
                continue
            for msg in read_ranges(self._consumer, topic, {0: (starts[stream_id], ends[stream_id])}):
                value = msg.value() or b""
                frame = decode(Frame, value, topic=topic, partition=0, offset=msg.offset())
                sent.append(Sent(stream_id, frame.capture_time_ns, len(value) + len(msg.key() or b"")))
                last[stream_id] = frame.sequence
        return sent, last

    def close(self) -> None:
        self._consumer.close()
