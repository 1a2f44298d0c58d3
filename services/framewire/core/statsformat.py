"""The JSON contracts of the stats and alerts topics (docs/stats-format.md), defined once.

The aggregator builds its messages with these models and the dashboard validates what it
reads with the same ones, so a field renamed on one side fails the other's tests. JSON
values, UTF-8, keyed by the stream id; ``schema`` names the contract and its version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

STATS_SCHEMA: Final = "framewire.stats/1"
ALERT_SCHEMA: Final = "framewire.alert/1"


class WindowKind(StrEnum):
    TUMBLING = "tumbling"
    HOPPING = "hopping"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class WindowSpan(_Frozen):
    kind: WindowKind
    start_ms: int = Field(description="window start, epoch ms of capture time (inclusive)")
    end_ms: int = Field(description="window end, epoch ms of capture time (exclusive)")
    size_s: float = Field(gt=0, description="window length in seconds")


class LatencySummary(_Frozen):
    """Capture-to-result latency over the window; percentiles are null when count is 0."""

    count: int = Field(ge=0)
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    max: float | None = None


class ZoneWindow(_Frozen):
    """One zone's events over the window (capture time) and its occupancy at the window's end."""

    enters: int = Field(ge=0)
    leaves: int = Field(ge=0)
    dwells: int = Field(ge=0)
    occupancy: int = Field(ge=0, description="enters - leaves so far, never below 0, at the window's end")


class LineCrossings(_Frozen):
    """One line's crossings over the window, by direction (seen from the line's a towards b)."""

    left_to_right: int = Field(default=0, ge=0)
    right_to_left: int = Field(default=0, ge=0)


class WindowStats(_Frozen):
    """One closed window of one stream, as the aggregator publishes it on the stats topic."""

    schema_: Literal["framewire.stats/1"] = Field(default=STATS_SCHEMA, alias="schema")
    stream_id: str = Field(min_length=1)
    window: WindowSpan
    frames: int = Field(ge=0, description="results whose frame was captured in the window")
    fps: float = Field(ge=0)
    detections: dict[str, int] = Field(description="detections per label over the window")
    latency_ms: LatencySummary
    drops: dict[str, int] = Field(description="dropped frames by reason")
    drops_total: int = Field(ge=0)
    # Added without a schema change: messages without them read as no zone events.
    zones: dict[str, ZoneWindow] = Field(default_factory=dict, description="zone events per zone id")
    lines: dict[str, LineCrossings] = Field(default_factory=dict, description="crossings per line id")
    emitted_ms: int | None = Field(default=None, description="when the aggregator published it")

    # No return annotation: pydantic would make it the schema of the serialised message, and
    # the dashboard's API docs would lose every field.
    @model_serializer(mode="wrap")
    def _without_empty_zones(self, handler: SerializerFunctionWrapHandler):
        """``zones`` and ``lines`` are written only when not empty: a stream without zones
        keeps the message it had before they existed."""
        data: dict[str, Any] = handler(self)
        for name in ("zones", "lines"):
            if not data.get(name):
                data.pop(name, None)
        return data


class AlertMessage(_Frozen):
    """A rule started (``firing``) or stopped (``cleared``) firing for a stream."""

    schema_: Literal["framewire.alert/1"] = Field(default=ALERT_SCHEMA, alias="schema")
    alert_id: str = Field(description="<rule>/<stream id>")
    rule: str
    stream_id: str = Field(min_length=1)
    state: str = Field(description="firing or cleared")
    severity: str
    condition: str
    for_s: float
    value: float | None
    threshold: float | None = Field(description="null for silent rules")
    since_ms: int
    fired_ms: int
    at_ms: int
    reason: str = ""
    emitted_ms: int | None = None


def message_json(message: WindowStats | AlertMessage) -> dict[str, Any]:
    """The message as published: documented field names, ``emitted_ms`` only once set."""
    skip = {"emitted_ms"} if message.emitted_ms is None else None
    return message.model_dump(mode="json", by_alias=True, exclude=skip)
