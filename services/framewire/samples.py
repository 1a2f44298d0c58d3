"""Sample media made from photos bundled with scikit-image: no downloads.

``make_samples`` is called by tests, the demo (``framewire up``) and the benchmarks; the
``framewire samples`` command calls it too. Each photo becomes an mp4 with a slow pan and
zoom (a triangle wave, so a looping clip has no jump), and frames of all photos become an
image folder for ``dir://`` sources. Existing files are reused unless ``force`` is set.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from framewire.core.errors import ConfigError

log = logging.getLogger(__name__)

PHOTOS = ("astronaut", "chelsea", "coffee")
DEFAULT_DEST = Path("~/.cache/framewire/samples")


def load_photo(name: str) -> np.ndarray:
    """One bundled photo as a BGR image; raise ConfigError for an unknown name.

    scikit-image is an optional extra: the services never need it, only the sample media do.
    """
    try:
        import skimage.data
    except ImportError:
        raise ConfigError(
            "sample media are made from scikit-image's bundled photos: pip install 'framewire[samples]'"
        ) from None
    if name not in PHOTOS:
        raise ConfigError(f"unknown sample photo {name!r}; choose from {', '.join(PHOTOS)}")
    rgb = getattr(skimage.data, name)()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def pan_zoom_frame(photo: np.ndarray, phase: float, width: int, height: int) -> np.ndarray:
    """The view of ``photo`` at ``phase`` in [0, 1]: zooming in while panning across."""
    ph, pw = photo.shape[:2]
    # Largest crop of the output's aspect ratio that fits the photo, shrunk as we zoom in.
    fit = min(pw / width, ph / height)
    crop_scale = fit * (1.0 - 0.2 * phase)
    crop_w, crop_h = width * crop_scale, height * crop_scale
    x0 = (pw - crop_w) * (0.15 + 0.7 * phase)
    y0 = (ph - crop_h) * (0.5 - 0.3 * phase)
    # Maps output pixels to photo pixels; warpAffine interpolates sub-pixel motion smoothly.
    to_photo = np.array([[crop_scale, 0.0, x0], [0.0, crop_scale, y0]], dtype=np.float64)
    return cv2.warpAffine(
        photo, to_photo, (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT,
    )


def triangle(i: int, n: int) -> float:
    """0 → 1 → 0 over ``n`` steps, so the last frame leads smoothly back to the first."""
    if n <= 1:
        return 0.0
    x = 2.0 * i / n
    return x if x <= 1.0 else 2.0 - x


def write_clip(
    path: Path, photo: np.ndarray, width: int, height: int, fps: int, frames: int
) -> None:
    """Write one pan/zoom clip as MPEG-4 (OpenCV's built-in FFmpeg), atomically."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise ConfigError(f"cannot write video {path}: OpenCV's mp4v writer did not open")
    try:
        for i in range(frames):
            writer.write(pan_zoom_frame(photo, triangle(i, frames), width, height))
    finally:
        writer.release()
    tmp.replace(path)


def write_folder(
    folder: Path, photos: list[np.ndarray], width: int, height: int, per_photo: int
) -> None:
    """Write ``per_photo`` JPEG views of each photo, named so sorting gives playback order."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    index = 0
    for photo in photos:
        for i in range(per_photo):
            view = pan_zoom_frame(photo, triangle(i, per_photo), width, height)
            cv2.imwrite(str(tmp / f"frame_{index:05d}.jpg"), view, [cv2.IMWRITE_JPEG_QUALITY, 90])
            index += 1
    if folder.exists():  # another process finished first; keep its copy
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
        return
    tmp.rename(folder)


def make_samples(
    dest: Path,
    *,
    width: int = 640,
    height: int = 480,
    fps: int = 15,
    seconds: float = 8.0,
    names: tuple[str, ...] = PHOTOS,
    folder_frames: int = 8,
    force: bool = False,
) -> list[Path]:
    """Create (or reuse) one mp4 per photo plus an image folder; return their paths.

    The folder is last in the list. Called by tests, the demo and the benchmarks.
    """
    _check_params(width, height, fps, seconds)
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    frames = max(2, round(fps * seconds))
    photos = [load_photo(n) for n in names]
    out: list[Path] = []
    for name, photo in zip(names, photos, strict=True):
        clip = dest / f"{name}-{width}x{height}-{fps}fps-{frames}f.mp4"
        if force or not clip.exists():
            write_clip(clip, photo, width, height, fps, frames)
            log.info("wrote %s", clip)
        out.append(clip)
    folder = dest / f"images-{width}x{height}-{folder_frames}"
    if force and folder.exists():
        for old in folder.iterdir():
            old.unlink()
        folder.rmdir()
    if not folder.exists():
        write_folder(folder, photos, width, height, folder_frames)
        log.info("wrote %s", folder)
    out.append(folder)
    return out


def _check_params(width: int, height: int, fps: int, seconds: float) -> None:
    if not (16 <= width <= 3840 and 16 <= height <= 2160):
        raise ConfigError(f"sample size {width}x{height} must be within 16x16..3840x2160")
    if not 1 <= fps <= 120:
        raise ConfigError(f"sample fps {fps} must be within 1..120")
    if not 0 < seconds <= 600:
        raise ConfigError(f"sample length {seconds}s must be within (0, 600]")


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` → (640, 480); ConfigError otherwise."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise ConfigError(f"size {text!r} must look like WIDTHxHEIGHT, e.g. 640x480")
    return int(w), int(h)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="output folder")
    parser.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT")
    parser.add_argument("--fps", type=int, default=15, help="frames per second of the clips")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each clip")
    parser.add_argument("--force", action="store_true", help="rewrite existing files")


def run(args: argparse.Namespace) -> int:
    width, height = parse_size(args.size)
    paths = make_samples(
        args.dest, width=width, height=height, fps=args.fps, seconds=args.seconds, force=args.force
    )
    sys.stdout.write("".join(f"{p}\n" for p in paths))
    return 0
