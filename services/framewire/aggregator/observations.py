"""What the aggregator learns about a stream, as plain records.

The ingest stage turns protobuf results, drop records and zone events into these, and they travel on
the aggregator's internal topic as small JSON objects (a list of them per batch) keyed by
stream id, so every update of one stream is applied by one worker, in order, next to that
stream's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framewire.aggregator.zonecounts import CROSS, DIRECTIONS, EVENT_KINDS
from framewire.core.errors import DecodeError

# Drop reasons as written in stats and rules: the DropRecord.Reason names, lower case,
# without their ``REASON_`` prefix.
DROP_REASONS = frozenset(
    {
        "unspecified",
        "stale",
        "stride",
        "backpressure",
        "source_overrun",
        "delivery_failed",
        "corrupt_input",
        "duplicate",
    }
)


@dataclass(frozen=True)
class ResultSeen:
    """One inference result: when its frame was captured, how late it was, what it held."""

    stream_id: str
    event_ms: int
    latency_s: float
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DropSeen:
    """``count`` frames of a stream that were not processed, and why."""

    stream_id: str
    event_ms: int
    reason: str
    count: int


@dataclass(frozen=True)
class ZoneSeen:
    """A track entered, left or dwelt in a zone, or crossed a line (``direction`` set).

    ``event_id`` names the record it came from (see ``ingest.zone_event_id``): the same
    event delivered twice has the same id.
    """

    stream_id: str
    event_ms: int
    kind: str  # zonecounts.EVENT_KINDS
    target: str  # the zone's or line's id
    direction: str
    event_id: str


@dataclass(frozen=True)
class Tick:
    """Wall-clock time passing for a stream: closes windows, detects silence."""

    stream_id: str
    now_s: float


Observation = ResultSeen | DropSeen | ZoneSeen | Tick


def to_wire(obs: Observation) -> dict[str, Any]:
    """JSON object for the internal topic (short keys: one is sent per result)."""
    if isinstance(obs, ResultSeen):
        return {"k": "r", "t": obs.event_ms, "l": obs.latency_s, "c": dict(obs.counts)}
    if isinstance(obs, DropSeen):
        return {"k": "d", "t": obs.event_ms, "r": obs.reason, "n": obs.count}
    if isinstance(obs, ZoneSeen):
        where = {"z": obs.target, "d": obs.direction, "i": obs.event_id}
        return {"k": "z", "t": obs.event_ms, "e": obs.kind, **where}
    return {"k": "t", "now": obs.now_s}


def wire_items(value: Any) -> list[Any]:
    """The observations in one record of the internal topic: a JSON list (a batch of one
    stream, in order) or one JSON object (ticks, and every record of older builds)."""
    return value if isinstance(value, list) else [value]


def from_wire(stream_id: str, data: Mapping[str, Any]) -> Observation:
    """Inverse of ``to_wire``; raises DecodeError on anything else."""
    try:
        kind = data["k"]
        if kind == "r":
            counts = {str(k): int(v) for k, v in data.get("c", {}).items()}
            return ResultSeen(stream_id, int(data["t"]), float(data["l"]), counts)
        if kind == "d":
            return DropSeen(stream_id, int(data["t"]), str(data["r"]), int(data["n"]))
        if kind == "z":
            return _zone_seen(stream_id, data)
        if kind == "t":
            return Tick(stream_id, float(data["now"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(f"malformed observation: {exc!r}", stream_id=stream_id) from None
    raise DecodeError(f"unknown observation kind {kind!r}", stream_id=stream_id)


def _zone_seen(stream_id: str, data: Mapping[str, Any]) -> ZoneSeen:
    kind = str(data["e"])
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown zone event kind {kind!r}")
    target, direction = str(data["z"]), str(data.get("d", ""))
    if kind == CROSS and direction not in DIRECTIONS:
        raise ValueError(f"unknown crossing direction {direction!r}")
    return ZoneSeen(stream_id, int(data["t"]), kind, target, direction, str(data["i"]))
