"""Window statistics as published on the stats topic (format: docs/stats-format.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framewire.aggregator.windows import Pane
from framewire.aggregator.zonecounts import ZoneCounts
from framewire.core import statsformat
from framewire.core.statsformat import STATS_SCHEMA, WindowKind

__all__ = ["PERCENTILES", "STATS_SCHEMA", "WindowKind", "WindowStats"]

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class WindowStats:
    """Everything measured on one stream over one window ``[start_ms, end_ms)``."""

    stream_id: str
    kind: WindowKind
    start_ms: int
    end_ms: int
    totals: Pane
    # Occupancy per zone at ``end_ms`` (zones at 0 omitted): a gauge, not a sum over panes.
    occupancy: Mapping[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Results per second over the whole window (a silent stretch counts as zero)."""
        return self.totals.frames * 1000.0 / (self.end_ms - self.start_ms)

    def latency_ms(self, q: float) -> float | None:
        value = self.totals.latency.quantile(q)
        return None if value is None else value * 1000.0

    @property
    def drops_total(self) -> int:
        return sum(self.totals.drops.values())

    def to_json(self, emitted_ms: int | None = None) -> dict[str, Any]:
        """The documented stats message; ``emitted_ms`` is set when it is published."""
        latency = self.totals.latency
        message = statsformat.WindowStats(
            stream_id=self.stream_id,
            window=statsformat.WindowSpan(kind=self.kind, start_ms=self.start_ms,
                                          end_ms=self.end_ms,
                                          size_s=(self.end_ms - self.start_ms) / 1000.0),
            frames=self.totals.frames,
            fps=round(self.fps, 3),
            detections=dict(sorted(self.totals.detections.items())),
            latency_ms=statsformat.LatencySummary(
                count=latency.count,
                **{name: _ms(self.latency_ms(q)) for name, q in PERCENTILES},
                mean=_ms(None if latency.mean_s is None else latency.mean_s * 1000.0),
                max=_ms(latency.max_s * 1000.0 if latency.count else None),
            ),
            drops=dict(sorted(self.totals.drops.items())),
            drops_total=self.drops_total,
            zones=self._zones_json(),
            lines={line: statsformat.LineCrossings(**by_direction)
                   for line, by_direction in sorted(self.totals.zones.lines.items())},
            emitted_ms=emitted_ms,
        )
        return statsformat.message_json(message)

    def _zones_json(self) -> dict[str, statsformat.ZoneWindow]:
        """Zones with events in the window or somebody in them at its end."""
        counted = self.totals.zones.zones
        out = {}
        for zone in sorted({*counted, *self.occupancy}):
            counts = counted.get(zone, ZoneCounts())
            out[zone] = statsformat.ZoneWindow(enters=counts.enters, leaves=counts.leaves,
                                               dwells=counts.dwells,
                                               occupancy=self.occupancy.get(zone, 0))
        return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
