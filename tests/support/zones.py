"""Zones and lines for the tracking stage's tests: a stream spec carrying them, written to
the registry, and the events an uninterrupted in-process tracker and watcher give for the
synthetic results of ``support.tracker`` (the reference a stage run is compared with)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby, pairwise

from confluent_kafka import Producer

from framewire.core.config import KafkaSettings
from framewire.core.kafka import producer_config
from framewire.core.zones import (
    Line,
    LineDirection,
    Point,
    Zone,
    contains,
    parse_lines,
    parse_zones,
    side,
)
from framewire.core.zonewire import set_geometry
from framewire.tracker.tracking import StreamTracker, TrackerConfig
from framewire.tracker.zoneevents import ZoneEvent as ZoneEventRecord
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


# -- the counting oracle: what a perfect tracker and watcher count on known paths -------

Path = list[tuple[int, Point]]  # (capture ms, bottom-centre) per frame


def true_crossings(line: Line, path: Path) -> Iterator[str]:
    """A crossing per change of side along the path (the test lines span the picture);
    points exactly on the line are skipped: a crossing is between the sides either way."""
    sides = [s for s in ((side(line, p) > 0) - (side(line, p) < 0) for _, p in path) if s]
    for before, after in pairwise(sides):
        direction = LineDirection.LEFT_TO_RIGHT if after > 0 else LineDirection.RIGHT_TO_LEFT
        if before != after and line.direction in (LineDirection.BOTH, direction):
            yield f"cross {line.id} {direction.value}"


def true_visits(zone: Zone, path: Path) -> Iterator[str]:
    """Enter, leave and dwell of each run of frames inside the zone; a visit still open at
    the last frame has not left."""
    for inside, run in groupby(range(len(path)), key=lambda k: contains(zone, path[k][1])):
        if inside:
            frames = list(run)
            yield f"enter {zone.id}"
            if frames[-1] < len(path) - 1:
                yield f"leave {zone.id}"
            stayed_ms = path[frames[-1]][0] - path[frames[0]][0]
            if zone.dwell_s is not None and stayed_ms / 1000 >= zone.dwell_s:
                yield f"dwell {zone.id}"


def true_counts(paths: Mapping[str, Path], lines: Sequence[Line],
                zones: Sequence[Zone]) -> Counter[tuple[str, str]]:
    """(object, what) counts of known paths, named as ``counted`` names an event."""
    counts: Counter[tuple[str, str]] = Counter()
    for name, path in paths.items():
        for line in lines:
            counts.update((name, what) for what in true_crossings(line, path))
        for zone in zones:
            counts.update((name, what) for what in true_visits(zone, path))
    return counts


def counted(event: ZoneEventRecord) -> str:
    """The name an event is counted under, e.g. "cross middle left_to_right"."""
    return " ".join(filter(None, (event.kind.value, event.zone_or_line, event.direction)))
