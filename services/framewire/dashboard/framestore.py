"""Recent JPEG frames per stream, addressed by their Kafka coordinates.

Why frames are served this way (and not as MJPEG or inside SSE): a detection event names
the exact frame it was computed from (``source_partition:source_offset``). The page fetches
that frame by its coordinates and draws it and the boxes on one canvas in the same paint,
so boxes can never sit on a neighbouring frame. MJPEG cannot tell the page which frame it
is showing; base64 frames inside SSE would inflate every client's bounded event queue by
~70 KB per event and make slow clients drop detections instead of pictures. Offset-addressed
frames are immutable, so the browser may cache them, and a page that falls behind simply
skips frames (it asks for the newest one when it is ready) without affecting anyone else.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

# Concurrent requests waiting for a frame that has not reached the dashboard yet.
MAX_WAITERS = 256


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One JPEG as published by a gateway, with where it sits on Kafka."""

    stream_id: str
    partition: int
    offset: int
    sequence: int
    width: int
    height: int
    capture_time_ns: int
    jpeg: bytes


class FrameStore:
    """Keeps the last ``per_stream`` frames of each stream; runs on the loop thread."""

    def __init__(self, per_stream: int) -> None:
        self._per_stream = per_stream
        self._frames: dict[str, OrderedDict[tuple[int, int], StoredFrame]] = {}
        self._waiters: dict[tuple[str, int, int], list[asyncio.Future[StoredFrame]]] = {}

    def put(self, frame: StoredFrame) -> None:
        """Called for every frame record the consumer reads."""
        ring = self._frames.setdefault(frame.stream_id, OrderedDict())
        ring[(frame.partition, frame.offset)] = frame
        while len(ring) > self._per_stream:
            ring.popitem(last=False)
        for future in self._waiters.pop((frame.stream_id, frame.partition, frame.offset), []):
            if not future.done():
                future.set_result(frame)

    def get(self, stream_id: str, partition: int, offset: int) -> StoredFrame | None:
        ring = self._frames.get(stream_id)
        return ring.get((partition, offset)) if ring is not None else None

    def latest(self, stream_id: str) -> StoredFrame | None:
        ring = self._frames.get(stream_id)
        if not ring:
            return None
        return next(reversed(ring.values()))

    def oldest_offset(self, stream_id: str, partition: int) -> int | None:
        ring = self._frames.get(stream_id)
        if ring is None:
            return None
        return next((o for (p, o) in ring if p == partition), None)

    def forget(self, stream_id: str) -> None:
        """Called when a stream is deleted."""
        self._frames.pop(stream_id, None)

    async def wait_for(
        self, stream_id: str, partition: int, offset: int, timeout_s: float
    ) -> StoredFrame | None:
        """The frame at these coordinates, waiting up to ``timeout_s`` for it to arrive.

        A result can reach the dashboard a moment before its frame (they travel on different
        topics), so the page's request for it is held briefly instead of failing.
        """
        found = self.get(stream_id, partition, offset)
        if found is not None or timeout_s <= 0:
            return found
        if sum(len(w) for w in self._waiters.values()) >= MAX_WAITERS:
            return None
        key = (stream_id, partition, offset)
        future: asyncio.Future[StoredFrame] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._waiters[key]
