"""Window layout and the per-stream pane, the unit of stored state.

Every window is built from *panes*: tumbling windows of ``pane_ms`` aligned to the Unix
epoch. A tumbling window is one pane; a hopping window of ``hop_size_ms`` advancing by
``hop_step_ms`` is the merge of the ``hop_size_ms / pane_ms`` panes it covers. Storing
panes only keeps one write per result whatever the number of overlapping windows.
All boundaries are integer milliseconds so keys and comparisons are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from framewire.aggregator.sketch import LatencySketch
from framewire.aggregator.zonecounts import ZoneTally
from framewire.core.errors import ConfigError


@dataclass(frozen=True)
class WindowLayout:
    """Tumbling pane size and hopping window size and step, in milliseconds."""

    pane_ms: int = 10_000
    hop_size_ms: int = 60_000
    hop_step_ms: int = 10_000

    def __post_init__(self) -> None:
        if self.pane_ms <= 0:
            raise ConfigError(f"tumbling window must be positive, got {self.pane_ms} ms")
        for name, value in (("hopping size", self.hop_size_ms), ("hopping step", self.hop_step_ms)):
            if value <= 0 or value % self.pane_ms:
                raise ConfigError(
                    f"{name} ({value} ms) must be a positive multiple of the tumbling window "
                    f"({self.pane_ms} ms)"
                )
        if self.hop_size_ms < self.hop_step_ms:
            raise ConfigError(
                f"hopping size ({self.hop_size_ms} ms) must be at least its step ({self.hop_step_ms} ms)"
            )

    def pane_start(self, t_ms: int) -> int:
        """Start of the pane holding instant ``t_ms``."""
        return t_ms - t_ms % self.pane_ms

    def hop_panes(self, end_ms: int) -> range:
        """Starts of the panes making the hopping window that ends at ``end_ms``."""
        return range(end_ms - self.hop_size_ms, end_ms, self.pane_ms)

    def is_hop_end(self, end_ms: int) -> bool:
        return end_ms % self.hop_step_ms == 0

    @property
    def horizon_ms(self) -> int:
        """How far behind the watermark a pane is still needed (one hopping window)."""
        return self.hop_size_ms


@dataclass(frozen=True)
class Pane:
    """What happened on one stream during one pane: results, detections, latency, drops,
    zone and line events."""

    start_ms: int
    frames: int = 0
    detections: Mapping[str, int] = field(default_factory=dict)
    latency: LatencySketch = field(default_factory=LatencySketch)
    drops: Mapping[str, int] = field(default_factory=dict)
    zones: ZoneTally = field(default_factory=ZoneTally)

    def with_result(self, counts: Mapping[str, int], latency_s: float) -> Pane:
        """This pane plus one result with ``counts`` detections per label."""
        return replace(
            self,
            frames=self.frames + 1,
            detections=_add_counts(self.detections, counts),
            latency=self.latency.add(latency_s),
        )

    def with_drop(self, reason: str, count: int) -> Pane:
        """This pane plus ``count`` frames dropped for ``reason``."""
        return replace(self, drops=_add_counts(self.drops, {reason: count}))

    def merge(self, other: Pane) -> Pane:
        return Pane(
            min(self.start_ms, other.start_ms),
            self.frames + other.frames,
            _add_counts(self.detections, other.detections),
            self.latency.merge(other.latency),
            _add_counts(self.drops, other.drops),
            self.zones.merge(other.zones),
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "start": self.start_ms,
            "frames": self.frames,
            "det": dict(self.detections),
            "lat": self.latency.to_dict(),
            "drops": dict(self.drops),
        }
        # Most streams have no zones: their panes stay as they were.
        return {**out, "zones": self.zones.to_dict()} if self.zones else out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pane:
        return cls(
            int(data["start"]),
            int(data.get("frames", 0)),
            {str(k): int(v) for k, v in data.get("det", {}).items()},
            LatencySketch.from_dict(data.get("lat", {})),
            {str(k): int(v) for k, v in data.get("drops", {}).items()},
            ZoneTally.from_dict(data.get("zones", {})),
        )


def merge_panes(start_ms: int, panes: Iterable[Pane]) -> Pane:
    """One pane summing ``panes``, starting at ``start_ms`` even when none are given."""
    merged = Pane(start_ms)
    for pane in panes:
        merged = merged.merge(pane)
    return replace(merged, start_ms=start_ms)


def _add_counts(base: Mapping[str, int], extra: Mapping[str, int]) -> dict[str, int]:
    out = dict(base)
    for key, n in extra.items():
        if n:
            out[key] = out.get(key, 0) + n
    return out
