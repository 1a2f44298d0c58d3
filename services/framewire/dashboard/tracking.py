"""What the dashboard keeps of the tracker's output: trails, recent events and counters.

Fed on the loop thread by ``PipelineState`` as ``tracks.<stream>`` and ``events`` records
arrive. Every part is bounded whatever the traffic: ``TRAIL_POINTS`` points per track, the
tracks seen in the last ``TRAIL_IDLE_RESULTS`` results of a stream (at most
``MAX_TRACKS``), ``EVENTS_KEPT`` events and ``MAX_COUNTED`` zone or line ids per stream, and
``max_streams`` streams. Counters count the events this process has read: since it started,
plus the backlog of the events topic it reads at start-up.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from framewire.dashboard.trackwire import (
    COUNTER_KEYS,
    bottom_centre,
    counter_key,
    tracks_json,
    zone_event_json,
)
from framewire.v1.tracks_pb2 import TrackedResult, ZoneEvent

TRAIL_POINTS = 20
# A track not in this many consecutive results of its stream has ended or is lost: its
# trail goes (the tracker drops unmatched tracks well before that).
TRAIL_IDLE_RESULTS = 30
MAX_TRACKS = 256
EVENTS_KEPT = 50
# Zones and lines are at most 16 + 16 per stream; ids of removed ones still count for a while.
MAX_COUNTED = 64
MAX_STREAMS = 1000


@dataclass
class StreamTracking:
    """One stream's trails (per track id), last tracks, recent events and counters."""

    trails: OrderedDict[int, tuple[int, deque[list[float]]]] = field(default_factory=OrderedDict)
    results: int = 0
    last_tracks: dict[str, Any] | None = None
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    since_ms: int = 0

    def add_tracks(self, msg: TrackedResult, payload: dict[str, Any]) -> None:
        self.results += 1
        for track, out in zip(msg.tracks, payload["tracks"], strict=True):
            _, trail = self.trails.pop(track.track_id, (0, deque(maxlen=TRAIL_POINTS)))
            trail.append(bottom_centre(track))
            self.trails[track.track_id] = (self.results, trail)  # newest at the end
            out["trail"] = list(trail)
        self._prune()
        self.last_tracks = payload

    def _prune(self) -> None:
        while self.trails:
            track_id, (seen, _) = next(iter(self.trails.items()))
            if len(self.trails) <= MAX_TRACKS and self.results - seen < TRAIL_IDLE_RESULTS:
                return
            del self.trails[track_id]

    def add_event(self, event: dict[str, Any]) -> dict[str, int] | None:
        """Keep the event; its zone's or line's counters after it (None: not counted)."""
        self.events.append(event)
        key, name = counter_key(event), event["zone_or_line"]
        if key is None or (name not in self.counters and len(self.counters) >= MAX_COUNTED):
            return None
        counts = self.counters.setdefault(name, dict.fromkeys(COUNTER_KEYS, 0))
        counts[key] += 1
        return dict(counts)

    def json(self) -> dict[str, Any]:
        return {"tracks": self.last_tracks, "events": list(reversed(self.events)),
                "counters": self.counters, "since_ms": self.since_ms}


class TrackBoard:
    """Trails, events and counters of every stream the tracker reports on."""

    def __init__(self, max_streams: int = MAX_STREAMS,
                 clock: Callable[[], float] = time.time) -> None:
        self._max_streams = max_streams
        self._clock = clock
        self._streams: dict[str, StreamTracking] = {}

    def _of(self, stream_id: str) -> StreamTracking | None:
        found = self._streams.get(stream_id)
        if found is None and len(self._streams) < self._max_streams:
            found = self._streams[stream_id] = StreamTracking(since_ms=int(self._clock() * 1000))
        return found

    def on_tracks(self, stream_id: str, msg: TrackedResult, partition: int,
                  offset: int) -> dict[str, Any] | None:
        """Called for each tracks record: the ``tracks`` event (with each track's trail), or
        None when ``max_streams`` other streams are already kept."""
        board = self._of(stream_id)
        if board is None:
            return None
        payload = tracks_json(msg, partition, offset)
        payload["stream_id"] = stream_id
        board.add_tracks(msg, payload)
        return payload

    def on_event(self, stream_id: str, msg: ZoneEvent, partition: int,
                 offset: int) -> dict[str, Any] | None:
        """Called for each events record: the ``zone_event`` payload (the event and its zone's
        or line's counters after it), or None when the stream cannot be kept."""
        board = self._of(stream_id)
        if board is None:
            return None
        event = zone_event_json(msg, partition, offset)
        event["stream_id"] = stream_id
        counts = board.add_event(event)
        return {"event": event, "counters": {event["zone_or_line"]: counts} if counts else {}}

    def for_stream(self, stream_id: str) -> dict[str, Any]:
        """A stream's last tracks, events (newest first) and counters: for ``hello`` and
        ``GET /api/streams/{id}/tracking``."""
        board = self._streams.get(stream_id)
        return board.json() if board is not None else StreamTracking().json()

    def latest_tracks(self) -> dict[str, dict[str, Any]]:
        """Every stream's last tracks, for the grid's snapshot."""
        return {s: b.last_tracks for s, b in self._streams.items() if b.last_tracks}

    def forget(self, stream_id: str) -> None:
        """Called when a stream is deleted."""
        self._streams.pop(stream_id, None)
