"""A stream's desired configuration, validated from its StreamSpec.

Called by the gateway for every registry record it reads. Anything wrong with a spec is a
ConfigError naming the stream and the field, which ends up in that stream's status: the
gateway and its other streams keep running.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from framewire.core.errors import ConfigError, FramewireError
from framewire.core.logs import redact_uri
from framewire.core.media import check_local_media
from framewire.core.topics import validate_stream_id
from framewire.gateway.settings import GatewaySettings
from framewire.gateway.sources import make_source
from framewire.gateway.sources.base import SourceOptions
from framewire.v1.stream_pb2 import StreamSpec

MAX_SIDE = 8192


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """What one stream should do; equal configs mean nothing to restart."""

    stream_id: str
    source_uri: str = field(repr=False)  # may hold credentials: never logged nor published
    target_fps: float  # 0: the source's own rate
    width: int  # 0: keep (aspect ratio is always kept)
    height: int
    jpeg_quality: int
    enabled: bool
    source_options: SourceOptions

    @property
    def source_label(self) -> str:
        return redact_uri(self.source_uri)


@dataclass(frozen=True, slots=True)
class InvalidStream:
    """A registry record the gateway cannot run, with the reason shown in its status."""

    stream_id: str
    reason: str


def config_from_spec(key: str, spec: StreamSpec, settings: GatewaySettings) -> StreamConfig:
    """Validate ``spec`` (stored under ``key``) into a StreamConfig; ConfigError if invalid."""
    stream_id = validate_stream_id(key)
    if spec.stream_id and spec.stream_id != stream_id:
        raise ConfigError(f"spec names stream {spec.stream_id!r} but is keyed {stream_id!r}",
                          stream_id=stream_id)
    options = SourceOptions(
        loop=spec.loop,
        open_timeout_s=settings.open_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        rtsp_transport=settings.rtsp_transport,
        media_roots=settings.media_roots,
    )
    config = StreamConfig(
        stream_id=stream_id,
        source_uri=spec.source_uri.strip(),
        target_fps=_check_fps(stream_id, spec.target_fps, settings.max_fps),
        width=_check_side(stream_id, "width", spec.width),
        height=_check_side(stream_id, "height", spec.height),
        jpeg_quality=_check_quality(stream_id, spec.jpeg_quality, settings.jpeg_quality),
        enabled=spec.enabled,
        source_options=options,
    )
    try:
        make_source(config.source_uri, options)  # validates the URI; opens nothing
        check_local_media(config.source_uri, settings.media_roots)
    except FramewireError as exc:
        raise ConfigError(exc.message, stream_id=stream_id) from None
    return config


def _check_fps(stream_id: str, fps: float, max_fps: float) -> float:
    if not math.isfinite(fps) or fps < 0 or fps > max_fps:
        raise ConfigError(f"target_fps {fps} must be between 0 (source rate) and {max_fps:g}",
                          stream_id=stream_id)
    return float(fps)


def _check_side(stream_id: str, name: str, value: int) -> int:
    if value > MAX_SIDE:
        raise ConfigError(f"{name} {value} is larger than {MAX_SIDE}", stream_id=stream_id)
    return int(value)


def _check_quality(stream_id: str, quality: int, default: int) -> int:
    if quality > 100:
        raise ConfigError(f"jpeg_quality {quality} must be 1..100 (0: default)", stream_id=stream_id)
    return int(quality) or default


def output_size(src_w: int, src_h: int, want_w: int, want_h: int) -> tuple[int, int]:
    """The encoded size: fits inside ``want_w`` x ``want_h`` (0 = free) keeping the aspect."""
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"source size {src_w}x{src_h} is not positive")
    if want_w <= 0 and want_h <= 0:
        return src_w, src_h
    scales = []
    if want_w > 0:
        scales.append(want_w / src_w)
    if want_h > 0:
        scales.append(want_h / src_h)
    scale = min(scales)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))
