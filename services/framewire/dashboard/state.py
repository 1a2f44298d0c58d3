"""What the dashboard knows about the pipeline, updated on the event loop from Kafka batches.

``apply`` is the only writer (plus the API's own writes, for read-your-writes); HTTP
handlers and SSE generators read it on the same thread, so no locks are needed and a
subscriber can note "published up to offset N" atomically with subscribing.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from framewire.core.dedup import FrameDeduplicator
from framewire.core.errors import coordinates
from framewire.core.zonewire import geometry_json
from framewire.dashboard import metrics
from framewire.dashboard.framestore import FrameStore, StoredFrame
from framewire.dashboard.hub import ALL_STREAMS, Event, Hub
from framewire.dashboard.tracking import TrackBoard
from framewire.dashboard.views import StreamView
from framewire.dashboard.windowstats import StatsOutcome, WindowBoard, WindowStats, stats_json
from framewire.dashboard.wire import (
    Baseline,
    Record,
    TopicKind,
    drop_reason,
    result_json,
    spec_json,
    status_json,
)
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus

log = logging.getLogger(__name__)

MAX_ALERTS = 100
MAX_STATS_KEYS = 1000


class PipelineState:
    """Streams, their status and rolling figures, recent frames, and Kafka positions."""

    def __init__(
        self, hub: Hub, frames: FrameStore, history_s: int, clock: Callable[[], float] = time.time
    ):
        self.hub = hub
        self.frames = frames
        self._history_s = history_s
        self._clock = clock
        self.specs: dict[str, StreamSpec] = {}
        self.statuses: dict[str, StreamStatus] = {}
        self.views: dict[str, StreamView] = {}
        self.deleted: set[str] = set()
        # A frame in its topic twice (see core.dedup) is stored and counted once.
        self.recent_frames = FrameDeduplicator()
        self.alerts: deque[dict[str, Any]] = deque(maxlen=MAX_ALERTS)
        # Newest aggregator window per (stream, kind).
        self.windows = WindowBoard(MAX_STATS_KEYS)
        # Stats-topic records that are not stats windows, newest per key (for page extensions).
        self.aggregates: dict[str, Any] = {}
        # The tracker's trails, zone and line events and their counters, per stream.
        self.tracking = TrackBoard()
        # (topic, partition) -> last offset whose event the hub has published.
        self.positions: dict[tuple[str, int], int] = {}
        self._handlers = {
            TopicKind.FRAMES: self._on_frame,
            TopicKind.RESULTS: self._on_result,
            TopicKind.STREAMS: self._on_spec,
            TopicKind.STATUS: self._on_status,
            TopicKind.DROPS: self._on_drop,
            TopicKind.STATS: self._on_stats,
            TopicKind.ALERTS: self._on_alert,
            TopicKind.TRACKS: self._on_tracks,
            TopicKind.EVENTS: self._on_zone_event,
        }

    def apply(self, batch: Iterable[Record | Baseline]) -> None:
        """Called on the loop for each batch the consumer read, in Kafka order."""
        for item in batch:
            if isinstance(item, Baseline):
                self.positions[(item.topic, item.partition)] = item.last_offset
            else:
                self._handlers[item.kind](item)
                self.positions[(item.topic, item.partition)] = item.offset

    def position(self, topic: str, partition: int) -> int | None:
        return self.positions.get((topic, partition))

    def _view(self, stream_id: str) -> StreamView:
        view = self.views.get(stream_id)
        if view is None:
            view = self.views[stream_id] = StreamView(stream_id, self._history_s)
        return view

    def _on_frame(self, rec: Record) -> None:
        frame, stream = rec.message, rec.stream_id
        if stream is None or stream in self.deleted:
            return
        if self.recent_frames.is_copy((rec.topic, rec.partition), frame.sequence,
                                      frame.capture_time_ns):
            metrics.DUPLICATE_FRAMES.inc()
            return
        self.frames.put(
            StoredFrame(
                stream, rec.partition, rec.offset, frame.sequence, frame.width, frame.height,
                frame.capture_time_ns, frame.data,
            )
        )
        self._view(stream).note_frame(self._clock(), rec.partition, rec.offset)

    def _on_result(self, rec: Record) -> None:
        stream = rec.stream_id
        if stream is None or stream in self.deleted:
            return
        payload = result_json(rec.message, rec.topic, rec.partition, rec.offset)
        # When the result reached Kafka: lets a client measure what the dashboard adds.
        payload["kafka_time_ms"] = round(rec.kafka_time_s * 1000, 3) if rec.kafka_time_s else None
        view = self._view(stream)
        view.note_result(
            self._clock(), payload["latency_ms"], [d["label"] for d in payload["detections"]]
        )
        view.last_result = payload
        if self.hub.client_count(stream):
            event_id = f"{rec.partition}:{rec.offset}"
            self.hub.publish(stream, Event.make("result", payload, event_id=event_id, offset=rec.offset,
                                         kafka_time_s=rec.kafka_time_s))
        if self.hub.client_count(ALL_STREAMS):
            event_id = f"{rec.topic}:{rec.partition}:{rec.offset}"
            self.hub.publish(ALL_STREAMS, Event.make("result", payload, event_id=event_id, offset=rec.offset,
                                         kafka_time_s=rec.kafka_time_s))

    def _on_tracks(self, rec: Record) -> None:
        stream = rec.stream_id
        if stream is None or stream in self.deleted:
            return
        payload = self.tracking.on_tracks(stream, rec.message, rec.partition, rec.offset)
        if payload is None or not (self.hub.client_count(stream) or self.hub.client_count(ALL_STREAMS)):
            return
        # No SSE id: the page's Last-Event-ID names a position of the results topic only.
        event = Event.make("tracks", payload)
        self.hub.publish(stream, event)
        self.hub.publish(ALL_STREAMS, event)

    def _on_zone_event(self, rec: Record) -> None:
        stream = rec.key or rec.message.stream_id
        if not stream or stream in self.deleted:
            metrics.ZONE_EVENTS.labels("deleted_stream").inc()
            return
        payload = self.tracking.on_event(stream, rec.message, rec.partition, rec.offset)
        metrics.ZONE_EVENTS.labels("kept" if payload is not None else "over_limit").inc()
        if payload is not None:
            self.hub.publish(stream, Event.make("zone_event", payload))

    def _on_spec(self, rec: Record) -> None:
        stream = rec.key or (rec.message.stream_id if rec.message is not None else None)
        if stream:
            self.remember_spec(stream, rec.message)

    def remember_spec(self, stream_id: str, spec: StreamSpec | None) -> None:
        """Record a stream's spec (None: deleted) and tell the page; also used by the API."""
        if spec is None:
            known = stream_id in self.specs or stream_id in self.views
            self.specs.pop(stream_id, None)
            self.views.pop(stream_id, None)
            self.statuses.pop(stream_id, None)
            self.frames.forget(stream_id)
            self.windows.forget(stream_id)
            self.tracking.forget(stream_id)
            self.deleted.add(stream_id)
            if known:
                self._broadcast("stream_deleted", {"stream_id": stream_id}, stream_id)
            return
        self.deleted.discard(stream_id)
        changed = self.specs.get(stream_id) != spec
        self.specs[stream_id] = spec
        if changed:
            self._broadcast("stream", self.stream_json(stream_id), stream_id)

    def _on_status(self, rec: Record) -> None:
        stream = rec.key or (rec.message.stream_id if rec.message is not None else None)
        if not stream:
            return
        if rec.message is None:
            self.statuses.pop(stream, None)
            return
        self.statuses[stream] = rec.message
        self._broadcast("status", {"stream_id": stream, **status_json(rec.message)}, stream)

    def _on_drop(self, rec: Record) -> None:
        drop = rec.message
        stream = drop.stream_id or rec.key
        if stream and stream not in self.deleted:
            self._view(stream).note_drop(drop_reason(drop), int(drop.count))

    def _on_stats(self, rec: Record) -> None:
        try:
            stats = self.windows.parse(rec.key, rec.message)
        except ValueError as exc:
            metrics.WINDOW_STATS.labels(StatsOutcome.INVALID.value).inc()
            log.warning("%s (%s)", exc, coordinates(rec.topic, rec.partition, rec.offset))
            stats = None
        else:
            if stats is None:
                metrics.WINDOW_STATS.labels(StatsOutcome.NOT_STATS.value).inc()
        if stats is None:
            self._on_other_aggregate(rec)
            return
        outcome = (StatsOutcome.DELETED_STREAM if stats.stream_id in self.deleted
                   else self.windows.offer(stats))
        metrics.WINDOW_STATS.labels(outcome.value).inc()
        if outcome is StatsOutcome.STORED:
            self._broadcast("window_stats", window_event(stats), stats.stream_id)

    def _on_other_aggregate(self, rec: Record) -> None:
        """Records the page cannot chart are still passed to its extension panels."""
        key = rec.key or "_"
        if key in self.aggregates or len(self.aggregates) < MAX_STATS_KEYS:
            self.aggregates[key] = rec.message
        self._broadcast("aggregate", {"key": key, "value": rec.message}, None)

    def _on_alert(self, rec: Record) -> None:
        # The id lets the page drop an alert it already shows when a snapshot repeats it.
        alert = {"id": f"{rec.partition}:{rec.offset}", "key": rec.key, "value": rec.message,
                 "time_s": rec.kafka_time_s}
        self.alerts.append(alert)
        self._broadcast("alert", alert, None)

    def _broadcast(self, kind: str, payload: dict[str, Any], stream_id: str | None) -> None:
        event = Event.make(kind, payload)
        self.hub.publish(ALL_STREAMS, event)
        if stream_id is not None:
            self.hub.publish(stream_id, event)

    def visible_streams(self) -> list[str]:
        """Streams with a spec, plus streams seen on Kafka that were not deleted."""
        return sorted(set(self.specs) | {s for s in self.views if s not in self.deleted})

    def stream_json(self, stream_id: str, *, history: bool = False) -> dict[str, Any]:
        """Spec (redacted), gateway status and live figures of one stream."""
        spec = self.specs.get(stream_id)
        status = self.statuses.get(stream_id)
        view = self.views.get(stream_id) or StreamView(stream_id, self._history_s)
        out: dict[str, Any] = {
            "stream_id": stream_id,
            "spec": spec_json(spec) if spec is not None else None,
            "status": status_json(status) if status is not None else {"state": "unknown"},
            "live": view.summary(self._clock()),
            "windows": self.windows.for_stream(stream_id),
            "geometry": geometry_json(spec) if spec is not None else {"zones": [], "lines": []},
        }
        if history:
            out["history"] = view.history(self._clock())
            out["last_result"] = view.last_result
            out["tracking"] = self.tracking.for_stream(stream_id)
        return out

    def snapshot(self) -> dict[str, Any]:
        """Everything the grid needs after (re)connecting to the summary event stream."""
        return {
            "streams": [self.stream_json(s) for s in self.visible_streams()],
            "latest": {s: v.last_result for s, v in self.views.items() if v.last_result},
            "tracks": self.tracking.latest_tracks(),
            "alerts": list(self.alerts),
            "aggregates": self.aggregates,
        }

    def tick(self) -> None:
        """Publish the periodic summaries; called every ``summary_interval_s`` by the app."""
        now = self._clock()
        if self.hub.client_count(ALL_STREAMS):
            summaries = {s: self.stream_json(s)["live"] for s in self.visible_streams()}
            self.hub.publish(ALL_STREAMS, Event.make("summary", {"streams": summaries}))
        for stream, view in self.views.items():
            if self.hub.client_count(stream):
                payload = {"live": view.summary(now), "point": view.last_point(now)}
                self.hub.publish(stream, Event.make("stats", payload))


def window_event(stats: WindowStats) -> dict[str, Any]:
    """Payload of the ``window_stats`` event: one stream's newly kept window."""
    return {"stream_id": stats.stream_id, "kind": stats.window.kind.value, "stats": stats_json(stats)}
