"""Each stream's zones and lines, as the stream registry (``fw.streams``) holds them now.

Filled by ``core.specfollow.StreamSpecFollower`` on its thread and read by the stage loop
for every result, so a zone saved through the API applies from the next result on. A spec
whose geometry does not validate (it may come from any producer of the registry) is logged
and its stream watched with no zones and lines rather than with half of them.
"""

from __future__ import annotations

import logging
import threading

from framewire.core.codec import decode
from framewire.core.errors import ConfigError, DecodeError
from framewire.core.zones import Line, Zone, check_distinct_ids
from framewire.core.zonewire import geometry_of
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)

Geometry = tuple[tuple[Zone, ...], tuple[Line, ...]]
NO_GEOMETRY: Geometry = ((), ())


class StreamGeometry:
    """Stream id -> its zones and lines; streams without any are absent."""

    def __init__(self) -> None:
        self._geometry: dict[str, Geometry] = {}
        self._lock = threading.Lock()

    def of(self, stream_id: str) -> Geometry:
        """Called by the stage for each result: the stream's zones and lines now."""
        with self._lock:
            return self._geometry.get(stream_id, NO_GEOMETRY)

    def apply(self, key: bytes | None, value: bytes | None, where: str = "") -> None:
        """Take one ``fw.streams`` record into account (a tombstone removes the stream)."""
        stream_id = (key or b"").decode("utf-8", "replace")
        geometry = NO_GEOMETRY
        if value is not None:
            try:
                spec = decode(StreamSpec, value)
                stream_id = spec.stream_id or stream_id
                geometry = geometry_of(spec)
                check_distinct_ids(*geometry, stream_id=stream_id)
            except (DecodeError, ConfigError) as exc:
                log.warning("stream %s: ignoring the zones and lines of the spec at %s: %s",
                            stream_id, where, exc)
                geometry = NO_GEOMETRY
        with self._lock:
            if geometry == NO_GEOMETRY:
                self._geometry.pop(stream_id, None)
            else:
                self._geometry[stream_id] = geometry
