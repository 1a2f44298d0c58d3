"""OpenCV ``VideoCapture`` wrapped as a Source: shared by files, RTSP and V4L2 cameras.

OpenCV reads FFmpeg demuxer options from ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` at each open, so
opens that need their own options (RTSP transport) hold a process-wide lock while the
variable is set.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from framewire.core.errors import SourceError
from framewire.gateway.sources.base import CorruptFrameError, SourceInfo

log = logging.getLogger(__name__)

_ENV_LOCK = threading.Lock()
FFMPEG_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


@contextmanager
def ffmpeg_options(options: dict[str, str]) -> Iterator[None]:
    """Set FFmpeg capture options for one open (``key;value|key;value``), then restore."""
    if not options:
        yield
        return
    with _ENV_LOCK:
        previous = os.environ.get(FFMPEG_OPTIONS_ENV)
        os.environ[FFMPEG_OPTIONS_ENV] = "|".join(f"{k};{v}" for k, v in options.items())
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(FFMPEG_OPTIONS_ENV, None)
            else:
                os.environ[FFMPEG_OPTIONS_ENV] = previous


class CaptureSource:
    """Base for OpenCV-backed sources; subclasses say what to open and how."""

    self_paced = True
    can_wait = False
    api = cv2.CAP_FFMPEG

    def __init__(self, label: str, open_timeout_s: float, read_timeout_s: float) -> None:
        self.label = label
        self._open_timeout_ms = int(open_timeout_s * 1000)
        self._read_timeout_ms = int(read_timeout_s * 1000)
        self._cap: cv2.VideoCapture | None = None
        self._info = SourceInfo(0.0, 0, 0, self.self_paced, self.can_wait)

    def _target(self) -> str | int:
        raise NotImplementedError

    def _ffmpeg_options(self) -> dict[str, str]:
        return {}

    def _open_params(self) -> list[int]:
        return [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self._open_timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, self._read_timeout_ms,
        ]

    def open(self) -> SourceInfo:
        self.close()
        with ffmpeg_options(self._ffmpeg_options()):
            cap = cv2.VideoCapture(self._target(), self.api, self._open_params())
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self.label}: {self._open_failure_hint()}")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        # Some containers report 0 or absurd rates (e.g. 90000); treat those as unknown.
        fps = fps if 0 < fps <= 1000 else 0.0
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._info = SourceInfo(fps, width, height, self.self_paced, self.can_wait)
        return self._info

    def _open_failure_hint(self) -> str:
        return "OpenCV could not open it"

    @property
    def info(self) -> SourceInfo:
        return self._info

    def grab(self) -> bool:
        if self._cap is None:
            raise SourceError(f"{self.label} is not open")
        if self._cap.grab():
            return True
        return self._on_grab_failed()

    def _on_grab_failed(self) -> bool:
        """Live sources never end: a failed grab means the connection is gone."""
        raise SourceError(f"lost {self.label}: no frame within {self._read_timeout_ms} ms")

    def retrieve(self) -> np.ndarray:
        if self._cap is None:
            raise SourceError(f"{self.label} is not open")
        ok, image = self._cap.retrieve()
        if not ok or image is None or image.size == 0:
            raise CorruptFrameError(f"undecodable frame from {self.label}")
        return image

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
