"""What every video source offers the gateway, and the options a stream passes to it.

A source is opened, then read with ``grab`` (advance, cheap) and ``retrieve`` (decode the
grabbed frame to BGR): the pacer decides between the two whether a frame is worth decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from framewire.core.errors import SourceError
from framewire.gateway.settings import RtspTransport


class CorruptFrameError(SourceError):
    """One frame could not be decoded; the source itself is still usable."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source reports about itself once open (0 means not known yet)."""

    fps: float
    width: int
    height: int
    # True when frames come at the source's own pace (cameras, or a file read flat out);
    # False when the gateway must pace reads at ``fps`` so a file plays in real time.
    self_paced: bool
    # True when the source can wait for the encoder (a file read flat out): the hand-off
    # then blocks instead of dropping frames.
    can_wait: bool = False


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Per-stream options from the StreamSpec and the gateway settings."""

    loop: bool = False
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    rtsp_transport: RtspTransport = RtspTransport.TCP
    # File and folder sources must lie inside one of these (empty: anywhere).
    media_roots: tuple[Path, ...] = ()


class Source(Protocol):
    """A video source; all methods are called from the stream's own reader thread."""

    label: str  # the URI with credentials removed: safe for logs, status and frames

    def open(self) -> SourceInfo:
        """Connect or open; raise SourceError saying why when it cannot."""
        ...

    def grab(self) -> bool:
        """Advance to the next frame; False at the end of a non-looping file or folder.

        Raises SourceError when the source fails (connection lost, read timeout).
        """
        ...

    def retrieve(self) -> np.ndarray:
        """Decode the grabbed frame (BGR); CorruptFrameError if it cannot be decoded."""
        ...

    @property
    def info(self) -> SourceInfo:
        """Native fps and resolution as currently known."""
        ...

    def close(self) -> None:
        """Release the device, file or connection; safe to call twice."""
        ...
