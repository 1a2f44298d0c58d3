"""Line and zone counts of tracked boxes equal the counts of the objects' known paths.

Synthetic detections follow known straight paths through ``StreamTracker``; its live tracks
(unmatched ones too, as the tracker stage gives them) go to ``ZoneWatcher`` by their
bottom-centre. Boxes flicker (missed frames, scores dipping into the low band) and jitter
near the line and the zone's edges, the case where a line counter comparing two frames
miscounts (supervision pull request #1540). The truth is computed from the paths alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from framewire.core.records import Box, Detection
from framewire.core.zones import Line, LineDirection, Point, Zone
from framewire.tracker.tracking import StreamTracker
from framewire.tracker.zoneevents import ZoneWatcher, bottom_centre
from support.zones import counted, true_counts

pytestmark = pytest.mark.unit

FRAMES = 60
FRAME_MS = 100  # 10 fps
# Pointing up (a at the bottom), so the left side is the left of the picture.
MIDDLE = Line("middle", (0.5, 1.0), (0.5, 0.0))
EAST = Line("east", (0.7, 1.0), (0.7, 0.0), LineDirection.LEFT_TO_RIGHT)
LAWN = Zone("lawn", ((0.30, 0.25), (0.62, 0.25), (0.58, 0.95), (0.34, 0.95)), dwell_s=1.5)
LINES, ZONES = (MIDDLE, EAST), (LAWN,)

# What a box does in one frame: (dx, dy) added to its bottom-centre, and its score, or
# None when the detector missed it.
Seen = tuple[float, float, float] | None
Noise = Callable[[int], Seen]


@dataclass(frozen=True)
class Walker:
    """An object whose bottom-centre goes in a straight line from ``start`` to ``end``."""

    label: str
    class_id: int
    start: Point
    end: Point
    width: float = 0.08
    height: float = 0.12

    def point(self, frame: int) -> Point:
        t = frame / (FRAMES - 1)
        (x0, y0), (x1, y1) = self.start, self.end
        return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t

    def detection(self, frame: int, seen: Seen) -> Detection | None:
        if seen is None:
            return None
        dx, dy, score = seen
        x, y = self.point(frame)
        x, y = x + dx, y + dy
        box = Box(x - self.width / 2, y - self.height, x + self.width / 2, y)
        return Detection(self.class_id, self.label, score, box)


# The cat goes right along the top, the cup left along the bottom, as in the clip.
CAT = Walker("cat", 1, (0.18, 0.43), (0.80, 0.43))
CUP = Walker("cup", 2, (0.83, 0.79), (0.17, 0.79))
WALKERS = (CAT, CUP)


def steady(frame: int) -> Seen:
    return 0.0, 0.0, 0.9


def expected_counts(walkers: tuple[Walker, ...]) -> Counter[tuple[str, str]]:
    """Counts of the known paths."""
    paths = {w.label: [(k * FRAME_MS, w.point(k)) for k in range(FRAMES)] for w in walkers}
    return true_counts(paths, LINES, ZONES)


def measured_counts(noises: dict[str, Noise]) -> Counter[tuple[str, str]]:
    """Counts of the watcher fed with the tracker's live tracks, frame by frame."""
    tracker, watcher = StreamTracker("cam"), ZoneWatcher(ZONES, LINES)
    labels: dict[int, str] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for k in range(FRAMES):
        found = [w.detection(k, noises.get(w.label, steady)(k)) for w in WALKERS]
        tracker.update([d for d in found if d is not None], (k + 1) * FRAME_MS * 1_000_000)
        labels.update((t.track_id, t.label) for t in tracker.tracks)
        points = {t.track_id: bottom_centre(t.box) for t in tracker.tracks}
        counts.update((labels[e.track_id], counted(e)) for e in watcher.observe(k * FRAME_MS, points))
    return counts


def frames_near(walker: Walker, xs: tuple[float, ...], within: float) -> set[int]:
    """The frames whose known point is within ``within`` of one of the verticals ``xs``."""
    return {k for k in range(FRAMES) for x in xs if abs(walker.point(k)[0] - x) <= within}


def test_the_truth_has_every_kind_of_count() -> None:
    # Given the two known paths
    # When they are counted
    truth = expected_counts(WALKERS)
    # Then each crosses the middle its own way, only the cat the one-way line, and both
    # enter, dwell in and leave the lawn
    assert truth == Counter({
        ("cat", "cross middle left_to_right"): 1, ("cat", "cross east left_to_right"): 1,
        ("cat", "enter lawn"): 1, ("cat", "dwell lawn"): 1, ("cat", "leave lawn"): 1,
        ("cup", "cross middle right_to_left"): 1,
        ("cup", "enter lawn"): 1, ("cup", "dwell lawn"): 1, ("cup", "leave lawn"): 1,
    })


def test_steady_boxes_count_exactly() -> None:
    # Given boxes on the known paths in every frame
    # When they are tracked and watched
    counts = measured_counts({})
    # Then the counts are the truth
    assert counts == expected_counts(WALKERS)


def test_boxes_missing_around_the_line_and_the_zone_edges_count_exactly() -> None:
    # Given boxes missed for 1 to 4 frames in a row, among them the frames where each
    # object passes the middle line, the one-way line and the zone's edges on its row
    gaps = {5, 11, 12, 19, 20, 21, 36, 44, 45, 46, 52}
    cat_gaps = gaps | frames_near(CAT, (0.31, 0.5, 0.61, 0.7), 0.012)
    cup_gaps = gaps | frames_near(CUP, (0.33, 0.5, 0.59, 0.7), 0.012)

    def missed_in(frames: set[int]) -> Noise:
        return lambda k: None if k in frames else (0.0, 0.0, 0.9)

    # When they are tracked and watched
    counts = measured_counts({"cat": missed_in(cat_gaps), "cup": missed_in(cup_gaps)})
    # Then the counts are the truth: a missed box neither leaves nor crosses twice
    assert counts == expected_counts(WALKERS)


def test_scores_dipping_into_the_low_band_count_exactly() -> None:
    # Given boxes whose score drops to 0.3 (only the tracker's second pass takes them)
    # every third frame, and which are missed outright every seventh
    def dipping(k: int) -> Seen:
        if k % 7 == 3:
            return None
        return 0.0, 0.0, 0.3 if k % 3 == 0 else 0.9

    # When they are tracked and watched
    counts = measured_counts({"cat": dipping, "cup": dipping})
    # Then the counts are the truth
    assert counts == expected_counts(WALKERS)


def test_jitter_near_the_line_that_keeps_the_object_going_one_way_counts_exactly() -> None:
    # Given boxes that jitter by up to 40 % of a step (about 0.004) across their path and
    # along it, and in height, near the middle line; one lands exactly on the line
    step = (CAT.end[0] - CAT.start[0]) / (FRAMES - 1)
    pattern = (0.4, -0.4, 0.2, -0.3, 0.1)

    def jitter(k: int) -> Seen:
        dx = pattern[k % len(pattern)] * step
        dy = pattern[(k + 2) % len(pattern)] * 0.02
        return dx, dy, 0.9

    # The last frame left of the line: moved onto it, the path still goes one way.
    on_line = max(k for k in range(FRAMES) if CAT.point(k)[0] < 0.5)

    def on_the_line_once(k: int) -> Seen:
        if k == on_line:
            return 0.5 - CAT.point(k)[0], 0.0, 0.9
        return jitter(k)

    # When they are tracked and watched
    counts = measured_counts({"cat": on_the_line_once, "cup": jitter})
    # Then the counts are the truth
    assert counts == expected_counts(WALKERS)
