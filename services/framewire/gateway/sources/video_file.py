"""Video files: a path or ``file://`` URI, read in real time at the file's own rate.

``?realtime=0`` (file URIs only) reads as fast as the gateway can encode, for replays and
benchmarks; the stream's ``loop`` flag rewinds at the end.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import cv2

from framewire.core.errors import ConfigError, SourceError
from framewire.core.media import ensure_under_roots
from framewire.gateway.sources.base import SourceInfo, SourceOptions
from framewire.gateway.sources.capture import CaptureSource

DEFAULT_FPS = 25.0


def parse_flag(name: str, values: list[str]) -> bool:
    """A boolean query parameter: 1/0, true/false, yes/no."""
    value = values[-1].lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ConfigError(f"query parameter {name}={values[-1]!r} must be 0 or 1")


def path_of(uri: str, scheme: str) -> tuple[Path, dict[str, list[str]]]:
    """The filesystem path and query of ``scheme://path?query`` or of a bare path."""
    if not uri.lower().startswith(f"{scheme}:"):
        return Path(uri), {}
    parts = urlsplit(uri)
    # "file:///abs/path" has an empty netloc; "file://rel/path" means a relative path.
    raw = unquote(parts.netloc + parts.path)
    if not raw:
        raise ConfigError(f"{scheme} URI {uri!r} has no path")
    return Path(raw), parse_qs(parts.query, keep_blank_values=True)


def within_media_roots(path: Path, roots: tuple[Path, ...], label: str) -> None:
    """Check again at open time (a symlink may point elsewhere now); SourceError if outside."""
    try:
        ensure_under_roots(path, roots, label)
    except ConfigError as exc:
        raise SourceError(f"cannot open {label}: {exc.message}") from None


class VideoFileSource(CaptureSource):
    """A video file OpenCV's FFmpeg backend can decode (mp4, mkv, avi, ...)."""

    def __init__(self, path: Path, options: SourceOptions, realtime: bool = True) -> None:
        super().__init__(f"file {path}", options.open_timeout_s, options.read_timeout_s)
        self.path = path
        self.loop = options.loop
        self.realtime = realtime
        self.media_roots = options.media_roots
        # Real time: the gateway paces reads and drops what the encoder cannot take.
        # Flat out: reads go as fast as encoding, which they wait for instead of dropping.
        self.self_paced = not realtime
        self.can_wait = not realtime
        self._grabbed_since_open = 0

    @classmethod
    def from_uri(cls, uri: str, options: SourceOptions) -> VideoFileSource:
        path, query = path_of(uri, "file")
        unknown = set(query) - {"realtime"}
        if unknown:
            raise ConfigError(f"unknown file source parameter(s): {', '.join(sorted(unknown))}")
        realtime = parse_flag("realtime", query["realtime"]) if "realtime" in query else True
        return cls(path, options, realtime)

    def _target(self) -> str:
        return str(self.path)

    def open(self) -> SourceInfo:
        within_media_roots(self.path, self.media_roots, self.label)
        if not self.path.exists():
            raise SourceError(f"cannot open {self.label}: no such file")
        if not self.path.is_file() or not os.access(self.path, os.R_OK):
            raise SourceError(f"cannot open {self.label}: not a readable file")
        self._grabbed_since_open = 0
        info = super().open()
        if info.fps == 0:  # unknown rate: play at a common camera rate rather than flat out
            info = replace(info, fps=DEFAULT_FPS)
            self._info = info
        return info

    def _open_failure_hint(self) -> str:
        return "not a video OpenCV can decode"

    def grab(self) -> bool:
        ok = super().grab()
        self._grabbed_since_open += 1
        return ok

    def _on_grab_failed(self) -> bool:
        if self._grabbed_since_open == 0:
            raise SourceError(f"cannot read {self.label}: no decodable frame")
        if not self.loop or self._cap is None:
            return False
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._grabbed_since_open = 0
        if not self._cap.grab():
            raise SourceError(f"cannot read {self.label} after rewinding")
        return True
