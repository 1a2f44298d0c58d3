"""RTSP cameras through OpenCV's FFmpeg backend.

Transport is TCP unless the gateway setting or the URI's ``rtsp_transport`` query
parameter says ``udp`` (the parameter is removed before the URI reaches the server).
Credentials in the URI are used to connect and appear nowhere else.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from framewire.core.errors import ConfigError
from framewire.core.logs import redact_uri
from framewire.gateway.settings import RtspTransport
from framewire.gateway.sources.base import SourceOptions
from framewire.gateway.sources.capture import CaptureSource

TRANSPORT_PARAM = "rtsp_transport"


def split_transport(uri: str, default: RtspTransport) -> tuple[str, RtspTransport]:
    """The URI without our transport parameter, and the transport it asks for."""
    parts = urlsplit(uri)
    if not parts.hostname:
        raise ConfigError(f"RTSP source {redact_uri(uri)!r} has no host")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = [v for k, v in query if k == TRANSPORT_PARAM]
    rest = [(k, v) for k, v in query if k != TRANSPORT_PARAM]
    transport = default
    if ours:
        try:
            transport = RtspTransport(ours[-1].lower())
        except ValueError:
            raise ConfigError(f"{TRANSPORT_PARAM}={ours[-1]!r} must be tcp or udp") from None
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return clean, transport


class RtspSource(CaptureSource):
    """A live RTSP stream (H.264/H.265/MJPEG, whatever FFmpeg decodes)."""

    def __init__(self, uri: str, transport: RtspTransport, options: SourceOptions) -> None:
        super().__init__(
            f"rtsp {redact_uri(uri)} ({transport.value})",
            options.open_timeout_s,
            options.read_timeout_s,
        )
        self._uri = uri
        self.transport = transport

    @classmethod
    def from_uri(cls, uri: str, options: SourceOptions) -> RtspSource:
        clean, transport = split_transport(uri, options.rtsp_transport)
        return cls(clean, transport, options)

    def __repr__(self) -> str:
        return f"RtspSource({self.label!r})"

    def _target(self) -> str:
        return self._uri

    def _ffmpeg_options(self) -> dict[str, str]:
        return {"rtsp_transport": self.transport.value}

    def _open_failure_hint(self) -> str:
        return f"no answer or no video over {self.transport.value} (server down, wrong path?)"
