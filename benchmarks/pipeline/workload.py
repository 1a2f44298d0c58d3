"""The frames every measurement uses: sample clips, and the same frames as JPEG files.

Called once per run before anything is measured. Stream ``i`` plays sample clip
``i mod 3``; its frames are also decoded from that clip and encoded as JPEG at the
gateway's quality, so the ceilings, the direct producer and the gateway all see the same
pictures at the same size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2

from framewire.core.errors import ConfigError
from framewire.samples import make_samples

log = logging.getLogger(__name__)

# Frames kept per clip for the JPEG workload: enough variety for the detector's output.
FRAMES_PER_CLIP = 30


@dataclass(frozen=True)
class StreamMedia:
    stream_id: str
    clip: Path
    # JPEG files of frames of ``clip`` (playback order) and their bytes, loaded once.
    jpeg_files: tuple[Path, ...]
    jpegs: tuple[bytes, ...]


@dataclass(frozen=True)
class Workload:
    width: int
    height: int
    jpeg_quality: int
    streams: tuple[StreamMedia, ...]

    @property
    def mean_jpeg_bytes(self) -> float:
        sizes = [len(j) for s in self.streams for j in s.jpegs]
        return sum(sizes) / len(sizes)

    def all_files(self) -> list[Path]:
        return [f for s in self.streams for f in s.jpeg_files]


def prepare_workload(
    dest: Path, stream_ids: list[str], *, width: int, height: int, fps: float, quality: int
) -> Workload:
    """Make (or reuse) the clips under ``dest`` and extract their frames as JPEG files."""
    paths = make_samples(dest, width=width, height=height, fps=max(1, round(fps)), seconds=4.0)
    clips = paths[:-1]  # the last entry is an image folder
    frames = {clip: _jpeg_frames(clip, dest / "jpeg" / clip.stem, quality) for clip in clips}
    media = []
    for i, stream_id in enumerate(stream_ids):
        clip = clips[i % len(clips)]
        files = frames[clip]
        media.append(StreamMedia(stream_id, clip, files, tuple(f.read_bytes() for f in files)))
    return Workload(width, height, quality, tuple(media))


def _jpeg_frames(clip: Path, folder: Path, quality: int) -> tuple[Path, ...]:
    existing = sorted(folder.glob("*.jpg"))
    if len(existing) >= FRAMES_PER_CLIP:
        return tuple(existing[:FRAMES_PER_CLIP])
    folder.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(clip))
    files = []
    try:
        while len(files) < FRAMES_PER_CLIP:
            ok, bgr = capture.read()
            if not ok:
                break
            path = folder / f"{len(files):04d}.jpg"
            if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise ConfigError(f"cannot write {path}")
            files.append(path)
    finally:
        capture.release()
    if not files:
        raise ConfigError(f"OpenCV read no frame from the sample clip {clip}")
    log.info("extracted %d JPEG frames from %s", len(files), clip.name)
    return tuple(files)
