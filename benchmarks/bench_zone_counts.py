"""Line and zone counts on known truth: the tracking accuracy clip, counted.

The clip is the one of ``bench_tracking_accuracy.py`` (the cat left to right along the top,
the coffee cup right to left along the bottom). On it are drawn:
- ``middle``, a line down the middle counting both directions (each object crosses it once);
- ``east``, a line at x = 0.7 counting ``left_to_right`` only (the cat's way, not the cup's);
- ``lawn``, a four-sided zone across both paths with a dwell of 3 s (each object enters,
  stays about 4.5 s, and leaves before the clip ends).

TRUE counts come from the known paths: each object's point is the bottom-centre of its
known box (the point ``ZoneWatcher`` watches), tested frame by frame against the geometry.
Both lines span the whole picture height, so a change of side is a crossing; an enter or a
leave is a change of inside; a dwell is a visit lasting ``dwell_s`` or more.
MEASURED counts are the events of ``ZoneWatcher`` fed as the tracker stage feeds it: every
live track of ``StreamTracker`` (those unmatched in the frame too) after the real detector
(``ssd-mobilenet-v2-oidv4``, f32) has run on the frame. Each event is put to the object
whose label its track carries.

Usage: python benchmarks/bench_zone_counts.py [--frames 150]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
from bench_tracking_accuracy import (
    FPS,
    MODEL,
    H,
    Mover,
    W,
    background,
    capture_ns,
    clip_detector,
    frame_of,
    movers,
    truth,
    wanted,
)
from pipeline.machine import machine_facts

from framewire.core.zones import Line, LineDirection, Zone
from framewire.models.api import Detector
from framewire.tracker.tracking import StreamTracker
from framewire.tracker.zoneevents import ZoneWatcher, bottom_centre
from support.zones import Path, counted, true_counts

# Pointing up (a at the bottom), so a line's left side is the left of the picture.
MIDDLE = Line("middle", (0.5, 1.0), (0.5, 0.0), LineDirection.BOTH)
EAST = Line("east", (0.7, 1.0), (0.7, 0.0), LineDirection.LEFT_TO_RIGHT)
# Wide in y around both paths (the cat's point at y ~0.43, the cup's at ~0.79), so a
# detector box a little taller or shorter than the known one is still inside.
LAWN = Zone("lawn", ((0.30, 0.25), (0.62, 0.25), (0.58, 0.95), (0.34, 0.95)), dwell_s=3.0)
LINES = (MIDDLE, EAST)
ZONES = (LAWN,)

# (object name, what was counted), e.g. ("cat", "cross middle left_to_right").
Key = tuple[str, str]
Ids = dict[str, set[int]]  # object name -> the track ids its events came from


def capture_ms(frame: int) -> int:
    return capture_ns(frame) // 1_000_000


def known_paths(objects: list[Mover], frames: int) -> dict[str, Path]:
    """Each object's bottom-centre on its known box, per frame."""
    boxes = [truth(objects, f, frames) for f in range(frames)]
    return {m.name: [(capture_ms(f), bottom_centre(boxes[f][m.name])) for f in range(frames)]
            for m in objects}


def measured_counts(detector: Detector, objects: list[Mover], frames: int) -> tuple[Counter[Key], Ids]:
    """The watcher's counts per object, and the track ids each object's events came from."""
    tracker, watcher = StreamTracker("zones"), ZoneWatcher(ZONES, LINES, stream_id="zones")
    name_of = {m.label: m.name for m in objects}
    grass = background()
    labels: dict[int, str] = {}  # every track's label, kept after it ends for its last events
    counts: Counter[Key] = Counter()
    ids: Ids = {m.name: set() for m in objects}
    for f in range(frames):
        tracker.update(wanted(detector.detect(frame_of(grass, objects, f, frames)), objects), capture_ns(f))
        live = tracker.tracks  # unmatched tracks too, as the stage does: a flicker is no leave
        labels.update((t.track_id, t.label) for t in live)
        for event in watcher.observe(capture_ms(f), {t.track_id: bottom_centre(t.box) for t in live}):
            name = name_of.get(labels[event.track_id], labels[event.track_id])
            counts[(name, counted(event))] += 1
            ids.setdefault(name, set()).add(event.track_id)
    return counts, ids


def report(true: Counter[Key], measured: Counter[Key], ids: Ids, frames: int) -> bool:
    facts = machine_facts()
    out = sys.stdout.write
    out(f"machine   {facts['cpu_model']}, flags {facts['cpu_flags']}\n")
    out(f"clip      {frames} frames {W}x{H} @ {FPS} fps, model {MODEL} (f32)\n")
    out(f"geometry  {describe(LINES, ZONES)}\n")
    out(f"{'object':<9} {'count':<28} {'true':>5} {'measured':>9}\n")
    keys = sorted(true.keys() | measured.keys())
    for name, what in keys:
        mark = "" if true[(name, what)] == measured[(name, what)] else "   <- differs"
        out(f"{name:<9} {what:<28} {true[(name, what)]:>5} {measured[(name, what)]:>9}{mark}\n")
    out("track ids " + ", ".join(f"{n} {sorted(i)}" for n, i in sorted(ids.items())) + "\n")
    exact = all(true[k] == measured[k] for k in keys)
    differing = sum(true[k] != measured[k] for k in keys)
    out(f"exact     {'yes' if exact else 'no'}: {len(keys) - differing} of {len(keys)} counts equal\n")
    return exact


def describe(lines: Sequence[Line], zones: Sequence[Zone]) -> str:
    parts = [f"line {ln.id} x={ln.a[0]} {ln.direction.value}" for ln in lines]
    parts += [f"zone {z.id} {[list(p) for p in z.polygon]} dwell {z.dwell_s} s" for z in zones]
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="clip length (default 150 = 10 s)")
    args = parser.parse_args()
    objects = movers()
    true = true_counts(known_paths(objects, args.frames), LINES, ZONES)
    measured, ids = measured_counts(clip_detector(), objects, args.frames)
    report(true, measured, ids, args.frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
