"""Per-stream maximum frame age, read from the compacted ``fw.streams`` topic.

A ``StreamSpec`` may set ``max_age_ms``; 0 (or no spec) means the worker's default. The
table is filled by ``core.specfollow.StreamSpecFollower`` reading the whole topic and
following it, and read by the worker loop each cycle (``max_age_ms``), so a changed spec
applies within a poll.
"""

from __future__ import annotations

import logging
import threading

from framewire.core.codec import decode
from framewire.core.errors import DecodeError
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)


class StreamAges:
    """Stream id -> maximum age in ms for streams whose spec overrides the default."""

    def __init__(self, default_ms: int) -> None:
        self.default_ms = default_ms
        self._ages: dict[str, int] = {}
        self._lock = threading.Lock()

    def max_age_ms(self, stream_id: str | None) -> int:
        with self._lock:
            return self._ages.get(stream_id or "", self.default_ms)

    def overrides(self) -> dict[str, int]:
        with self._lock:
            return dict(self._ages)

    def apply(self, key: bytes | None, value: bytes | None, where: str = "") -> None:
        """Take one ``fw.streams`` record into account (a tombstone removes the stream)."""
        stream_id = (key or b"").decode("utf-8", "replace")
        if value is None:
            with self._lock:
                self._ages.pop(stream_id, None)
            return
        try:
            spec = decode(StreamSpec, value)
        except DecodeError as exc:
            log.warning("ignoring unreadable stream spec %s: %s", where, exc)
            return
        stream_id = spec.stream_id or stream_id
        with self._lock:
            if spec.max_age_ms > 0:
                self._ages[stream_id] = int(spec.max_age_ms)
            else:
                self._ages.pop(stream_id, None)
