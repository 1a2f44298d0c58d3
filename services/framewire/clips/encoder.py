"""H.264 MP4 writing with PyAV (FFmpeg's libx264), at the stream's own timing.

Each frame keeps its capture time as its presentation time (milliseconds from the first
frame), so a stream that ran at 14.2 fps, or paused, plays back as it was captured rather
than at a nominal rate. Pure media code, no Kafka. Called by ``clips.make`` once per clip.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from framewire.core.errors import FramewireError

_MS = Fraction(1, 1000)


class ClipWriteError(FramewireError):
    """The clip file could not be written (disk, codec)."""


class Mp4Writer:
    """Frames in capture order -> ``path``; ``close`` (or the ``with`` block) finishes it."""

    def __init__(self, path: Path, width: int, height: int, fps_hint: float, crf: int = 23) -> None:
        # yuv420p needs even sides; a 1-pixel crop is invisible and keeps every player happy.
        self.width, self.height = width - width % 2, height - height % 2
        self.frames = 0
        self._first_ms: int | None = None
        self._last_pts = -1
        # FFmpeg opens the file at the first packet; say what is wrong before encoding.
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise ClipWriteError(f"cannot open {path} for writing: {path.parent} is not a writable directory")
        try:
            self._container = av.open(str(path), mode="w", format="mp4")
            rate = Fraction(round(max(fps_hint, 1.0) * 1000), 1000)
            stream = self._container.add_stream("libx264", rate=rate)
        except (av.FFmpegError, OSError) as exc:
            raise ClipWriteError(f"cannot open {path} for writing: {exc}") from None
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        stream.options = {"crf": str(crf), "preset": "veryfast", "movflags": "+faststart"}
        self._stream = stream

    def add(self, bgr: np.ndarray, capture_ms: int) -> None:
        """Append one decoded frame (any size: scaled to the clip's) captured at ``capture_ms``."""
        if self._first_ms is None:
            self._first_ms = capture_ms
        # Presentation times must increase; two frames stamped in the same millisecond
        # are shown one millisecond apart.
        pts = max(capture_ms - self._first_ms, self._last_pts + 1)
        image = bgr[: self.height, : self.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        if frame.width != self.width or frame.height != self.height:
            frame = frame.reformat(width=self.width, height=self.height)
        frame.pts, frame.time_base = pts, _MS
        self._mux(frame)
        self._last_pts = pts
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and write the index; the file is playable after this."""
        try:
            self._mux(None)
        finally:
            self._container.close()

    def _mux(self, frame: av.VideoFrame | None) -> None:
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise ClipWriteError(f"writing the clip failed: {exc}") from None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
