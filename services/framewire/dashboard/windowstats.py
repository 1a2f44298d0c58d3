"""Aggregator window statistics as the dashboard keeps and serves them.

The aggregator publishes one ``framewire.stats/1`` JSON message per closed window on the
stats topic (docs/stats-format.md). Tumbling (10 s) and hopping (1 min) windows alternate
under the same key, the stream id, so the newest window is kept per (stream, kind): keeping
the newest per key would show only whichever kind came last. The models below validate
incoming records and document the API's answers; the message itself is defined in
``framewire.core.statsformat``, shared with the aggregator. No Kafka, no web framework here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from framewire.core.statsformat import STATS_SCHEMA, WindowKind, WindowStats

__all__ = ["AllWindows", "StatsOutcome", "StreamWindows", "WindowBoard", "WindowStats", "stats_json"]


class StatsOutcome(StrEnum):
    """What became of one stats record (a metric label: nothing is dropped uncounted)."""

    STORED = "stored"
    # An older window than the one shown (a republished duplicate): the newer one stays.
    SUPERSEDED = "superseded"
    # JSON that is not a stats message (another schema, a preview of binary data).
    NOT_STATS = "not_stats"
    # Claims the stats schema but breaks it; logged with its coordinates.
    INVALID = "invalid"
    # The stream was deleted through the API; its last windows are not news.
    DELETED_STREAM = "deleted_stream"
    # More streams than the board keeps; the new stream's windows are not kept.
    OVER_LIMIT = "over_limit"


class StreamWindows(BaseModel):
    """The newest tumbling and hopping window of one stream (null until one arrived)."""

    stream_id: str
    tumbling: WindowStats | None = None
    hopping: WindowStats | None = None


class AllWindows(BaseModel):
    """The newest windows of every stream, keyed by stream id (the aggregator's /stats/ shape)."""

    streams: dict[str, StreamWindows]


def stats_json(stats: WindowStats) -> dict[str, Any]:
    """The stored window as JSON for events and responses (the documented field names)."""
    return stats.model_dump(mode="json", by_alias=True)


class WindowBoard:
    """Newest window per (stream, kind). Called on the event loop only; bounded by streams."""

    def __init__(self, max_streams: int = 1000) -> None:
        self._max_streams = max_streams
        self._windows: dict[str, dict[WindowKind, WindowStats]] = {}

    @staticmethod
    def parse(key: str | None, value: Any) -> WindowStats | None:
        """A stats message, or None when ``value`` is not one; ValueError when it is broken."""
        if not isinstance(value, dict) or value.get("schema") != STATS_SCHEMA:
            return None
        try:
            stats = WindowStats.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"invalid {STATS_SCHEMA} message: {problems}") from None
        if key is not None and key != stats.stream_id:
            raise ValueError(f"key {key!r} and stream_id {stats.stream_id!r} disagree")
        return stats

    def offer(self, stats: WindowStats) -> StatsOutcome:
        """Keep ``stats`` unless a newer window of its kind is already kept."""
        kinds = self._windows.get(stats.stream_id)
        if kinds is None:
            if len(self._windows) >= self._max_streams:
                return StatsOutcome.OVER_LIMIT
            kinds = self._windows[stats.stream_id] = {}
        kept = kinds.get(stats.window.kind)
        # Same start: the later message wins (the documented rule for republished windows).
        if kept is not None and kept.window.start_ms > stats.window.start_ms:
            return StatsOutcome.SUPERSEDED
        kinds[stats.window.kind] = stats
        return StatsOutcome.STORED

    def forget(self, stream_id: str) -> None:
        self._windows.pop(stream_id, None)

    def streams(self) -> list[str]:
        return sorted(self._windows)

    def windows_of(self, stream_id: str) -> StreamWindows:
        kinds = self._windows.get(stream_id, {})
        return StreamWindows(stream_id=stream_id, tumbling=kinds.get(WindowKind.TUMBLING),
                             hopping=kinds.get(WindowKind.HOPPING))

    def for_stream(self, stream_id: str) -> dict[str, Any]:
        """``{"tumbling": stats|None, "hopping": stats|None}`` as JSON (stream views)."""
        kinds = self._windows.get(stream_id, {})
        return {k.value: stats_json(kinds[k]) if k in kinds else None for k in WindowKind}

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self._windows
