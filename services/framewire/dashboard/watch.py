"""Which streams' frames the dashboard reads: only those a client is watching.

Frames are by far the heaviest records (a JPEG each), and a dashboard nobody looks at
needs none of them; results, status, stats and alerts still flow for every stream. A
stream is watched while an SSE client follows it (``/api/streams/{id}/events``), while any
client follows the summary stream (``/api/events``: the grid shows every stream's picture),
and for ``linger_s`` after its last frame request or after its last such client left, so a
page reload or a slow poller does not make the consumer drop and re-read the partitions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from framewire.dashboard.hub import ALL_STREAMS, Hub


@dataclass(frozen=True)
class FramesWanted:
    """The frames topics the consumer should read: every stream's, or these streams'."""

    every_stream: bool = False
    streams: frozenset[str] = frozenset()

    def covers(self, stream_id: str | None) -> bool:
        return self.every_stream or stream_id in self.streams


EVERY_STREAM = FramesWanted(every_stream=True)
NO_STREAM = FramesWanted()


class FrameDemand:
    """Works out ``FramesWanted`` on the event loop and tells ``listener`` when it changes.

    ``update`` is called when an SSE client comes or goes (through the hub), on every frame
    request (``touch``) and on every summary tick, which is what ends a linger.
    """

    def __init__(self, hub: Hub, linger_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._hub = hub
        self._linger_s = linger_s
        self._clock = clock
        self._until: dict[str, float] = {}  # stream (or ALL_STREAMS) -> watched until
        self.wanted = NO_STREAM
        self.listener: Callable[[FramesWanted], None] | None = None
        hub.on_change = self.update

    def touch(self, stream_id: str) -> None:
        """A client asked for a frame of ``stream_id`` (called by the frames API)."""
        self._until[stream_id] = self._clock() + self._linger_s
        self.update()

    def update(self) -> None:
        now = self._clock()
        for channel in self._hub.channels():
            self._until[channel] = now + self._linger_s
        self._until = {s: t for s, t in self._until.items() if t > now}
        watched = frozenset(self._until)
        wanted = EVERY_STREAM if ALL_STREAMS in watched else FramesWanted(streams=watched)
        if wanted != self.wanted:
            self.wanted = wanted
            if self.listener is not None:
                self.listener(wanted)
