"""The frames side of a replay: offset lookups and reading a range of offsets.

Called by ``run_replay``: ``FramesHistory`` answers where a time window lies in a stream's
frames topic and reads those offsets without a consumer group.
"""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from framewire.core.config import KafkaSettings
from framewire.core.errors import KafkaUnavailableError
from framewire.core.history import UnknownTopicError, history_consumer, partitions_of, read_ranges
from framewire.models.perframe.records import Coords, Inbound
from framewire.replay.window import PartitionRange, PartitionState, TimeWindow

# (source partition, source offset) of a frame of the replayed topic.
FrameKey = tuple[int, int]


class FramesHistory:
    """A group-less reader of one frames topic; ``close`` when done."""

    def __init__(self, kafka: KafkaSettings, admin: AdminClient, topic: str) -> None:
        self.topic = topic
        self._admin = admin
        self._timeout = kafka.connect_timeout_s
        self._consumer = history_consumer(kafka)

    def partitions(self, stream: str) -> list[int]:
        """The topic's partitions; UnknownTopicError naming the streams that do exist."""
        try:
            return partitions_of(self._consumer, self.topic, self._timeout)
        except UnknownTopicError:
            known = self._known_streams()
            raise UnknownTopicError(
                f"unknown stream {stream!r}: topic {self.topic} does not exist; streams with "
                f"frames on Kafka: {', '.join(known) or 'none'}", stream_id=stream,
            ) from None

    def states(self, partitions: list[int], window: TimeWindow) -> list[PartitionState]:
        """Watermarks, window offsets and stored time span of each partition (no record is
        fetched: ListOffsets answers with timestamps)."""
        low = self._lookup(partitions, OffsetSpec.earliest())
        high = self._lookup(partitions, OffsetSpec.latest())
        start = self._lookup(partitions, OffsetSpec.for_timestamp(window.start_ms))
        end = self._lookup(partitions, OffsetSpec.for_timestamp(window.end_ms))
        first = self._lookup(partitions, OffsetSpec.for_timestamp(0))
        last = self._lookup(partitions, OffsetSpec.max_timestamp())
        return [
            PartitionState(p, low[p][0], high[p][0], start[p][0], end[p][0], first[p][1], last[p][1])
            for p in partitions
        ]

    def read(self, ranges: list[PartitionRange], stall_s: float) -> Iterator[Message]:
        """Every stored record of ``ranges``, in offset order per partition."""
        offsets = {r.partition: (r.start, r.end) for r in ranges}
        return read_ranges(self._consumer, self.topic, offsets, stall_s)

    def close(self) -> None:
        self._consumer.close()

    def _lookup(self, partitions: list[int], spec: OffsetSpec) -> dict[int, tuple[int, int]]:
        """partition -> (offset, timestamp) for one kind of ListOffsets query."""
        request = {TopicPartition(self.topic, p): spec for p in partitions}
        try:
            futures = self._admin.list_offsets(request, request_timeout=self._timeout)
            answers = {tp.partition: f.result(self._timeout) for tp, f in futures.items()}
        except KafkaException as exc:
            raise KafkaUnavailableError(f"offset lookup failed: {exc}", topic=self.topic) from None
        return {p: (int(a.offset), int(a.timestamp)) for p, a in answers.items()}

    def _known_streams(self) -> list[str]:
        from framewire.core.topics import Topics

        prefix = self.topic[: self.topic.rfind("frames.")]
        topics = Topics(prefix)
        names = self._consumer.list_topics(timeout=self._timeout).topics
        found = {topics.stream_of(t) for t in names if t.startswith(f"{prefix}frames.")}
        return sorted(s for s in found if s)


def inbound_of(msg: Message) -> Inbound:
    """A consumed frames record as the per-frame path's in-process record."""
    headers = tuple((str(h[0]), _as_bytes(h[1]) or b"") for h in msg.headers() or ())
    coords = Coords(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
    return Inbound(coords, _as_bytes(msg.key()), msg.value(), headers, int(msg.timestamp()[1]))


def _as_bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
