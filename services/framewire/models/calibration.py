"""Real images for INT8 calibration and for the accuracy gate.

Two sources: the photos bundled with scikit-image plus frames of the sample clips made from
them (``framewire.samples``), or frames read back from a stream's frames topic. Each source
is split into two disjoint halves: one calibrates the quantizer, the other judges the
result, so the gate never scores images the quantizer has seen. Called by
``framewire models quantize`` and ``benchmarks/bench_quantize.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from framewire.core.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

# Bundled with scikit-image's wheel (other skimage.data images download, and fail offline).
EXTRA_PHOTOS = ("camera", "rocket")


@dataclass(frozen=True)
class ImageSet:
    """BGR images of any size: ``calibration`` feeds the quantizer, ``evaluation`` the gate."""

    calibration: tuple[np.ndarray, ...]
    evaluation: tuple[np.ndarray, ...]
    # Where they came from, for the cache entry's provenance.
    source: str


def bundled_photos() -> list[np.ndarray]:
    """scikit-image's bundled photos as BGR (grey ones converted), in a fixed order."""
    try:
        import skimage.data
    except ImportError:
        raise ConfigError(
            "calibration on the bundled photos needs scikit-image: pip install 'framewire[quantize]'"
        ) from None
    from framewire.samples import PHOTOS

    out = []
    for name in (*PHOTOS, *EXTRA_PHOTOS):
        image = getattr(skimage.data, name)()
        code = cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR
        out.append(cv2.cvtColor(image, code))
    return out


def clip_frames(dest: Path, count: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the sample clips (made under ``dest`` if missing)."""
    from framewire.samples import make_samples

    clips = [p for p in make_samples(dest) if p.suffix == ".mp4"]
    per_clip = -(-count // len(clips))
    frames: list[np.ndarray] = []
    for clip in clips:
        frames += _read_clip(clip, per_clip)
    return frames[:count]


def _read_clip(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = set(np.linspace(0, max(0, total - 1), num=min(count, total), dtype=int).tolist())
        frames = []
        for index in range(total):
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise ModelError(f"sample clip {path} gave no frames")
    return frames


def sample_set(count: int, dest: Path) -> ImageSet:
    """``count`` clip frames each way; the photos judge as they are and calibrate mirrored."""
    photos = bundled_photos()
    frames = clip_frames(dest, 2 * count)
    calibration = frames[0::2] + [cv2.flip(p, 1) for p in photos]
    evaluation = frames[1::2] + photos
    source = (
        f"samples: {len(photos)} scikit-image photos and {len(frames)} frames of the sample clips "
        "(alternate frames calibrate and judge; photos judge as they are, calibrate mirrored)"
    )
    return ImageSet(tuple(calibration), tuple(evaluation), source)


def split(frames: list[np.ndarray], source: str) -> ImageSet:
    """Alternate frames calibrate and judge."""
    return ImageSet(tuple(frames[0::2]), tuple(frames[1::2]), source)
