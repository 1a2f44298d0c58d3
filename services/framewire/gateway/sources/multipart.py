"""Reading ``multipart/x-mixed-replace`` (MJPEG over HTTP) one part at a time.

Works on any binary file-like object with ``read`` and ``readline``, so it is tested
without a network. Every read is bounded: a part larger than ``max_part_bytes`` or junk
longer than that between parts is an error, never an unbounded buffer.
"""

from __future__ import annotations

from typing import BinaryIO

from framewire.core.errors import SourceError

MAX_LINE = 64 * 1024


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart content type; SourceError if absent."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/x-mixed-replace":
        raise SourceError(f"not an MJPEG stream (content type {content_type or 'missing'!r})")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value.strip('"'):
            return value.strip('"').encode("latin-1")
    raise SourceError(f"MJPEG content type {content_type!r} has no boundary")


class MultipartReader:
    """Yields the bodies of successive parts; called from the stream's reader thread."""

    def __init__(self, fp: BinaryIO, boundary: bytes, max_part_bytes: int = 16 * 1024 * 1024):
        # Some servers put the dashes in the parameter already; accept both spellings.
        bare = boundary[2:] if boundary.startswith(b"--") else boundary
        self._delimiters = {b"--" + bare, bare, b"--" + bare + b"--", bare + b"--"}
        self._fp = fp
        self._max = max_part_bytes
        self._at_part_start = False  # True when the previous body ended on a delimiter

    def next_part(self) -> bytes:
        if not self._at_part_start:
            self._skip_to_delimiter()
        self._at_part_start = False
        headers = self._read_headers()
        length = headers.get("content-length")
        if length is not None:
            return self._read_exact(length)
        return self._read_to_delimiter()

    def _readline(self) -> bytes:
        line = self._fp.readline(MAX_LINE)
        if not line:
            raise SourceError("MJPEG stream closed by the server")
        return line

    def _is_delimiter(self, line: bytes) -> bool:
        return line.rstrip(b"\r\n") in self._delimiters

    def _skip_to_delimiter(self) -> None:
        skipped = 0
        while not self._is_delimiter(line := self._readline()):
            skipped += len(line)
            if skipped > self._max:
                raise SourceError(f"no MJPEG part boundary within {self._max} bytes")

    def _read_headers(self) -> dict[str, int]:
        headers: dict[str, int] = {}
        for _ in range(100):
            line = self._readline().strip()
            if not line:
                return headers
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == b"content-length":
                headers["content-length"] = self._parse_length(value)
        raise SourceError("MJPEG part has more than 100 header lines")

    def _parse_length(self, value: bytes) -> int:
        text = value.strip()
        if not text.isdigit() or int(text) > self._max:
            raise SourceError(f"MJPEG part length {text[:20]!r} is invalid or over {self._max}")
        return int(text)

    def _read_exact(self, length: int) -> bytes:
        data = self._fp.read(length)
        if len(data) != length:
            raise SourceError("MJPEG stream closed by the server mid-frame")
        return data

    def _read_to_delimiter(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while not self._is_delimiter(line := self._readline()):
            chunks.append(line)
            size += len(line)
            if size > self._max:
                raise SourceError(f"MJPEG part larger than {self._max} bytes")
        self._at_part_start = True
        body = b"".join(chunks)
        # The CRLF before a delimiter belongs to the delimiter, not to the image.
        return body[:-2] if body.endswith(b"\r\n") else body.rstrip(b"\n")
