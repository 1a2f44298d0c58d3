"""Image folders: ``dir:///path?fps=N`` plays the images in name order at N fps (default 10).

The folder is listed again at every pass, so images added while it runs are picked up;
an image that cannot be decoded is skipped and counted, the rest play on.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from framewire.core.errors import ConfigError, SourceError
from framewire.core.media import ensure_under_roots
from framewire.gateway.sources.base import CorruptFrameError, SourceInfo, SourceOptions
from framewire.gateway.sources.video_file import path_of, within_media_roots

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
DEFAULT_FPS = 10.0


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name; SourceError if unreadable."""
    try:
        entries = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except FileNotFoundError:
        raise SourceError(f"cannot open folder {folder}: no such folder") from None
    except NotADirectoryError:
        raise SourceError(f"cannot open folder {folder}: not a folder") from None
    except PermissionError:
        raise SourceError(f"cannot open folder {folder}: permission denied") from None
    return [p for p in entries if p.is_file()]


def parse_fps(values: list[str] | None) -> float:
    if not values:
        return DEFAULT_FPS
    try:
        fps = float(values[-1])
    except ValueError:
        fps = math.nan
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        raise ConfigError(f"folder source fps={values[-1]!r} must be a number in (0, 1000]")
    return fps


class ImageFolderSource:
    """Plays a folder of images like a video."""

    def __init__(self, folder: Path, fps: float, options: SourceOptions) -> None:
        self.folder = folder
        self.label = f"folder {folder}"
        self.loop = options.loop
        self.media_roots = options.media_roots
        self._fps = fps
        self._images: list[Path] = []
        self._index = -1
        self._info = SourceInfo(fps, 0, 0, self_paced=False)

    @classmethod
    def from_uri(cls, uri: str, options: SourceOptions) -> ImageFolderSource:
        if not uri.lower().startswith("dir:"):
            raise ConfigError(f"folder source {uri!r} must be a dir:// URI")
        folder, query = path_of(uri, "dir")
        unknown = set(query) - {"fps"}
        if unknown:
            raise ConfigError(f"unknown folder source parameter(s): {', '.join(sorted(unknown))}")
        return cls(folder, parse_fps(query.get("fps")), options)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> SourceInfo:
        within_media_roots(self.folder, self.media_roots, self.label)
        self._images = list_images(self.folder)
        if not self._images:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise SourceError(f"cannot open {self.label}: no images ({kinds})")
        self._index = -1
        height, width = self._first_decodable().shape[:2]
        self._info = SourceInfo(self._fps, width, height, self_paced=False)
        return self._info

    def _first_decodable(self) -> np.ndarray:
        for path in self._images:
            try:
                return self._decode(path)
            except CorruptFrameError:
                continue
        raise SourceError(f"cannot open {self.label}: none of its {len(self._images)} images decodes")

    def grab(self) -> bool:
        self._index += 1
        if self._index < len(self._images):
            return True
        if not self.loop:
            return False
        self._images = list_images(self.folder)
        if not self._images:
            raise SourceError(f"{self.label} has no images any more")
        self._index = 0
        return True

    def retrieve(self) -> np.ndarray:
        if not 0 <= self._index < len(self._images):
            raise SourceError(f"{self.label}: nothing grabbed")
        return self._decode(self._images[self._index])

    def _decode(self, path: Path) -> np.ndarray:
        try:
            ensure_under_roots(path, self.media_roots, path.name)
        except ConfigError as exc:  # a symlink out of the roots: counted like a bad image
            raise CorruptFrameError(f"{exc.message} in {self.label}") from None
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as exc:
            reason = exc.strerror or exc
            raise CorruptFrameError(f"cannot read {path.name} in {self.label}: {reason}") from None
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise CorruptFrameError(f"cannot decode {path.name} in {self.label}")
        return image

    def close(self) -> None:
        self._images = []
        self._index = -1
