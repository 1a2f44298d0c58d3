"""In-process records of the inference service; protobuf exists only in ``wire.py``.

The per-frame records (``Inbound``, ``FrameItem``, ``Rejected``, ``Processed``) are the
model library's (``framewire.models.perframe.records``), shared with ``framewire replay``;
a cycle's work also ends as ``DropRange`` skips, which are the service's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from framewire.models.perframe.records import (
    Coords,
    FrameItem,
    Inbound,
    Processed,
    Rejected,
    RejectKind,
    Timing,
)

__all__ = [
    "Coords",
    "DropRange",
    "DropReason",
    "FrameItem",
    "Inbound",
    "Processed",
    "RejectKind",
    "Rejected",
    "Timing",
]


class DropReason(StrEnum):
    STALE = "stale"
    STRIDE = "stride"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class DropRange:
    """Consecutive offsets ``[first, last]`` of one partition skipped for one reason."""

    stream_id: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    reason: DropReason
    detail: str = ""

    @property
    def count(self) -> int:
        return self.last_offset - self.first_offset + 1
