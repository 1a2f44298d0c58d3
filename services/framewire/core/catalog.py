"""The topic catalogue: one entry per kind of framewire topic.

Each entry says how the topic is named, what its key and value are, how long Kafka keeps it
and which readers must read it ``read_committed``. Everything that creates, classifies or
decodes a framewire topic asks here: ``ensure_topics``' specs (``core.admin``), the
aggregator's topology, the dashboard's consumer, ``tail``/``compare``/``replay`` and the
codec's ``decode_value``. Pure data: no Kafka client is imported.

Not catalogued: topics private to one service, which no other part reads: the gateways'
``<prefix>gateway.slots`` (partitions only, for the group that spreads streams over gateway
replicas; ``gateway/slots.py``) and the aggregator's faust topics (observations, table
changelogs; ``aggregator/topology.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from google.protobuf.message import Message

from framewire.core.statsformat import ALERT_SCHEMA, STATS_SCHEMA
from framewire.core.topics import PER_STREAM_KINDS, TopicKind, Topics
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DeadLetter, DropRecord
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus
from framewire.v1.tracks_pb2 import TrackedResult, TrackerState, ZoneEvent

__all__ = ["CATALOG", "COMPACTED_CONFIG", "WEEK_MS", "Cleanup", "TopicEntry", "TopicKind",
           "TopicPolicy", "TopicSpec", "classify", "entry_of", "spec_of"]

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# Room for the record envelope around a value of max_message_bytes.
_ENVELOPE_BYTES = 64 * 1024
# State topics: the newest value per key, compacted at once (also faust's changelogs).
COMPACTED_CONFIG: Mapping[str, str] = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}


@dataclass(frozen=True)
class TopicSpec:
    """One topic: name, partition count, replication factor and topic-level configs."""

    name: str
    partitions: int = 1
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicPolicy:
    """Retention and size limits applied to the topics framewire creates."""

    frames_retention_ms: int = HOUR_MS
    results_retention_ms: int = 7 * DAY_MS
    max_message_bytes: int = 8 * 1024 * 1024
    replication: int = 1


class Cleanup(StrEnum):
    """Kafka's ``cleanup.policy``: history expires, or the newest value per key is kept."""

    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True)
class TopicEntry:
    """What one kind of topic holds and how Kafka keeps it."""

    kind: TopicKind
    key: str
    # The protobuf class of every value; None for JSON values (then ``json_schema``).
    payload: type[Message] | None
    json_schema: str | None
    cleanup: Cleanup
    retention: str
    writers: str
    # Which readers must read read_committed, and why; empty when no writer is transactional.
    read_committed: str
    configure: Callable[[TopicPolicy], dict[str, str]]
    # A tombstone (null value) deletes the key's state (compacted topics).
    tombstones: bool = False

    @property
    def per_stream(self) -> bool:
        return self.kind in PER_STREAM_KINDS

    @property
    def pattern(self) -> str:
        """The name pattern, e.g. ``<prefix>frames.<stream>``."""
        return f"<prefix>{self.kind}" + (".<stream>" if self.per_stream else "")

    def name(self, topics: Topics, stream_id: str | None = None) -> str:
        return topics.name(self.kind, stream_id)


def _frames(policy: TopicPolicy) -> dict[str, str]:
    # JPEG does not compress: store as sent. Short segments so retention acts promptly.
    return {
        "retention.ms": str(policy.frames_retention_ms),
        "segment.ms": str(min(policy.frames_retention_ms, 10 * 60 * 1000)),
        "max.message.bytes": str(policy.max_message_bytes + _ENVELOPE_BYTES),
        "compression.type": "uncompressed",
        "message.timestamp.type": "CreateTime",
    }


def _results(policy: TopicPolicy) -> dict[str, str]:
    return {"retention.ms": str(policy.results_retention_ms), "compression.type": "producer"}


def _compacted(policy: TopicPolicy) -> dict[str, str]:
    return dict(COMPACTED_CONFIG)


# The tracker writes a stream's state with every transaction and a new owner reads the
# whole topic back: small segments roll often, so all but the last few MiB are compacted
# to about one record per stream.
TRACKER_STATE_CONFIG: Mapping[str, str] = {
    **COMPACTED_CONFIG, "segment.ms": "60000", "segment.bytes": str(8 * 1024 * 1024),
    "min.cleanable.dirty.ratio": "0.1",
}


def _tracker_state(policy: TopicPolicy) -> dict[str, str]:
    return dict(TRACKER_STATE_CONFIG)


def _week(policy: TopicPolicy) -> dict[str, str]:
    return {"retention.ms": str(WEEK_MS)}


def _dead_letters(policy: TopicPolicy) -> dict[str, str]:
    # A dead letter carries the frame it could not process.
    return {**_week(policy), "max.message.bytes": str(policy.max_message_bytes + _ENVELOPE_BYTES)}


_TXN = "every reader: inference writes it in transactions, and an aborted one must stay unseen"
_TXN_TRACKER = "every reader: the tracker writes it in transactions (with its state and offsets)"
CATALOG: Mapping[TopicKind, TopicEntry] = {
    e.kind: e for e in (
        TopicEntry(TopicKind.FRAMES, "stream id", Frame, None, Cleanup.DELETE,
                   "FW_KAFKA_FRAMES_RETENTION_MS (1 h)", "gateway", "", _frames),
        TopicEntry(TopicKind.RESULTS, "stream id", DetectionResult, None, Cleanup.DELETE,
                   "FW_KAFKA_RESULTS_RETENTION_MS (7 days)", "inference (transactions), replay",
                   _TXN, _results),
        TopicEntry(TopicKind.STREAMS, "stream id", StreamSpec, None, Cleanup.COMPACT,
                   "newest spec per stream", "dashboard API", "", _compacted, tombstones=True),
        TopicEntry(TopicKind.STATUS, "stream id", StreamStatus, None, Cleanup.COMPACT,
                   "newest status per stream", "gateway", "", _compacted, tombstones=True),
        TopicEntry(TopicKind.STATS, "stream id", None, STATS_SCHEMA, Cleanup.DELETE,
                   "7 days", "aggregator", "", _week),
        TopicEntry(TopicKind.ALERTS, "stream id", None, ALERT_SCHEMA, Cleanup.DELETE,
                   "7 days", "aggregator", "", _week),
        TopicEntry(TopicKind.DROPS, "stream id", DropRecord, None, Cleanup.DELETE, "7 days",
                   "gateway, inference (transactions)", _TXN, _week),
        TopicEntry(TopicKind.DLQ, "the frame's key (stream id)", DeadLetter, None,
                   Cleanup.DELETE, "7 days", "inference (transactions)", _TXN, _dead_letters),
        TopicEntry(TopicKind.TRACKS, "stream id", TrackedResult, None, Cleanup.DELETE,
                   "FW_KAFKA_RESULTS_RETENTION_MS (7 days)", "tracker (transactions)",
                   _TXN_TRACKER, _results),
        TopicEntry(TopicKind.TRACKER_STATE, "stream id", TrackerState, None, Cleanup.COMPACT,
                   "newest state per stream", "tracker (transactions)", _TXN_TRACKER,
                   _tracker_state, tombstones=True),
        TopicEntry(TopicKind.EVENTS, "stream id", ZoneEvent, None, Cleanup.DELETE,
                   "FW_KAFKA_RESULTS_RETENTION_MS (7 days)", "tracker (transactions)",
                   _TXN_TRACKER, _results),
    )
}


def entry_of(kind: TopicKind) -> TopicEntry:
    return CATALOG[kind]


def spec_of(topics: Topics, kind: TopicKind, policy: TopicPolicy,
            stream_id: str | None = None) -> TopicSpec:
    """The topic to create for ``kind`` (and ``stream_id`` for per-stream kinds)."""
    entry = CATALOG[kind]
    return TopicSpec(entry.name(topics, stream_id), replication=policy.replication,
                     config=entry.configure(policy))


def classify(
    topics: Topics, topic: str, *, replay_outputs: bool = False
) -> tuple[TopicEntry, str | None] | None:
    """The entry of ``topic`` and its stream id (per-stream kinds), or None if not ours.

    Called for every topic name a reader finds. A replay's output topic
    (``<prefix>results.<stream>.<label>``) is a results topic only with ``replay_outputs``:
    live readers (dashboard, aggregator) must not take replayed results for live ones.
    """
    if not topic.startswith(topics.prefix):
        return None
    head, _, rest = topic[len(topics.prefix):].partition(".")
    try:
        kind = TopicKind(head)
    except ValueError:
        return None
    entry = CATALOG[kind]
    if not entry.per_stream:
        return (entry, None) if not rest else None
    stream = topics.stream_of(topic)
    if stream is not None:
        return entry, stream
    if replay_outputs and kind is TopicKind.RESULTS:
        stream, dot, label = rest.partition(".")
        if dot and label and topics.stream_of(f"{topics.prefix}{kind}.{stream}"):
            return entry, stream
    return None
