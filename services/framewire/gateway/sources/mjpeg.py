"""MJPEG over HTTP(S): ``http://host:port/path`` serving ``multipart/x-mixed-replace``.

User info in the URI becomes a Basic ``Authorization`` header and is never shown. The
socket has a read timeout, so a silent server is noticed within ``read_timeout_s``.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from framewire.core.errors import ConfigError, SourceError
from framewire.core.logs import redact_uri
from framewire.gateway.sources.base import CorruptFrameError, SourceInfo, SourceOptions
from framewire.gateway.sources.multipart import MultipartReader, boundary_of


class MjpegSource:
    """A live MJPEG stream; native fps is not announced by HTTP, so it reports 0."""

    def __init__(self, uri: str, options: SourceOptions) -> None:
        parts = urlsplit(uri)
        if not parts.hostname:
            raise ConfigError(f"MJPEG source {redact_uri(uri)!r} has no host")
        try:
            self._port = parts.port
        except ValueError:
            raise ConfigError(f"MJPEG source {redact_uri(uri)!r} has an invalid port") from None
        self.label = f"mjpeg {redact_uri(uri)}"
        self._https = parts.scheme.lower() == "https"
        self._host = parts.hostname
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Accept": "multipart/x-mixed-replace, */*"}
        if parts.username is not None:
            user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            token = base64.b64encode(user_pass.encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._open_timeout = options.open_timeout_s
        self._read_timeout = options.read_timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._reader: MultipartReader | None = None
        self._part = b""
        self._info = SourceInfo(0.0, 0, 0, self_paced=True)

    @classmethod
    def from_uri(cls, uri: str, options: SourceOptions) -> MjpegSource:
        return cls(uri, options)

    def __repr__(self) -> str:
        return f"MjpegSource({self.label!r})"

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._open_timeout, context=context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._open_timeout)

    def open(self) -> SourceInfo:
        self.close()
        conn = self._connect()
        try:
            conn.request("GET", self._target, headers=self._headers)
            response = conn.getresponse()
            if response.status != 200:
                raise SourceError(f"cannot open {self.label}: HTTP {response.status} {response.reason}")
            boundary = boundary_of(response.getheader("Content-Type", ""))
            if conn.sock is not None:
                conn.sock.settimeout(self._read_timeout)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise SourceError(f"cannot open {self.label}: {_describe(exc)}") from None
        except SourceError:
            conn.close()
            raise
        self._conn = conn
        self._reader = MultipartReader(response, boundary)
        if not self.grab():
            raise SourceError(f"cannot open {self.label}: no frame")
        height, width = self.retrieve().shape[:2]
        self._info = SourceInfo(0.0, width, height, self_paced=True)
        return self._info

    def grab(self) -> bool:
        if self._reader is None:
            raise SourceError(f"{self.label} is not open")
        try:
            self._part = self._reader.next_part()
        except (OSError, http.client.HTTPException) as exc:
            raise SourceError(f"lost {self.label}: {_describe(exc)}") from None
        return True

    def retrieve(self) -> np.ndarray:
        data = np.frombuffer(self._part, dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise CorruptFrameError(f"undecodable JPEG ({len(self._part)} bytes) from {self.label}")
        return image

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._reader, self._part = None, None, b""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
