"""What was observed in a run, and the figures of one phase computed from it (pure maths).

Frames, results and browser events are attributed to a phase by their *capture* time, so
a result arriving after the load stopped still counts for the phase that offered its
frame. Rates and percentiles use the measurement window (the phase minus its warm-up);
the frame accounting (sent = results + drops + unaccounted) uses the whole phase.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sent:
    """A frame that went onto a frames topic."""

    stream: str
    capture_ns: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Seen:
    """A result as a read_committed reader received it."""

    stream: str
    capture_ns: int
    recv_ns: int
    nbytes: int
    worker: str


@dataclass(frozen=True, slots=True)
class Shown:
    """A result event as an SSE client of the dashboard received it."""

    stream: str
    capture_ns: int
    recv_ns: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """Frames a service reported not processing (a DropRecord), or lost SSE events."""

    stream: str
    time_ns: int
    label: str  # "<service>:<reason>"
    count: int
    nbytes: int = 0


@dataclass(frozen=True)
class Window:
    """Wall-clock edges (ns) of a phase: load on, measuring from/to, load off, settled."""

    start_ns: int
    measure_from_ns: int
    measure_to_ns: int
    end_ns: int
    settled_ns: int

    @property
    def measure_s(self) -> float:
        return (self.measure_to_ns - self.measure_from_ns) / 1e9

    def measuring(self, t_ns: int) -> bool:
        return self.measure_from_ns <= t_ns < self.measure_to_ns

    def offered(self, t_ns: int) -> bool:
        return self.start_ns <= t_ns < self.end_ns


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "n": len(values)}


def jain(rates: Iterable[float]) -> float | None:
    """Jain's fairness index: 1 when every stream gets the same rate, 1/n when one gets all."""
    values = list(rates)
    total = sum(values)
    if not values or total <= 0:
        return None
    return total * total / (len(values) * sum(v * v for v in values))


@dataclass(frozen=True)
class Observed:
    """Everything recorded during one phase (possibly more: filtered by the window)."""

    sent: list[Sent]
    seen: list[Seen]
    shown: list[Shown]
    drops: list[Dropped]


def summarise(window: Window, streams: list[str], obs: Observed) -> dict[str, object]:
    """Rates, latencies, fairness, drops, accounting and bytes of one phase."""
    dur = window.measure_s
    sent_w = [s for s in obs.sent if window.measuring(s.capture_ns)]
    seen_w = [r for r in obs.seen if window.measuring(r.capture_ns)]
    per_stream = {s: sum(1 for r in seen_w if r.stream == s) / dur for s in streams}
    offered = {s: sum(1 for f in sent_w if f.stream == s) / dur for s in streams}
    return {
        "measure_s": dur,
        "offered_fps": len(sent_w) / dur,
        "throughput_fps": len(seen_w) / dur,
        "per_stream_offered_fps": offered,
        "per_stream_fps": per_stream,
        "fairness": jain(per_stream.values()),
        "latency_result_ms": percentiles([(r.recv_ns - r.capture_ns) / 1e6 for r in seen_w]),
        "latency_browser_ms": percentiles(
            [(e.recv_ns - e.capture_ns) / 1e6 for e in obs.shown if window.measuring(e.capture_ns)]
        ),
        "workers_seen": sorted({r.worker for r in seen_w}),
        **accounting(window, obs),
    }


def accounting(window: Window, obs: Observed) -> dict[str, object]:
    """Where every frame offered in the phase went, and bytes on Kafka per frame."""
    sent = [s for s in obs.sent if window.offered(s.capture_ns)]
    seen = [r for r in obs.seen if window.offered(r.capture_ns)]
    drops = [d for d in obs.drops if window.start_ns <= d.time_ns < window.settled_ns]
    by_label: Counter[str] = Counter()
    for d in drops:
        by_label[d.label] += d.count
    # Only frames that reached Kafka can be results or inference drops.
    inference_drops = sum(n for label, n in by_label.items() if label.startswith("inference:"))
    frame_bytes = sum(s.nbytes for s in sent)
    result_bytes = sum(r.nbytes for r in seen)
    drop_bytes = sum(d.nbytes for d in drops)
    return {
        "frames_on_kafka": len(sent),
        "results": len(seen),
        "drops": dict(sorted(by_label.items())),
        "unaccounted": len(sent) - len(seen) - inference_drops,
        "frame_bytes_mean": frame_bytes / len(sent) if sent else None,
        "result_bytes_mean": result_bytes / len(seen) if seen else None,
        "kafka_bytes_per_frame": (frame_bytes + result_bytes + drop_bytes) / len(sent) if sent else None,
    }
