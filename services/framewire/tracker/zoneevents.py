"""Zone and line events of one stream's tracks: enter, leave, dwell and cross.

One ``ZoneWatcher`` per stream, fed after the tracker has assigned ids, once per frame in
capture order, with each live track's point (the bottom-centre of its box, where the object
stands). It is pure and deterministic: the same frames give the same events, and its whole
state exports to plain JSON-serialisable data and back, so a restarted stage resumes without
repeating or losing an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from framewire.core.errors import DecodeError
from framewire.core.records import Box
from framewire.core.zones import (
    Line,
    LineDirection,
    Point,
    Zone,
    check_distinct_ids,
    contains,
    segments_intersect,
    side,
)

__all__ = ["SCHEMA_VERSION", "ZoneEvent", "ZoneEventKind", "ZoneWatcher", "bottom_centre"]

SCHEMA_VERSION = 1


class ZoneEventKind(StrEnum):
    """What happened; events of one track and zone or line in one frame sort in this order."""

    ENTER = "enter"
    LEAVE = "leave"
    CROSS = "cross"
    DWELL = "dwell"


_KIND_ORDER = {kind: rank for rank, kind in enumerate(ZoneEventKind)}


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    """One event; ``direction`` is a ``LineDirection`` value for ``CROSS``, else ``None``."""

    kind: ZoneEventKind
    track_id: int
    zone_or_line: str
    capture_ms: int
    direction: str | None = None


@dataclass(slots=True)
class _Visit:
    """A track inside a zone: since when, and whether its dwell event was given."""

    since_ms: int
    dwelled: bool = False


@dataclass(slots=True)
class _Approach:
    """A track relative to a line.

    ``anchor`` is the last side the track was strictly on (-1 left, +1 right, 0 while it has
    only been seen on the line). Points on the line leave it unchanged, so a box hovering on
    the line cannot cross twice the same way without crossing back. ``touched`` records that
    the path met the segment since leaving the anchor side, for a crossing made in steps.
    """

    anchor: int
    touched: bool = False


@dataclass(slots=True)
class _Track:
    point: Point
    visits: dict[str, _Visit]
    approaches: dict[str, _Approach]


def bottom_centre(box: Box) -> Point:
    """The point a track is watched by: where the object stands, not the middle of its box."""
    return (box.xmin + box.xmax) / 2.0, box.ymax


class ZoneWatcher:
    """The zone and line state of one stream's tracks, advanced by one ``observe`` per frame."""

    def __init__(self, zones: Sequence[Zone], lines: Sequence[Line], *, stream_id: str | None = None) -> None:
        check_distinct_ids(zones, lines, stream_id=stream_id)
        self._zones = tuple(zones)
        self._lines = tuple(lines)
        self._stream_id = stream_id
        self._tracks: dict[int, _Track] = {}
        self._last_capture_ms = -1

    def observe(self, capture_ms: int, tracks: Mapping[int, Point]) -> list[ZoneEvent]:
        """Called once per frame, in capture order, with every live track's point.

        A track watched before but absent from ``tracks`` has ended: it leaves every zone it
        was in. A frame not after the last one observed (a replay after a restart) is ignored
        and returns ``[]``. Events are sorted by track id, zone or line id, then kind.
        """
        if capture_ms <= self._last_capture_ms:
            return []
        self._last_capture_ms = capture_ms
        events: list[ZoneEvent] = []
        for track_id in sorted(self._tracks.keys() - tracks.keys()):
            track = self._tracks.pop(track_id)
            events += [ZoneEvent(ZoneEventKind.LEAVE, track_id, z, capture_ms) for z in track.visits]
        for track_id in sorted(tracks):
            x, y = tracks[track_id]
            events += self._step(track_id, (float(x), float(y)), capture_ms)
        events.sort(key=lambda e: (e.track_id, e.zone_or_line, _KIND_ORDER[e.kind]))
        return events

    def _step(self, track_id: int, point: Point, capture_ms: int) -> list[ZoneEvent]:
        track = self._tracks.get(track_id)
        previous = None if track is None else track.point
        if track is None:
            track = self._tracks[track_id] = _Track(point, {}, {})
        found = [_zone_event(track, zone, point, capture_ms) for zone in self._zones]
        found += [_line_event(track, line, previous, point) for line in self._lines]
        track.point = point
        return [ZoneEvent(kind, track_id, name, capture_ms, d) for kind, name, d in filter(None, found)]

    def state(self) -> dict[str, Any]:
        """Called when the stage commits: plain data that ``restore`` resumes from."""
        return {
            "schema_version": SCHEMA_VERSION,
            "last_capture_ms": self._last_capture_ms,
            "tracks": [_track_state(i, t) for i, t in sorted(self._tracks.items())],
        }

    @classmethod
    def restore(
        cls, zones: Sequence[Zone], lines: Sequence[Line], state: Mapping[str, Any],
        *, stream_id: str | None = None,
    ) -> ZoneWatcher:
        """Called when the stage starts and finds a saved state for the stream.

        State of zones or lines no longer configured is dropped; a zone added since is
        entered at the next frame by the tracks inside it.
        """
        if not isinstance(state, Mapping) or state.get("schema_version") != SCHEMA_VERSION:
            version = state.get("schema_version") if isinstance(state, Mapping) else None
            raise DecodeError(
                f"unsupported zone watcher state schema_version {version!r}", stream_id=stream_id
            )
        watcher = cls(zones, lines, stream_id=stream_id)
        known = {z.id for z in zones}, {line.id for line in lines}
        try:
            watcher._last_capture_ms = int(state["last_capture_ms"])
            for raw in state["tracks"]:
                track_id, track = _track_from_state(raw, *known)
                if track_id in watcher._tracks:
                    raise ValueError(f"track {track_id} appears twice")
                watcher._tracks[track_id] = track
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DecodeError(f"malformed zone watcher state: {exc!r}", stream_id=stream_id) from exc
        return watcher


_Found = tuple[ZoneEventKind, str, str | None] | None


def _zone_event(track: _Track, zone: Zone, point: Point, capture_ms: int) -> _Found:
    """Enter, leave or dwell of one track in one zone at this frame, updating its visit."""
    inside = contains(zone, point)
    visit = track.visits.get(zone.id)
    if visit is None:
        if not inside:
            return None
        track.visits[zone.id] = _Visit(capture_ms)
        return ZoneEventKind.ENTER, zone.id, None
    if not inside:
        del track.visits[zone.id]
        return ZoneEventKind.LEAVE, zone.id, None
    # Seconds by division, so 1100 ms against dwell_s=1.1 compares equal as written.
    if zone.dwell_s is None or visit.dwelled or (capture_ms - visit.since_ms) / 1000 < zone.dwell_s:
        return None
    visit.dwelled = True
    return ZoneEventKind.DWELL, zone.id, None


def _line_event(track: _Track, line: Line, previous: Point | None, point: Point) -> _Found:
    """The crossing of one line by one track's step from ``previous`` to ``point``, if any."""
    s = _sign(side(line, point))
    approach = track.approaches.get(line.id)
    if approach is None or approach.anchor == 0 or previous is None:
        # No side known to come from: whatever happened before cannot count as a crossing.
        track.approaches[line.id] = _Approach(s)
        return None
    if s == approach.anchor:
        approach.touched = False
        return None
    approach.touched = approach.touched or segments_intersect(previous, point, line.a, line.b)
    if s == 0:
        return None  # on the line: not crossed until it reaches the other side
    crossed, approach.anchor, approach.touched = approach.touched, s, False
    direction = LineDirection.LEFT_TO_RIGHT if s > 0 else LineDirection.RIGHT_TO_LEFT
    if not crossed or line.direction not in (LineDirection.BOTH, direction):
        return None
    return ZoneEventKind.CROSS, line.id, direction.value


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _track_state(track_id: int, track: _Track) -> dict[str, Any]:
    return {
        "track_id": track_id,
        "point": list(track.point),
        "visits": {z: {"since_ms": v.since_ms, "dwelled": v.dwelled} for z, v in track.visits.items()},
        "approaches": {k: {"anchor": a.anchor, "touched": a.touched} for k, a in track.approaches.items()},
    }


def _track_from_state(raw: Mapping[str, Any], zone_ids: set[str], line_ids: set[str]) -> tuple[int, _Track]:
    x, y = raw["point"]
    visits = {
        z: _Visit(int(v["since_ms"]), bool(v["dwelled"])) for z, v in raw["visits"].items() if z in zone_ids
    }
    approaches = {
        k: _Approach(int(a["anchor"]), bool(a["touched"]))
        for k, a in raw["approaches"].items()
        if k in line_ids
    }
    if any(a.anchor not in (-1, 0, 1) for a in approaches.values()):
        raise ValueError(f"track {raw['track_id']} has a line anchor outside -1, 0, 1")
    return int(raw["track_id"]), _Track((float(x), float(y)), visits, approaches)
