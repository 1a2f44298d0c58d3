"""SORT/ByteTrack-style multi-object tracking of one stream's detections.

One ``StreamTracker`` per stream. Each frame's detections are matched to the live tracks by
IoU against each track's constant-velocity prediction, with an optimal assignment
(``scipy.optimize.linear_sum_assignment``): first the confident detections against every live
track, then the less confident ones against the tracks still unmatched (ByteTrack's second
pass), so an object whose score dips keeps its id without a weak detection ever starting a
track. The tracker is deterministic and its whole state round-trips through ``TrackerState``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from framewire.core.errors import ConfigError, DecodeError
from framewire.core.records import Box, Detection
from framewire.tracker.state import TrackedObject, box_f32, f32, to_track_proto, track_from_proto
from framewire.v1 import tracks_pb2

__all__ = [
    "SCHEMA_VERSION",
    "StreamTracker",
    "TrackedObject",
    "TrackerConfig",
    "TrackerConfigError",
    "to_track_proto",
]

SCHEMA_VERSION = 1
# Weight of the newest observed velocity against the smoothed one.
_VELOCITY_ALPHA = 0.5
# Cost of a pair that must not match; finite because linear_sum_assignment rejects a matrix
# with no feasible full assignment, and far above any real cost (1 - IoU <= 1).
_FORBIDDEN = 1e6
_NS_PER_S = 1e9


class TrackerConfigError(ConfigError, ValueError):
    """A ``TrackerConfig`` value is out of range; raised when the config is built."""


@dataclass(frozen=True)
class TrackerConfig:
    """Matching thresholds; built once per stage from its settings."""

    high_score: float = 0.5  # detections at or above start/extend tracks in the first pass
    low_score: float = 0.1  # detections in [low, high) only extend existing tracks
    match_iou: float = 0.3  # minimum IoU (predicted track box vs detection) to match
    max_misses: int = 15  # a track is dropped when unmatched for more frames in a row than this
    min_hits: int = 1  # a track is reported once it has this many hits

    def __post_init__(self) -> None:
        if not 0.0 <= self.low_score <= self.high_score <= 1.0:
            raise TrackerConfigError(
                f"need 0 <= low_score <= high_score <= 1, got low_score={self.low_score} "
                f"high_score={self.high_score}"
            )
        if not 0.0 < self.match_iou <= 1.0:
            raise TrackerConfigError(f"need 0 < match_iou <= 1, got {self.match_iou}")
        if self.max_misses < 0:
            raise TrackerConfigError(f"need max_misses >= 0, got {self.max_misses}")
        if self.min_hits < 1:
            raise TrackerConfigError(f"need min_hits >= 1, got {self.min_hits}")


class StreamTracker:
    """The tracks of one stream, advanced by one ``update`` per frame in capture order."""

    def __init__(self, stream_id: str, config: TrackerConfig = TrackerConfig()) -> None:
        self._stream_id = stream_id
        self._config = config
        self._tracks: list[TrackedObject] = []  # live tracks, always sorted by track_id
        self._next_track_id = 1
        self._last_capture_time_ns = -1  # nothing taken in yet

    @property
    def stream_id(self) -> str:
        return self._stream_id

    @property
    def next_track_id(self) -> int:
        """The id the next new track gets; ids start at 1 and are never reused."""
        return self._next_track_id

    @property
    def last_capture_time_ns(self) -> int:
        """Capture time of the last frame taken in; -1 before the first."""
        return self._last_capture_time_ns

    @property
    def tracks(self) -> tuple[TrackedObject, ...]:
        """Live tracks by id, including those unmatched but not yet dropped."""
        return tuple(self._tracks)

    def update(self, detections: Sequence[Detection], capture_time_ns: int) -> list[TrackedObject]:
        """Called once per frame of the stream, in capture order, with that frame's detections.

        Returns the tracks matched or born in this frame (``misses == 0``) that have at least
        ``min_hits`` hits, sorted by ``track_id``. A frame whose ``capture_time_ns`` is not
        after the last one taken in (a replayed or duplicated input, or a negative time) is
        ignored: it returns ``[]`` and leaves the state untouched, so re-reading inputs after
        a restart cannot advance or disturb the tracks.
        """
        if capture_time_ns <= self._last_capture_time_ns:
            return []
        self._last_capture_time_ns = capture_time_ns
        cfg = self._config
        usable = sorted((d for d in detections if d.score >= cfg.low_score), key=_detection_order)
        high = [d for d in usable if d.score >= cfg.high_score]
        low = [d for d in usable if d.score < cfg.high_score]
        predicted = [_predict(t, capture_time_ns) for t in self._tracks]
        every = list(range(len(self._tracks)))
        first, unmatched, new = self._associate(every, high, predicted)
        second, _, _ = self._associate(unmatched, low, predicted)
        matched = dict(first + second)
        kept: list[TrackedObject] = []
        for index, track in enumerate(self._tracks):
            if index in matched:
                kept.append(_extend(track, matched[index], capture_time_ns))
            elif track.misses < cfg.max_misses:
                kept.append(replace(track, misses=track.misses + 1))
        for det in new:
            kept.append(_birth(self._next_track_id, det, capture_time_ns))
            self._next_track_id += 1
        self._tracks = kept
        return [t for t in kept if t.misses == 0 and t.hits >= cfg.min_hits]

    def _associate(
        self, rows: list[int], dets: list[Detection], predicted: list[Box]
    ) -> tuple[list[tuple[int, Detection]], list[int], list[Detection]]:
        """Optimal same-class matching of tracks ``rows`` to ``dets``: (pairs, free rows, free dets)."""
        if not rows or not dets:
            return [], rows, dets
        iou = np.array(
            [
                [predicted[r].iou(d.box) if self._tracks[r].class_id == d.class_id else 0.0 for d in dets]
                for r in rows
            ]
        )
        allowed = iou >= self._config.match_iou
        cost = np.where(allowed, 1.0 - iou, _FORBIDDEN)
        chosen = [
            (int(i), int(j)) for i, j in zip(*linear_sum_assignment(cost), strict=True) if allowed[i, j]
        ]
        used_rows = {i for i, _ in chosen}
        used_dets = {j for _, j in chosen}
        pairs = [(rows[i], dets[j]) for i, j in chosen]
        free_rows = [r for k, r in enumerate(rows) if k not in used_rows]
        return pairs, free_rows, [d for k, d in enumerate(dets) if k not in used_dets]

    def to_state(self, next_source_offset: int) -> tracks_pb2.TrackerState:
        """Called when the stage commits: everything a restarted tracker needs to resume."""
        return tracks_pb2.TrackerState(
            schema_version=SCHEMA_VERSION,
            stream_id=self._stream_id,
            next_track_id=self._next_track_id,
            last_capture_time_ns=self._last_capture_time_ns,
            tracks=[to_track_proto(t) for t in self._tracks],
            next_source_offset=next_source_offset,
        )

    @classmethod
    def from_state(
        cls, state: tracks_pb2.TrackerState, config: TrackerConfig = TrackerConfig()
    ) -> StreamTracker:
        """Called when the stage starts and finds a saved state for the stream."""
        if state.schema_version != SCHEMA_VERSION:
            raise DecodeError(
                f"unsupported TrackerState schema_version {state.schema_version}",
                stream_id=state.stream_id,
            )
        tracks = sorted((track_from_proto(t) for t in state.tracks), key=lambda t: t.track_id)
        ids = [t.track_id for t in tracks]
        if len(set(ids)) != len(ids) or any(i < 1 or i >= state.next_track_id for i in ids):
            raise DecodeError(
                f"TrackerState track ids {ids} clash or are not below next_track_id {state.next_track_id}",
                stream_id=state.stream_id,
            )
        tracker = cls(state.stream_id, config)
        tracker._tracks = tracks
        tracker._next_track_id = state.next_track_id
        tracker._last_capture_time_ns = state.last_capture_time_ns
        return tracker


def _detection_order(d: Detection) -> tuple[float, float, float, float, float, int, str]:
    """Score first, then position, so equal inputs in any order build the same matrices."""
    b = d.box
    return (-d.score, b.xmin, b.ymin, b.xmax, b.ymax, d.class_id, d.label)


def _predict(track: TrackedObject, now_ns: int) -> Box:
    """The track's box moved at its centre velocity from its last match to ``now_ns``."""
    dt = (now_ns - track.last_seen_ns) / _NS_PER_S
    dx, dy = track.velocity_x * dt, track.velocity_y * dt
    b = track.box
    return Box(b.xmin + dx, b.ymin + dy, b.xmax + dx, b.ymax + dy)


def _centre(box: Box) -> tuple[float, float]:
    return (box.xmin + box.xmax) / 2.0, (box.ymin + box.ymax) / 2.0


def _extend(track: TrackedObject, det: Detection, now_ns: int) -> TrackedObject:
    box = box_f32(det.box)
    vx, vy = track.velocity_x, track.velocity_y
    dt = (now_ns - track.last_seen_ns) / _NS_PER_S
    if dt > 0:
        (x0, y0), (x1, y1) = _centre(track.box), _centre(box)
        ox, oy = (x1 - x0) / dt, (y1 - y0) / dt
        # The first match after birth has no history to smooth against.
        a = 1.0 if track.hits == 1 else _VELOCITY_ALPHA
        vx, vy = a * ox + (1.0 - a) * vx, a * oy + (1.0 - a) * vy
    return replace(
        track,
        label=det.label,
        score=f32(det.score),
        box=box,
        hits=track.hits + 1,
        misses=0,
        last_seen_ns=now_ns,
        velocity_x=f32(vx),
        velocity_y=f32(vy),
    )


def _birth(track_id: int, det: Detection, now_ns: int) -> TrackedObject:
    return TrackedObject(
        track_id=track_id,
        class_id=det.class_id,
        label=det.label,
        score=f32(det.score),
        box=box_f32(det.box),
        hits=1,
        misses=0,
        first_seen_ns=now_ns,
        last_seen_ns=now_ns,
        velocity_x=0.0,
        velocity_y=0.0,
    )
