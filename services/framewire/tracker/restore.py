"""Reading the tracker state of newly assigned streams back from ``<prefix>tracker-state``.

Called from the stage's assignment callback, after the group's committed offsets of those
streams were fetched. That fetch waits until no transaction holding offsets for them is
open (the broker answers UNSTABLE_OFFSET_COMMIT until then), and the transaction that
committed the offsets also wrote the state, so the state read here is the one that goes
with the offsets: the newest record per stream, read committed, up to the topic's end.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import make_consumer
from framewire.v1.tracks_pb2 import TrackerState

log = logging.getLogger(__name__)


def read_states(
    kafka: KafkaSettings, streams: set[str], timeout_s: float
) -> dict[str, TrackerState]:
    """The newest committed state of each of ``streams`` (absent: never tracked, or deleted)."""
    topic = kafka.topics.tracker_state
    reader = make_consumer(kafka, f"{kafka.topic_prefix}tracker-restore", **{
        "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    try:
        ends = _ends(reader, topic, timeout_s)
        if not ends:
            return {}
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        return _read_to_end(reader, topic, ends, streams, time.monotonic() + timeout_s)
    finally:
        reader.close()


def _ends(reader: Consumer, topic: str, timeout_s: float) -> dict[int, int]:
    """High watermark of every partition of the state topic that holds anything."""
    try:
        meta = reader.list_topics(topic, timeout=timeout_s)
        partitions = sorted(meta.topics[topic].partitions)
        ends = {}
        for p in partitions:
            low, high = reader.get_watermark_offsets(
                TopicPartition(topic, p), timeout=timeout_s, cached=False)
            if high is not None and low is not None and high > low:
                ends[p] = int(high)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot read the tracker state topic {topic}: {exc}") from None
    return ends


def _read_to_end(
    reader: Consumer, topic: str, ends: dict[int, int], streams: set[str], deadline: float
) -> dict[str, TrackerState]:
    found: dict[str, TrackerState] = {}
    done: set[int] = set()
    while len(done) < len(ends):
        if time.monotonic() > deadline:
            raise KafkaUnavailableError(
                f"the tracker state in {topic} could not be read to its end in time "
                f"(partitions {sorted(set(ends) - done)} are behind: an open transaction?)")
        msg = reader.poll(0.2)
        if msg is None:
            continue
        partition, offset = msg.partition() or 0, msg.offset() or 0
        error = msg.error()
        if error is not None:
            # The end as far as read_committed goes: done once it is past the old end (an
            # open transaction holds it back until it is committed or aborted).
            if error.code() == KafkaError._PARTITION_EOF and offset >= ends[partition]:
                done.add(partition)
            continue
        _take(found, msg, streams)
        if offset + 1 >= ends[partition]:
            done.add(partition)
    return found


def _take(found: dict[str, TrackerState], msg: Message, streams: set[str]) -> None:
    key = msg.key()
    stream = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key or "")
    if stream not in streams:
        return
    value = msg.value()
    if value is None:
        found.pop(stream, None)  # the stream was deleted: start afresh
        return
    try:
        data = value if isinstance(value, bytes) else str(value).encode()
        found[stream] = decode(TrackerState, data, topic=msg.topic(), partition=msg.partition(),
                               offset=msg.offset())
    except DecodeError as exc:
        log.warning("ignoring an unreadable tracker state: %s", exc)
