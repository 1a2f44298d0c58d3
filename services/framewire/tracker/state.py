"""Tracked objects and their protobuf form, used for results and for the tracker's saved state.

Every float a track carries is held at float32, the precision of the wire schema, so a track
written to ``TrackerState`` and read back is equal to the one held in memory and a restored
tracker continues exactly as the original would have.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framewire.core.records import Box
from framewire.v1 import detection_pb2, tracks_pb2


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """One track as of its latest matched frame; what ``StreamTracker.update`` reports."""

    track_id: int
    class_id: int
    label: str
    score: float
    box: Box  # the matched detection's box, not the prediction
    hits: int
    misses: int  # 0 for objects reported in this frame
    first_seen_ns: int
    last_seen_ns: int
    velocity_x: float  # box-centre velocity, normalised units per second
    velocity_y: float


def f32(value: float) -> float:
    """``value`` rounded to the nearest float32, as the wire schema would store it."""
    return float(np.float32(value))


def box_f32(box: Box) -> Box:
    return Box(f32(box.xmin), f32(box.ymin), f32(box.xmax), f32(box.ymax))


def to_track_proto(obj: TrackedObject) -> tracks_pb2.Track:
    """Called to fill ``TrackedResult.tracks`` and ``TrackerState.tracks``."""
    box = obj.box
    return tracks_pb2.Track(
        track_id=obj.track_id,
        label=obj.label,
        class_id=obj.class_id,
        score=obj.score,
        box=detection_pb2.Box(xmin=box.xmin, ymin=box.ymin, xmax=box.xmax, ymax=box.ymax),
        hits=obj.hits,
        misses=obj.misses,
        first_seen_ns=obj.first_seen_ns,
        last_seen_ns=obj.last_seen_ns,
        velocity_x=obj.velocity_x,
        velocity_y=obj.velocity_y,
    )


def track_from_proto(track: tracks_pb2.Track) -> TrackedObject:
    """Called when a tracker is restored from its saved ``TrackerState``."""
    box = track.box
    return TrackedObject(
        track_id=track.track_id,
        class_id=track.class_id,
        label=track.label,
        score=track.score,
        box=Box(box.xmin, box.ymin, box.xmax, box.ymax),
        hits=track.hits,
        misses=track.misses,
        first_seen_ns=track.first_seen_ns,
        last_seen_ns=track.last_seen_ns,
        velocity_x=track.velocity_x,
        velocity_y=track.velocity_y,
    )
