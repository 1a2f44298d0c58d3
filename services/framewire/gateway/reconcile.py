"""Desired state (registry) vs. what runs here: which streams to start, stop or restart.

Pure functions, called by the gateway after every registry or assignment change.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from framewire.gateway.spec import InvalidStream, StreamConfig

Entry = StreamConfig | InvalidStream


class StopReason(Enum):
    DELETED = "deleted"  # removed from the registry: its status is deleted too
    MOVED = "moved"  # its slot went to another gateway (or this one is stopping)


def slot_of(stream_id: str, slots: int) -> int:
    """The slot (slots-topic partition) whose owner serves ``stream_id``.

    CRC-32 is stable across processes and Python versions, unlike ``hash()``.
    """
    return zlib.crc32(stream_id.encode("utf-8")) % slots


@dataclass(frozen=True)
class Plan:
    start: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    stop: list[tuple[str, StopReason]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.start or self.restart or self.stop)


def plan_changes(
    desired: Mapping[str, Entry],
    owns: Callable[[str], bool],
    running: Mapping[str, Entry],
) -> Plan:
    """What to do so that exactly the owned streams of ``desired`` run, as specified."""
    plan = Plan()
    for stream_id, current in sorted(running.items()):
        wanted = desired.get(stream_id)
        if wanted is None:
            plan.stop.append((stream_id, StopReason.DELETED))
        elif not owns(stream_id):
            plan.stop.append((stream_id, StopReason.MOVED))
        elif wanted != current:
            plan.restart.append(stream_id)
    for stream_id in sorted(desired):
        if stream_id not in running and owns(stream_id):
            plan.start.append(stream_id)
    return plan
