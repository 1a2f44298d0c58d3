"""Per-stream progress: event-time watermark, which windows are due, what may be deleted.

A window is closed once the stream's watermark passes its end. While results arrive the
watermark follows event time (greatest capture time seen minus a grace period), so a
replayed backlog produces the same windows as live traffic. When a stream goes idle the
wall clock takes over, so its last windows still close and report zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from framewire.aggregator.windows import WindowLayout


@dataclass(frozen=True)
class Timing:
    """How long to wait for stragglers, when a stream counts as idle, and when forgotten."""

    grace_ms: int = 2000
    idle_s: float = 5.0
    forget_s: float = 3600.0
    max_skew_ms: int = 300_000


@dataclass(frozen=True)
class StreamProgress:
    """What the aggregator knows about one stream's position in time."""

    max_event_ms: int  # greatest capture time of a result (or first drop) seen
    last_arrival_s: float  # wall clock of the last result (or of first sight)
    last_result_s: float  # same, kept apart for silence rules
    emitted_until_ms: int  # end of the last window published
    oldest_pane_ms: int  # start of the oldest pane that may still be stored
    has_results: bool = True  # False while only drop records were seen

    @classmethod
    def first(
        cls, event_ms: int, now_s: float, layout: WindowLayout, has_results: bool = True
    ) -> StreamProgress:
        """Progress of a stream seen for the first time at event time ``event_ms``."""
        start = layout.pane_start(event_ms)
        return cls(event_ms, now_s, now_s, start, start, has_results)

    def restarted_by_result(self, event_ms: int, now_s: float, layout: WindowLayout) -> StreamProgress:
        """Progress once the first result of a stream known only from drops arrives: time
        starts from the result (drops may have been read far ahead of it)."""
        fresh = StreamProgress.first(event_ms, now_s, layout)
        return replace(fresh, oldest_pane_ms=min(self.oldest_pane_ms, fresh.oldest_pane_ms))

    def newest_pane_ms(self, layout: WindowLayout) -> int:
        return layout.pane_start(self.max_event_ms)

    def emission_limit_ms(self, layout: WindowLayout) -> int:
        """Past this end every window is empty: one zero window is published, then none."""
        return self.newest_pane_ms(layout) + layout.hop_size_ms + layout.hop_step_ms

    def is_idle(self, now_s: float, timing: Timing, awake_since_s: float = 0.0) -> bool:
        """No result for ``idle_s``, counting only time this process has been running
        (after a restart the backlog is still on its way)."""
        return now_s - max(self.last_arrival_s, awake_since_s) >= timing.idle_s

    def watermark_ms(self, now_s: float, timing: Timing, awake_since_s: float = 0.0) -> int:
        if self.is_idle(now_s, timing, awake_since_s):
            return max(self.max_event_ms, int(now_s * 1000)) - timing.grace_ms
        return self.max_event_ms - timing.grace_ms

    def is_late(self, event_ms: int, layout: WindowLayout) -> bool:
        """True when the pane of ``event_ms`` may already have been deleted."""
        return layout.pane_start(event_ms) < self.emitted_until_ms - layout.horizon_ms

    def observed(self, event_ms: int, now_s: float, layout: WindowLayout) -> StreamProgress:
        """Progress after a result captured at ``event_ms`` arrived at ``now_s``.

        Drop records do not move progress: they come from another topic, which during a
        catch-up can be read far ahead of the results, and would make them look late.
        """
        emitted = self.emitted_until_ms
        if emitted >= self.emission_limit_ms(layout) and layout.pane_start(event_ms) > emitted:
            # The stream came back after a gap: skip the empty windows in between.
            emitted = layout.pane_start(event_ms)
        return replace(
            self,
            max_event_ms=max(self.max_event_ms, event_ms),
            last_arrival_s=now_s,
            last_result_s=now_s,
            emitted_until_ms=emitted,
        )

    def due_ends(
        self, now_s: float, layout: WindowLayout, timing: Timing, awake_since_s: float = 0.0
    ) -> range:
        """Ends of the tumbling windows to publish now, oldest first."""
        watermark = self.watermark_ms(now_s, timing, awake_since_s)
        upto = min(watermark, self.emission_limit_ms(layout))
        return range(self.emitted_until_ms + layout.pane_ms, upto + 1, layout.pane_ms)

    def expired_panes(self, layout: WindowLayout) -> range:
        """Starts of stored panes no future window needs."""
        cutoff = min(self.emitted_until_ms - layout.horizon_ms, self.newest_pane_ms(layout) + layout.pane_ms)
        return range(self.oldest_pane_ms, cutoff, layout.pane_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_event_ms": self.max_event_ms,
            "last_arrival_s": self.last_arrival_s,
            "last_result_s": self.last_result_s,
            "emitted_until_ms": self.emitted_until_ms,
            "oldest_pane_ms": self.oldest_pane_ms,
            "has_results": self.has_results,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamProgress:
        return cls(
            int(data["max_event_ms"]),
            float(data["last_arrival_s"]),
            float(data["last_result_s"]),
            int(data["emitted_until_ms"]),
            int(data["oldest_pane_ms"]),
            bool(data.get("has_results", True)),
        )
