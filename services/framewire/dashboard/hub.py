"""Fan-out of pipeline events to SSE clients through bounded per-client queues.

One Kafka consumer feeds the hub; every connected client owns a ``ClientQueue``. Publishing
never waits: when a client's queue is full its oldest event is discarded and counted, so a
slow client only ever loses its own events and never delays the consumer or anyone else.
All methods run on the event loop thread (no locks needed).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Channel every summary (all-streams) client listens to.
ALL_STREAMS = "*"


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event, encoded once and shared by every client that receives it."""

    kind: str
    data: str
    event_id: str | None = None
    # Offset in the source partition, used to skip duplicates after a resume.
    offset: int | None = None
    # When the source record was appended to Kafka (epoch seconds), for latency metrics.
    kafka_time_s: float | None = None
    wire: bytes = field(default=b"", compare=False)

    @classmethod
    def make(
        cls,
        kind: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        offset: int | None = None,
        kafka_time_s: float | None = None,
    ) -> Event:
        data = json.dumps(payload, separators=(",", ":"))
        lines = [f"event: {kind}"]
        if event_id is not None:
            lines.append(f"id: {event_id}")
        lines.append(f"data: {data}")
        wire = ("\n".join(lines) + "\n\n").encode()
        return cls(kind, data, event_id, offset, kafka_time_s, wire)


class ClientQueue:
    """A bounded drop-oldest queue of events for one client; ``get`` blocks until one arrives."""

    def __init__(self, channel: str, maxsize: int, on_drop: Callable[[int], None] | None = None):
        self.channel = channel
        self._items: deque[Event] = deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self._on_drop = on_drop
        self.dropped_total = 0
        self._dropped_unreported = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: Event) -> None:
        """Called by the hub; never blocks. A full queue loses its oldest event."""
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped_total += 1
            self._dropped_unreported += 1
            if self._on_drop is not None:
                self._on_drop(1)
        self._items.append(event)
        self._ready.set()

    async def get(self) -> Event | None:
        """Wait for the next event (called by the client's SSE generator); None once closed."""
        while not self._items and not self.closed:
            self._ready.clear()
            await self._ready.wait()
        return None if self.closed else self._items.popleft()

    def close(self) -> None:
        """Wake the reader and make it stop (the dashboard is shutting down)."""
        self.closed = True
        self._ready.set()

    def take_dropped(self) -> int:
        """Events lost since the last call, so the client can be told about the gap."""
        count, self._dropped_unreported = self._dropped_unreported, 0
        return count


class Hub:
    """Routes each published event to the queues subscribed to its channel."""

    def __init__(self, queue_size: int, on_drop: Callable[[str, int], None] | None = None):
        self._queue_size = queue_size
        self._on_drop = on_drop
        self._channels: dict[str, set[ClientQueue]] = {}
        self._closed = False
        # Called after a client subscribed or left (the frame demand follows the clients).
        self.on_change: Callable[[], None] | None = None

    def subscribe(self, channel: str) -> ClientQueue:
        """Called when an SSE client connects; ``channel`` is a stream id or ALL_STREAMS."""
        kind = "summary" if channel == ALL_STREAMS else "stream"
        on_drop = None
        if self._on_drop is not None:
            hook = self._on_drop
            on_drop = lambda n: hook(kind, n)  # noqa: E731
        queue = ClientQueue(channel, self._queue_size, on_drop)
        if self._closed:
            queue.close()
        self._channels.setdefault(channel, set()).add(queue)
        self._changed()
        return queue

    def close(self) -> None:
        """End every client's stream; called first when the dashboard shuts down."""
        self._closed = True
        for members in self._channels.values():
            for queue in members:
                queue.close()

    def unsubscribe(self, queue: ClientQueue) -> None:
        """Called when the client disconnects; safe to call twice."""
        members = self._channels.get(queue.channel)
        if members is not None:
            members.discard(queue)
            if not members:
                del self._channels[queue.channel]
                self._changed()

    def channels(self) -> list[str]:
        """Channels with at least one client (stream ids, and ALL_STREAMS)."""
        return list(self._channels)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def publish(self, channel: str, event: Event) -> int:
        """Deliver ``event`` to every client of ``channel``; returns how many received it."""
        members = self._channels.get(channel)
        if not members:
            return 0
        for queue in members:
            queue.put(event)
        return len(members)

    def client_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._channels.get(channel, ()))
        return sum(len(m) for m in self._channels.values())
