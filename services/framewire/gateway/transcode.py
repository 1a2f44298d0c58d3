"""Resize and JPEG-encode one decoded frame; called from a stream's encoder thread."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from framewire.gateway.spec import output_size


@dataclass(frozen=True, slots=True)
class RawFrame:
    """A decoded frame on its way from the reader to the encoder."""

    image: np.ndarray
    sequence: int
    capture_time_ns: int  # wall clock when it was decoded


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    jpeg: bytes
    width: int
    height: int
    encode_s: float  # resize + encode time


class Transcoder:
    """Resizes to fit the stream's size (aspect kept) and encodes at its JPEG quality."""

    def __init__(self, width: int, height: int, jpeg_quality: int) -> None:
        self.width = width
        self.height = height
        self._params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]

    def encode(self, image: np.ndarray) -> EncodedFrame:
        started = time.perf_counter()
        src_h, src_w = image.shape[:2]
        out_w, out_h = output_size(src_w, src_h, self.width, self.height)
        if (out_w, out_h) != (src_w, src_h):
            shrinking = out_w < src_w
            interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            image = cv2.resize(image, (out_w, out_h), interpolation=interpolation)
        ok, buffer = cv2.imencode(".jpg", image, self._params)
        if not ok:
            raise ValueError(f"JPEG encoding failed for a {src_w}x{src_h} frame")
        return EncodedFrame(buffer.tobytes(), out_w, out_h, time.perf_counter() - started)
