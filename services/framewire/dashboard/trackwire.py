"""The tracker's records as JSON for the page: tracks of one frame, and zone or line events.

Pure functions, called by ``tracking.TrackBoard`` as records of ``tracks.<stream>`` and
``events`` arrive. Boxes are normalised [x1, y1, x2, y2] like detections; a track's point
is the bottom-centre of its box, the point the tracker tests against zones and lines.
"""

from __future__ import annotations

from typing import Any

from framewire.v1.tracks_pb2 import Track, TrackedResult, ZoneEvent

_DECIMALS = 5
# Counter keys of one zone or line: its kinds, a crossing counted by its direction.
COUNTER_KEYS = ("enter", "leave", "dwell", "left_to_right", "right_to_left")


def bottom_centre(track: Track) -> list[float]:
    """Where a track stands on the picture (the tracker's own anchor for zone tests)."""
    return [round((track.box.xmin + track.box.xmax) / 2, _DECIMALS), round(track.box.ymax, _DECIMALS)]


def track_json(track: Track) -> dict[str, Any]:
    box = track.box
    return {
        "id": track.track_id,
        "label": track.label,
        "score": round(track.score, 4),
        "box": [round(v, _DECIMALS) for v in (box.xmin, box.ymin, box.xmax, box.ymax)],
        "hits": track.hits,
        "misses": track.misses,
        "velocity": [round(track.velocity_x, 4), round(track.velocity_y, 4)],
    }


def tracks_json(msg: TrackedResult, partition: int, offset: int) -> dict[str, Any]:
    """One ``tracks`` event without trails (``TrackBoard`` adds them).

    The frame is named like a detection's (``<partition>:<offset>``); a record written
    before ``frame_partition`` existed reads as partition 0, the only one of a frames topic.
    """
    return {
        "stream_id": msg.stream_id,
        "id": f"{partition}:{offset}",
        "sequence": msg.frame_sequence,
        "capture_time_ns": msg.capture_time_ns,
        "frame": f"{msg.frame_partition}:{msg.frame_offset}",
        "frame_topic": msg.frame_topic,
        "tracks": [track_json(t) for t in msg.tracks],
    }


def zone_event_json(msg: ZoneEvent, partition: int, offset: int) -> dict[str, Any]:
    """One zone or line event; ``id`` is its ``<partition>:<offset>`` on the events topic."""
    return {
        "stream_id": msg.stream_id,
        "id": f"{partition}:{offset}",
        "kind": ZoneEvent.Kind.Name(msg.kind).lower(),
        "track_id": msg.track_id,
        "zone_or_line": msg.zone_or_line,
        "direction": msg.direction or None,
        "label": msg.label,
        "sequence": msg.frame_sequence,
        "capture_time_ns": msg.capture_time_ns,
        "event_time_ns": msg.event_time_ns,
    }


def counter_key(event: dict[str, Any]) -> str | None:
    """Which counter of its zone or line an event adds to; None for a kind not counted."""
    if event["kind"] == "cross":
        direction = event["direction"]
        return direction if direction in COUNTER_KEYS else None
    return event["kind"] if event["kind"] in COUNTER_KEYS else None
