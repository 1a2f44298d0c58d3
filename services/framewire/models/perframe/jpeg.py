"""JPEG checks and decoding, run on the decode threads for every frame.

The image size is read from the JPEG header before decoding, so absurd sizes (and
decompression bombs) are refused without allocating, and so OpenCV's reduced-size decode
can be used when the model input is much smaller than the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from framewire.models.perframe.records import RejectKind

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_REDUCED_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


class JpegRejected(Exception):
    """The bytes are not a usable JPEG; ``kind`` says which way."""

    def __init__(self, kind: RejectKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class JpegLimits:
    max_side: int = 8192
    max_bytes: int = 16 * 1024 * 1024


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the start-of-frame header; JpegRejected when there is none."""
    if not data.startswith(_SOI):
        raise JpegRejected(RejectKind.CORRUPT_JPEG, "not a JPEG (no start-of-image marker)")
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise JpegRejected(RejectKind.CORRUPT_JPEG, f"bad JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS and length >= 7 and pos + 9 <= end:
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        if marker == 0xDA or length < 2:
            break
        pos += 2 + length
    raise JpegRejected(RejectKind.CORRUPT_JPEG, "JPEG has no readable frame header")


def check_jpeg(data: bytes, limits: JpegLimits) -> tuple[int, int]:
    """Validate size limits and framing; return (width, height) without decoding."""
    if not data:
        raise JpegRejected(RejectKind.CORRUPT_JPEG, "empty image data")
    if len(data) > limits.max_bytes:
        raise JpegRejected(
            RejectKind.ABSURD_SIZE, f"image is {len(data)} bytes; limit {limits.max_bytes}"
        )
    width, height = jpeg_size(data)
    if not (0 < width <= limits.max_side and 0 < height <= limits.max_side):
        raise JpegRejected(
            RejectKind.ABSURD_SIZE, f"image is {width}x{height}; sides must be 1..{limits.max_side}"
        )
    # A truncated JPEG decodes "successfully" into grey: insist on the end-of-image marker.
    if _EOI not in data[-32:]:
        raise JpegRejected(RejectKind.CORRUPT_JPEG, "JPEG is truncated (no end-of-image marker)")
    return width, height


def reduction_factor(width: int, height: int, target_w: int, target_h: int) -> int:
    """Largest of 1, 2, 4, 8 that keeps the decoded image at least the model's input size."""
    factor = 1
    for candidate in (2, 4, 8):
        if width // candidate >= target_w and height // candidate >= target_h:
            factor = candidate
    return factor


def decode_jpeg(data: bytes, width: int, height: int, factor: int = 1) -> np.ndarray:
    """Decode to BGR at 1/``factor`` scale; JpegRejected if OpenCV cannot."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, _REDUCED_FLAGS[factor])
    if image is None or image.ndim != 3:
        raise JpegRejected(RejectKind.CORRUPT_JPEG, "OpenCV could not decode the JPEG")
    want = (-(-height // factor), -(-width // factor))
    if image.shape[:2] != want:
        raise JpegRejected(
            RejectKind.CORRUPT_JPEG,
            f"decoded {image.shape[1]}x{image.shape[0]}, header says {want[1]}x{want[0]}",
        )
    return image
