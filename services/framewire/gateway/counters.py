"""Per-stream counts: Prometheus metrics for ``/metrics`` and figures for stream status.

Updated from a stream's reader and encoder threads and from the producer's delivery
callbacks, hence the lock. Drop reasons are an explicit Enum mapped to DropRecord's.
"""

from __future__ import annotations

import contextlib
import threading
from enum import Enum
from functools import partial

from prometheus_client import Counter, Histogram

from framewire.core.metrics import LATENCY_BUCKETS, metric_name
from framewire.v1.ops_pb2 import DropRecord


class DropReason(Enum):
    """Why the gateway did not publish a frame it read."""

    SOURCE_OVERRUN = DropRecord.REASON_SOURCE_OVERRUN  # encoder behind: oldest frame dropped
    BACKPRESSURE = DropRecord.REASON_BACKPRESSURE  # producer queue full (broker slow or down)
    DELIVERY_FAILED = DropRecord.REASON_DELIVERY_FAILED  # not acknowledged before the timeout
    CORRUPT_INPUT = DropRecord.REASON_CORRUPT_INPUT  # undecodable frame or image

    @property
    def label(self) -> str:
        return self.name.lower()


_name = partial(metric_name, "gateway")
FRAMES_READ = Counter(_name("frames_read"), "Frames read from sources", ["stream"])
FRAMES_PUBLISHED = Counter(_name("frames_published"), "Frames acknowledged by Kafka", ["stream"])
FRAMES_DROPPED = Counter(_name("frames_dropped"), "Frames read but not published", ["stream", "reason"])
BYTES_PUBLISHED = Counter(_name("bytes_published"), "JPEG bytes acknowledged by Kafka", ["stream"])
RECONNECTS = Counter(_name("reconnects"), "Source reconnect attempts", ["stream"])
ENCODE_SECONDS = Histogram(_name("encode_seconds"), "Resize + JPEG encode time per frame", ["stream"],
                           buckets=LATENCY_BUCKETS)


class StreamCounters:
    """Running totals for one stream; the metrics' children are bound once."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self._lock = threading.Lock()
        self.read = 0
        self.published = 0
        self.bytes = 0
        self.reconnects = 0
        self.dropped: dict[DropReason, int] = dict.fromkeys(DropReason, 0)
        self._unreported: dict[DropReason, int] = dict.fromkeys(DropReason, 0)
        self._read_metric = FRAMES_READ.labels(stream_id)
        self._published_metric = FRAMES_PUBLISHED.labels(stream_id)
        self._bytes_metric = BYTES_PUBLISHED.labels(stream_id)
        self._reconnect_metric = RECONNECTS.labels(stream_id)
        self.encode_seconds = ENCODE_SECONDS.labels(stream_id)
        for reason in DropReason:  # present from the start, so rates work from zero
            FRAMES_DROPPED.labels(stream_id, reason.label)

    def frame_read(self) -> None:
        with self._lock:
            self.read += 1
        self._read_metric.inc()

    def frame_published(self, size: int) -> None:
        """Called from the producer's delivery callback."""
        with self._lock:
            self.published += 1
            self.bytes += size
        self._published_metric.inc()
        self._bytes_metric.inc(size)

    def frames_dropped(self, reason: DropReason, count: int = 1) -> None:
        if count <= 0:
            return
        with self._lock:
            self.dropped[reason] += count
            self._unreported[reason] += count
        FRAMES_DROPPED.labels(self.stream_id, reason.label).inc(count)

    def reconnected(self) -> None:
        with self._lock:
            self.reconnects += 1
        self._reconnect_metric.inc()

    @property
    def total_dropped(self) -> int:
        with self._lock:
            return sum(self.dropped.values())

    def take_unreported_drops(self) -> dict[DropReason, int]:
        """Drops not yet sent as DropRecords; the caller gives back what it could not send."""
        with self._lock:
            taken = {r: n for r, n in self._unreported.items() if n}
            self._unreported = dict.fromkeys(DropReason, 0)
        return taken

    def give_back_drops(self, drops: dict[DropReason, int]) -> None:
        with self._lock:
            for reason, count in drops.items():
                self._unreported[reason] += count

    def forget_metrics(self) -> None:
        """Remove this stream's labelled series; called when the stream is deleted."""
        for metric in (FRAMES_READ, FRAMES_PUBLISHED, BYTES_PUBLISHED, RECONNECTS, ENCODE_SECONDS):
            _remove(metric, self.stream_id)
        for reason in DropReason:
            _remove(FRAMES_DROPPED, self.stream_id, reason.label)


def _remove(metric: Counter | Histogram, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
