"""Zones and lines for the tracking stage's tests: a stream spec carrying them, written to
the registry, and the events an uninterrupted in-process tracker and watcher give for the
synthetic results of ``support.tracker`` (the reference a stage run is compared with)."""

from __future__ import annotations

from confluent_kafka import Producer

from framewire.core.config import KafkaSettings
from framewire.core.kafka import producer_config
from framewire.core.zones import parse_lines, parse_zones
from framewire.core.zonewire import set_geometry
from framewire.tracker.tracking import StreamTracker, TrackerConfig
from framewire.tracker.zoneevents import ZoneWatcher, bottom_centre
from framewire.v1.stream_pb2 import StreamSpec
from framewire.v1.tracks_pb2 import ZoneEvent
from support.tracker import detections, result_of

# The left third of the image, and a vertical line at its edge that two walkers cross.
ZONES = [{"id": "left", "polygon": [[0.0, 0.0], [0.3, 0.0], [0.3, 1.0], [0.0, 1.0]], "dwell_s": 1.0}]
LINES = [{"id": "gate", "a": [0.3, 0.0], "b": [0.3, 1.0], "direction": "both"}]

# What identifies an event, whoever committed it and when.
EventKey = tuple[int, str, int, str, str]


def geometry() -> tuple[tuple, tuple]:
    return parse_zones(ZONES), parse_lines(LINES)


def register_zones(kafka: KafkaSettings, streams: list[str]) -> None:
    """A registry spec for each of ``streams`` with ``ZONES`` and ``LINES`` (flushed)."""
    producer = Producer(producer_config(kafka))
    for stream in streams:
        spec = StreamSpec(schema_version=1, stream_id=stream, source_uri="file:///dev/null",
                          enabled=False)
        set_geometry(spec, *geometry())
        producer.produce(kafka.topics.streams, spec.SerializeToString(), stream)
    producer.flush(30)


def key_of(event: ZoneEvent) -> EventKey:
    return (event.source_offset, ZoneEvent.Kind.Name(event.kind).lower(), event.track_id,
            event.zone_or_line, event.direction)


def reference_events(stream: str, frames: int, t0_ns: int) -> list[EventKey]:
    """The events of frames ``0..frames-1`` from one uninterrupted tracker and watcher, fed
    as the stage feeds them (every live track, matched this frame or not)."""
    tracker = StreamTracker(stream, TrackerConfig())
    watcher = ZoneWatcher(*geometry(), stream_id=stream)
    out: list[EventKey] = []
    for f in range(frames):
        result = result_of(stream, f, t0_ns)
        tracker.update([d for _, d in detections(f)], result.capture_time_ns)
        points = {t.track_id: bottom_centre(t.box) for t in tracker.tracks}
        for e in watcher.observe(result.capture_time_ns // 1_000_000, points):
            out.append((f, e.kind.value, e.track_id, e.zone_or_line, e.direction or ""))
    return out
