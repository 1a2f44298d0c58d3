"""The tracking stage's loop: results in, tracks and tracker state out, exactly once.

Each turn takes up to ``batch_results`` results and, in one transaction, publishes a
``TrackedResult`` per result, the ``ZoneEvent``s of streams with zones or lines, the new
``TrackerState`` of every stream that moved (its zone watcher's state included), and the
consumer offsets. A crash at any point leaves either all of it or none: the next owner of a
stream reads its state back (``restore``) and continues with the same track ids.

A result that cannot be decoded is dead-lettered in the same transaction. A transaction
that fails is aborted and the in-memory trackers are put back to their last committed
state, then the results are read again; a fenced or fatal producer stops the stage (exit
status 2) so that its replacement, which fenced it, carries on alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from framewire.core.codec import SCHEMA_VERSION, decode
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import raise_if_incurable
from framewire.core.records import Box, Detection
from framewire.tracker.assignment import Owned, take_over
from framewire.tracker.geometry import StreamGeometry
from framewire.tracker.settings import TrackerSettings
from framewire.tracker.state import to_track_proto
from framewire.tracker.tracking import TrackerConfig
from framewire.tracker.zoneevents import ZoneWatcher, bottom_centre
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DeadLetter
from framewire.v1.tracks_pb2 import TrackedResult, ZoneEvent

log = logging.getLogger(__name__)

TP = tuple[str, int]
_CALL_TIMEOUT_S = 10.0
_FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
_EVENT_KINDS = {"enter": ZoneEvent.ENTER, "leave": ZoneEvent.LEAVE, "cross": ZoneEvent.CROSS,
                "dwell": ZoneEvent.DWELL}


class TrackerStage:
    """Runs until ``stop`` is set; built by ``service.run_stage``."""

    def __init__(
        self, settings: TrackerSettings, consumer: Consumer, producer: Producer, admin: AdminClient,
        geometry: StreamGeometry,
    ) -> None:
        self._s = settings
        self._admin = admin
        self._consumer = consumer
        self._producer = producer
        self._topics = settings.kafka.topics
        self._config = TrackerConfig(high_score=settings.high_score, low_score=settings.low_score,
                                     match_iou=settings.match_iou, max_misses=settings.max_misses)
        self._geometry = geometry
        self._owned: dict[TP, Owned] = {}
        self._closing = False
        # Committed work only: a turn's counts are added once its transaction is committed.
        self.results_in = 0
        self.tracks_out = 0
        self.events_out = 0
        self._turn_tracks = self._turn_events = 0

    @property
    def owned_streams(self) -> int:
        return len(self._owned)

    def run(self, stop: threading.Event, on_turn: Callable[[], None] = lambda: None) -> None:
        """Subscribe and process until ``stop``; KafkaUnavailableError when it cannot go on."""
        self._consumer.subscribe([self._topics.results_pattern], on_assign=self._on_assign,
                                 on_revoke=self._on_revoke, on_lost=self._on_revoke)
        log.info("tracker %s subscribed to %s", self._s.tracker_id, self._topics.results_pattern)
        try:
            while not stop.is_set():
                on_turn()
                batch = self._consumer.consume(self._s.batch_results, self._s.poll_timeout_s)
                wanted = [m for m in batch if self._wanted(m)]
                if wanted:
                    self._publish(wanted)
        finally:
            # The consumer's close may still deliver an assignment: it must not be taken
            # over (a closing consumer's offset fetch waits out its whole timeout).
            self._closing = True

    # -- input ---------------------------------------------------------------------------

    def _wanted(self, m: Message) -> bool:
        error = m.error()
        if error is not None:
            raise_if_incurable(error, "tracker consumer")
            if error.code() not in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                log.warning("consumer error: %s", error)
            return False
        owned = self._owned.get((str(m.topic()), m.partition() or 0))
        # Anything before the position is a delivery from before a rewind.
        return owned is not None and (m.offset() or 0) >= owned.position

    # -- one transaction -----------------------------------------------------------------

    def _publish(self, batch: list[Message]) -> None:
        moved: set[TP] = set()
        states: dict[TP, bytes] = {}
        self._turn_tracks = self._turn_events = 0
        try:
            self._producer.begin_transaction()
            for m in batch:
                moved.add(self._take(m))
            offsets = []
            for tp in sorted(moved):
                owned = self._owned[tp]
                states[tp] = owned.state().SerializeToString()
                self._producer.produce(self._topics.tracker_state, states[tp], owned.stream)
                offsets.append(TopicPartition(tp[0], tp[1], owned.position))
            self._producer.send_offsets_to_transaction(
                offsets, self._consumer.consumer_group_metadata(), _CALL_TIMEOUT_S)
            self._producer.commit_transaction(_CALL_TIMEOUT_S)
        except KafkaException as exc:
            self._failed(exc, moved)
            return
        for tp in moved:
            self._owned[tp].mark_committed(states[tp])
        self.results_in += len(batch)
        self.tracks_out += self._turn_tracks
        self.events_out += self._turn_events

    def _take(self, m: Message) -> TP:
        """Track one result (or dead-letter it) and produce its output; returns its partition."""
        tp = (str(m.topic()), m.partition() or 0)
        owned = self._owned[tp]
        offset = m.offset() or 0
        owned.note_first(offset)
        value = m.value()
        try:
            result = decode(DetectionResult, value if isinstance(value, bytes) else None,
                            topic=tp[0], partition=tp[1], offset=offset)
        except DecodeError as exc:
            self._dead_letter(m, exc)
        else:
            self._produce_tracks(owned, result, tp, offset)
        owned.position = offset + 1
        return tp

    def _produce_tracks(self, owned: Owned, result: DetectionResult, tp: TP, offset: int) -> None:
        detections = [Detection(d.class_id, d.label, d.score,
                                Box(d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax))
                      for d in result.detections]
        watcher = owned.follow(self._geometry.of(owned.stream))
        # Labels of the tracks before this frame too: a track that ends here still leaves
        # its zones under its own label.
        labels = {t.track_id: t.label for t in owned.tracker.tracks} if watcher else {}
        tracked = owned.tracker.update(detections, result.capture_time_ns)
        out = TrackedResult(
            schema_version=SCHEMA_VERSION, stream_id=owned.stream,
            frame_sequence=result.frame_sequence, capture_time_ns=result.capture_time_ns,
            source_topic=tp[0], source_partition=tp[1], source_offset=offset,
            frame_topic=result.source_topic, frame_partition=result.source_partition,
            frame_offset=result.source_offset,
            tracks=[to_track_proto(t) for t in tracked], tracker_id=self._s.tracker_id,
            result_time_ns=time.time_ns(),
        )
        self._producer.produce(self._topics.tracks(owned.stream), out.SerializeToString(),
                               owned.stream)
        self._turn_tracks += len(tracked)
        if watcher is not None:
            self._produce_events(owned, watcher, labels, out)

    def _produce_events(
        self, owned: Owned, watcher: ZoneWatcher, labels: dict[int, str], out: TrackedResult
    ) -> None:
        """Watch every live track (unmatched ones too, so a flicker is not a leave)."""
        live = owned.tracker.tracks
        labels.update((t.track_id, t.label) for t in live)
        points = {t.track_id: bottom_centre(t.box) for t in live}
        for e in watcher.observe(out.capture_time_ns // 1_000_000, points):
            event = ZoneEvent(
                schema_version=SCHEMA_VERSION, stream_id=owned.stream, kind=_EVENT_KINDS[e.kind],
                track_id=e.track_id, zone_or_line=e.zone_or_line, direction=e.direction or "",
                label=labels.get(e.track_id, ""), frame_sequence=out.frame_sequence,
                capture_time_ns=out.capture_time_ns, source_topic=out.source_topic,
                source_partition=out.source_partition, source_offset=out.source_offset,
                tracker_id=self._s.tracker_id, event_time_ns=out.result_time_ns,
            )
            self._producer.produce(self._topics.events, event.SerializeToString(), owned.stream)
            self._turn_events += 1

    def _dead_letter(self, m: Message, exc: DecodeError) -> None:
        value = m.value()
        letter = DeadLetter(
            schema_version=SCHEMA_VERSION, original_topic=str(m.topic()),
            original_partition=m.partition() or 0, original_offset=m.offset() or 0,
            original_key=m.key() if isinstance(m.key(), bytes) else b"",
            error_kind="decode_error", error_message=str(exc), service="tracker",
            time_ns=time.time_ns(),
            original_value=value[:1024 * 1024] if isinstance(value, bytes) else b"",
        )
        log.warning("dead-lettering an unreadable result: %s", exc)
        self._producer.produce(self._topics.dlq, letter.SerializeToString(), m.key())

    def _failed(self, exc: KafkaException, moved: set[TP]) -> None:
        """Abort the transaction and put the trackers back; stop if we were fenced."""
        error: KafkaError = exc.args[0]
        if error.code() in _FENCED or error.fatal():
            raise KafkaUnavailableError(f"the tracker's producer cannot go on ({error.name()}): "
                                        f"{error.str()}") from None
        log.warning("aborting a transaction of %d streams: %s", len(moved), error.str())
        self._abort()
        for tp in self._owned:
            self._rewind(tp)

    def _abort(self) -> None:
        """Abort, retrying while the broker is away (an outage), up to the restore timeout."""
        deadline = time.monotonic() + self._s.restore_timeout_s
        while True:
            try:
                self._producer.abort_transaction(_CALL_TIMEOUT_S)
                return
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if not error.retriable() or time.monotonic() > deadline:
                    raise KafkaUnavailableError(f"cannot abort the tracker's transaction: {exc}") from None
                log.warning("abort not done yet, retrying: %s", error.str())
                time.sleep(1.0)

    def _rewind(self, tp: TP) -> None:
        owned = self._owned[tp]
        owned.roll_back(self._config)
        if owned.position >= 0:
            self._consumer.seek(TopicPartition(tp[0], tp[1], owned.position))

    # -- rebalance callbacks (run inside consume on this thread) ---------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Logged before and after: the offsets fetch and the state read may wait (an open
        # transaction of a predecessor), and a stop asked meanwhile is honoured only after.
        if self._closing:
            log.info("stopping: not taking over %s",
                     ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing")
            return
        if partitions:
            log.info("taking over %s", ", ".join(f"{p.topic}[{p.partition}]" for p in partitions))
        placed = take_over(self._s, consumer, self._admin, partitions, self._config,
                           self._geometry)
        for tp, owned in placed.items():
            self._owned[tp] = owned
        consumer.incremental_assign(
            [TopicPartition(tp[0], tp[1], o.position) for tp, o in placed.items()])
        log.info("assigned %s", ", ".join(f"{t}[{p}]@{o.position}" for (t, p), o in placed.items())
                 or "nothing")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for p in partitions:
            self._owned.pop((p.topic, p.partition), None)
        log.info("revoked %s", ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing")

