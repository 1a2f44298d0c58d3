"""Tracking accuracy on known truth: a clip made from the bundled photos whose objects'
paths are known, run through the real detector and the tracker.

The clip (640x480, 15 fps): the photo of the cat and the photo of the coffee cup, each
scaled down to a cut-out, move across a background made from another photo (the grass, in grey),
the cat left to right and the cup right to left, so they cross in the middle. Every frame
goes through ``ssd-mobilenet-v2-oidv4`` (f32) and ``StreamTracker``. Against the known
boxes (a track matches an object at IoU >= 0.5, one to one per frame) it prints, per
object and in all:
- detections missed (false negatives) and extra tracks (false positives);
- id switches: a matched object whose track id differs from its previous one;
- MOTA = 1 - (FN + FP + IDSW) / GT, and the number of distinct ids per object.

Usage: python benchmarks/bench_tracking_accuracy.py [--frames 150]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import cv2
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np
import skimage.data
from pipeline.machine import machine_facts
from scipy.optimize import linear_sum_assignment

from framewire.core.records import Box, Detection
from framewire.models.api import Detector
from framewire.models.loader import load_detector
from framewire.tracker.tracking import StreamTracker, TrackedObject
from support.models import EXPECTED_REGIONS, photo_bgr

W, H, FPS = 640, 480, 15
FRAME_NS = 1_000_000_000 // FPS
MODEL = "ssd-mobilenet-v2-oidv4"


@dataclass(frozen=True)
class Mover:
    name: str
    label: str
    cutout: np.ndarray
    x0: float  # left edge at frame 0, pixels
    x1: float  # left edge at the last frame
    y: int
    # Where the object is inside its photo (support.models.EXPECTED_REGIONS).
    region: Box

    def box(self, frame: int, frames: int) -> tuple[int, int, int, int]:
        h, w = self.cutout.shape[:2]
        x = round(self.x0 + (self.x1 - self.x0) * frame / max(1, frames - 1))
        return x, self.y, x + w, self.y + h


def movers() -> list[Mover]:
    cat = cv2.resize(photo_bgr("chelsea"), (220, 146), interpolation=cv2.INTER_AREA)
    cup = cv2.resize(photo_bgr("coffee"), (200, 133), interpolation=cv2.INTER_AREA)
    return [Mover("cat", "Cat", cat, 10, W - 230, 60, EXPECTED_REGIONS["chelsea"]["Cat"]),
            Mover("cup", "Coffee cup", cup, W - 210, 10, 280, EXPECTED_REGIONS["coffee"]["Coffee cup"])]


def background() -> np.ndarray:
    """The grass photo in grey at the clip's size: texture for the detector, no objects."""
    grass = np.ascontiguousarray(np.stack([skimage.data.grass()] * 3, axis=-1))
    return cv2.resize(grass, (W, H), interpolation=cv2.INTER_AREA)


def clip_detector() -> Detector:
    return load_detector(MODEL, performance_hint="LATENCY")


def capture_ns(frame: int) -> int:
    """Capture time of a frame; starts one frame in, since the tracker ignores times <= 0."""
    return (frame + 1) * FRAME_NS


def wanted(found: list[Detection], objects: list[Mover]) -> list[Detection]:
    """The detections of the clip's objects' classes; other classes are not scored."""
    labels = {m.label for m in objects}
    return [d for d in found if d.label in labels]


def frame_of(background: np.ndarray, objects: list[Mover], f: int, frames: int) -> np.ndarray:
    img = background.copy()
    for m in objects:
        x0, y0, x1, y1 = m.box(f, frames)
        img[y0:y1, x0:x1] = m.cutout
    return img


def truth(objects: list[Mover], f: int, frames: int) -> dict[str, Box]:
    out = {}
    for m in objects:
        x0, y0, x1, y1 = m.box(f, frames)
        r, w, h = m.region, x1 - x0, y1 - y0
        out[m.name] = Box((x0 + r.xmin * w) / W, (y0 + r.ymin * h) / H,
                          (x0 + r.xmax * w) / W, (y0 + r.ymax * h) / H)
    return out


@dataclass
class Score:
    gt: int = 0
    # Frames where the detector itself boxed the object (IoU >= 0.5): the tracker's ceiling.
    detected: int = 0
    fn: int = 0
    fp: int = 0
    idsw: int = 0


def match(gt: dict[str, Box], tracks: list[TrackedObject]) -> dict[str, int]:
    """Object name -> track id, one to one, IoU >= 0.5."""
    names = sorted(gt)
    if not names or not tracks:
        return {}
    cost = np.array([[1.0 - gt[n].iou(t.box) for t in tracks] for n in names])
    rows, cols = linear_sum_assignment(cost)
    return {names[r]: tracks[c].track_id for r, c in zip(rows, cols, strict=True) if cost[r, c] <= 0.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="clip length (default 150 = 10 s)")
    args = parser.parse_args()
    detector = clip_detector()
    grass = background()
    objects = movers()
    tracker = StreamTracker("accuracy")
    per: dict[str, Score] = {m.name: Score() for m in objects}
    ids: dict[str, set[int]] = {m.name: set() for m in objects}
    last: dict[str, int] = {}
    fp = 0
    for f in range(args.frames):
        found = wanted(detector.detect(frame_of(grass, objects, f, args.frames)), objects)
        tracks = tracker.update(found, capture_ns(f))
        gt = truth(objects, f, args.frames)
        matched = match(gt, tracks)
        fp += len(tracks) - len(matched)
        for name in gt:
            per[name].gt += 1
            per[name].detected += any(d.box.iou(gt[name]) >= 0.5 for d in found)
            if name not in matched:
                per[name].fn += 1
                continue
            ids[name].add(matched[name])
            if name in last and last[name] != matched[name]:
                per[name].idsw += 1
            last[name] = matched[name]
    report(per, ids, fp, args.frames)
    return 0


def report(per: dict[str, Score], ids: dict[str, set[int]], fp: int, frames: int) -> None:
    facts = machine_facts()
    out = sys.stdout.write
    out(f"machine   {facts['cpu_model']}, flags {facts['cpu_flags']}\n")
    out(f"clip      {frames} frames {W}x{H} @ {FPS} fps, objects {', '.join(per)} (crossing)\n")
    gt = sum(s.gt for s in per.values())
    fn = sum(s.fn for s in per.values())
    idsw = sum(s.idsw for s in per.values())
    for name, s in per.items():
        out(f"{name:<9} frames {s.gt}, detector found it in {s.detected}, tracked in "
            f"{s.gt - s.fn}, missed {s.fn}, id switches {s.idsw}, "
            f"distinct ids {len(ids[name])} {sorted(ids[name])}\n")
    mota = 1.0 - (fn + fp + idsw) / gt if gt else 0.0
    out(f"all       GT {gt}, FN {fn}, FP {fp}, IDSW {idsw}, MOTA {mota:.3f}\n")


if __name__ == "__main__":
    sys.exit(main())
