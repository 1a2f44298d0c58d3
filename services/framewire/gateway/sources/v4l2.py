"""V4L2 cameras: ``/dev/videoN`` or ``v4l2://N`` (``v4l2:///dev/videoN`` also works)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import cv2

from framewire.core.errors import ConfigError
from framewire.gateway.sources.base import SourceOptions
from framewire.gateway.sources.capture import CaptureSource

_DEVICE_RE = re.compile(r"^(?:/dev/video)?(\d{1,3})$")


def device_index(uri: str) -> int:
    """The camera index in ``/dev/videoN``, ``v4l2://N`` or ``v4l2:///dev/videoN``."""
    text = uri
    if uri.lower().startswith("v4l2:"):
        parts = urlsplit(uri)
        text = (parts.netloc + parts.path) or ""
    match = _DEVICE_RE.match(text)
    if not match:
        raise ConfigError(f"V4L2 source {uri!r} must be /dev/videoN or v4l2://N")
    return int(match.group(1))


class V4l2Source(CaptureSource):
    """A local camera through OpenCV's V4L2 backend."""

    api = cv2.CAP_V4L2

    def __init__(self, index: int, options: SourceOptions) -> None:
        super().__init__(f"camera /dev/video{index}", options.open_timeout_s, options.read_timeout_s)
        self.index = index

    @classmethod
    def from_uri(cls, uri: str, options: SourceOptions) -> V4l2Source:
        return cls(device_index(uri), options)

    def _target(self) -> int:
        return self.index

    def _open_params(self) -> list[int]:
        return []  # the V4L2 backend takes no FFmpeg timeouts; reads block per frame period

    def _open_failure_hint(self) -> str:
        return "no such camera, or it is busy or not permitted"
