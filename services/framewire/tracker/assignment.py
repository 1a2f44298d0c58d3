"""Taking streams over: where each newly assigned stream resumes and with which tracker.

Called from the stage's assignment callback. The group's committed offset and the stream's
newest ``TrackerState`` were written in one transaction, so they agree: the stream resumes
at the state's ``next_source_offset`` with its tracks and ids. When they disagree, someone
moved the group's offsets (a rewind for a replay): the stream resumes at the committed
offset with no live tracks, and ids still continue from the state's next id, so an id is
never given twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from framewire.core.admin import ensure_topics, stream_topics
from framewire.core.errors import KafkaUnavailableError
from framewire.tracker.geometry import NO_GEOMETRY, Geometry, StreamGeometry
from framewire.tracker.restore import read_states
from framewire.tracker.settings import StartFrom, TrackerSettings
from framewire.tracker.tracking import StreamTracker, TrackerConfig
from framewire.tracker.watching import followed, restored, saved
from framewire.tracker.zoneevents import ZoneWatcher
from framewire.v1.tracks_pb2 import TrackerState

log = logging.getLogger(__name__)

TP = tuple[str, int]


@dataclass
class Owned:
    """A stream this stage owns: its tracker and zone watcher, the next offset to read, and
    what was last committed for it (to roll back to when a transaction is aborted)."""

    stream: str
    tracker: StreamTracker
    # Next offset to take in; negative (OFFSET_END / OFFSET_BEGINNING) until the first one.
    position: int
    committed_state: bytes = b""
    committed_position: int = field(default=-1)
    watcher: ZoneWatcher | None = None
    geometry: Geometry = NO_GEOMETRY

    def state(self) -> TrackerState:
        """What a commit saves: the tracks, the next offset and the zone watcher's state."""
        state = self.tracker.to_state(self.position)
        state.zone_watcher_json = saved(self.watcher)
        return state

    def follow(self, geometry: Geometry) -> ZoneWatcher | None:
        """Called for each result: the watcher, rebuilt first if the zones or lines changed."""
        if geometry != self.geometry:
            self.watcher = followed(self.watcher, geometry, self.stream)
            self.geometry = geometry
        return self.watcher

    def note_first(self, offset: int) -> None:
        """The first result read of a stream never committed: a rollback returns here."""
        if self.committed_position < 0:
            self.committed_position = offset

    def mark_committed(self, state: bytes | None = None) -> None:
        """Called after a commit with the state it wrote (None: serialise it now)."""
        self.committed_position = self.position
        self.committed_state = self.state().SerializeToString() if state is None else state

    def roll_back(self, config: TrackerConfig) -> None:
        self.position = self.committed_position
        if self.committed_state:
            state = TrackerState.FromString(self.committed_state)
            self.tracker = StreamTracker.from_state(state, config)
            self.watcher = restored(state, self.geometry, self.stream)
        else:
            self.tracker = StreamTracker(self.stream, config)
            self.watcher = restored(None, self.geometry, self.stream)


def take_over(
    settings: TrackerSettings, consumer: Consumer, admin: AdminClient,
    partitions: list[TopicPartition], config: TrackerConfig, geometry: StreamGeometry,
) -> dict[TP, Owned]:
    """An ``Owned`` for each of ``partitions``, restored from Kafka."""
    topics = settings.kafka.topics
    streams = {(p.topic, p.partition): topics.stream_of(p.topic) or "" for p in partitions}
    if not partitions:
        return {}
    ensure_topics(admin, [spec for s in sorted(set(streams.values()))
                          for spec in stream_topics(topics, s, settings.kafka.topic_policy)])
    try:
        # Waits while a transaction holding these offsets is open (a predecessor's).
        committed = consumer.committed(partitions, timeout=settings.restore_timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot read the tracker group's offsets: {exc}") from None
    states = read_states(settings.kafka, set(streams.values()), settings.restore_timeout_s)
    placed = {}
    for p in committed:
        tp = (p.topic, p.partition)
        offset = p.offset if p.offset is not None and p.offset >= 0 else None
        stream = streams[tp]
        owned = placed[tp] = _resume(stream, states.get(stream), offset, settings, config)
        state = states.get(stream)
        _watch(owned, state if _agrees(state, offset) else None, geometry.of(stream))
    return placed


def _agrees(state: TrackerState | None, committed: int | None) -> bool:
    """Whether the group's offset is the one the state was committed with (no rewind)."""
    return state is not None and committed in (None, state.next_source_offset)


def _watch(owned: Owned, state: TrackerState | None, geometry: Geometry) -> None:
    """Give a stream taken over its zone watcher: the saved one when its tracks were resumed
    from ``state``, else (None) a fresh one, like the tracks after a rewind."""
    owned.geometry = geometry
    owned.watcher = restored(state, geometry, owned.stream)
    if owned.committed_state:
        owned.mark_committed()


def _resume(
    stream: str, state: TrackerState | None, committed: int | None,
    settings: TrackerSettings, config: TrackerConfig,
) -> Owned:
    if state is not None and _agrees(state, committed):
        tracker = StreamTracker.from_state(state, config)
        owned = Owned(stream, tracker, state.next_source_offset)
        owned.mark_committed()
        return owned
    if state is not None:
        log.info("stream %s: offsets moved to %s (state is at %s); resuming without live tracks",
                 stream, committed, state.next_source_offset)
        state = TrackerState(schema_version=state.schema_version, stream_id=stream,
                             next_track_id=state.next_track_id, next_source_offset=committed or 0)
        owned = Owned(stream, StreamTracker.from_state(state, config), committed or 0)
        owned.mark_committed()
        return owned
    if committed is not None:
        owned = Owned(stream, StreamTracker(stream, config), committed)
        owned.committed_position = committed
        return owned
    start = OFFSET_BEGINNING if settings.start_from is StartFrom.EARLIEST else OFFSET_END
    return Owned(stream, StreamTracker(stream, config), start)
