"""A stream's zone watcher kept with its tracker: built from the registry's geometry, saved
in ``TrackerState.zone_watcher_json``, and rebuilt from there after a take-over or an abort.

Called by ``assignment`` (restore, roll back) and by the stage for each result (``follow``).
A saved state that cannot be read is logged and replaced by a fresh watcher: tracks already
inside a zone then enter it again, which the warning says.
"""

from __future__ import annotations

import json
import logging

from framewire.core.errors import DecodeError
from framewire.tracker.geometry import NO_GEOMETRY, Geometry
from framewire.tracker.zoneevents import ZoneWatcher
from framewire.v1.tracks_pb2 import TrackerState

log = logging.getLogger(__name__)


def saved(watcher: ZoneWatcher | None) -> str:
    """The watcher's state as stored in ``TrackerState.zone_watcher_json`` ("" for none)."""
    if watcher is None:
        return ""
    return json.dumps(watcher.state(), separators=(",", ":"), sort_keys=True)


def restored(state: TrackerState | None, geometry: Geometry, stream: str) -> ZoneWatcher | None:
    """The watcher a saved state resumes with under today's ``geometry`` (None: no zones)."""
    if geometry == NO_GEOMETRY:
        return None
    zones, lines = geometry
    if state is None or not state.zone_watcher_json:
        return ZoneWatcher(zones, lines, stream_id=stream)
    try:
        return ZoneWatcher.restore(zones, lines, json.loads(state.zone_watcher_json), stream_id=stream)
    except (DecodeError, ValueError) as exc:
        log.warning("stream %s: zone state at source offset %s unreadable, starting afresh "
                    "(tracks inside a zone will enter it again): %s",
                    stream, state.next_source_offset, exc)
        return ZoneWatcher(zones, lines, stream_id=stream)


def followed(watcher: ZoneWatcher | None, geometry: Geometry, stream: str) -> ZoneWatcher | None:
    """Called when a stream's zones or lines change: the watcher under the new geometry,
    keeping where tracks stand against the zones and lines that remain."""
    if geometry == NO_GEOMETRY:
        return None
    zones, lines = geometry
    if watcher is None:
        return ZoneWatcher(zones, lines, stream_id=stream)
    return ZoneWatcher.restore(zones, lines, watcher.state(), stream_id=stream)
