"""Test and benchmark support: Frame messages from real photos, and a tiny real detector.

``TinyDetector`` is a genuine OpenVINO model (built from ``openvino.opset`` ops, a few
microseconds per image) implementing the ``Detector`` protocol, so the worker's machinery
can be exercised where the zoo model's cost or download would get in the way. Its one
"detection" per image is the whole frame, scored by mean brightness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from framewire.core.codec import encode
from framewire.core.records import Box, Detection
from framewire.models.api import ModelInfo, RawOutputs
from framewire.v1.frame_pb2 import Frame

TINY_SIDE = 16


def jpeg_of(bgr: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    return buf.tobytes()


def frame_bytes(
    jpeg: bytes, stream_id: str, sequence: int, *, width: int, height: int,
    capture_time_ns: int | None = None,
) -> bytes:
    """A Frame message as a gateway publishes it."""
    now = time.time_ns()
    return encode(Frame(
        stream_id=stream_id, sequence=sequence, capture_time_ns=capture_time_ns or now,
        publish_time_ns=now, source="test", width=width, height=height,
        encoding=Frame.ENCODING_JPEG, data=jpeg,
    ))


class TinyDetector:
    """A real, very small OpenVINO detector with a dynamic batch dimension."""

    def __init__(self, version: str = "1", threshold: float = 0.0, num_requests: int = 2) -> None:
        import openvino as ov
        import openvino.opset13 as ops

        image = ops.parameter([-1, TINY_SIDE, TINY_SIDE, 3], ov.Type.u8, name="image")
        scaled = ops.divide(ops.convert(image, ov.Type.f32), ops.constant(np.float32(255.0)))
        means = ops.reduce_mean(scaled, ops.constant(np.array([1, 2, 3], dtype=np.int64)), False)
        model = ov.Model([means], [image], "tiny")
        compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1})
        self._queue = ov.AsyncInferQueue(compiled, num_requests)
        self._queue.set_callback(self._on_complete)
        self._compiled = compiled
        self._lock = threading.Lock()
        self.info = ModelInfo(
            model_id="tiny", version=version, input_width=TINY_SIDE, input_height=TINY_SIDE,
            labels=("bright",), max_batch=8, precision="f32", score_threshold=threshold,
        )
        self.batches: list[int] = []

    def preprocess(self, bgr: np.ndarray) -> np.ndarray:
        small = cv2.resize(bgr, (TINY_SIDE, TINY_SIDE), interpolation=cv2.INTER_AREA)
        return small[np.newaxis]

    def infer(self, batch: np.ndarray) -> list[RawOutputs]:
        result = self._compiled({0: batch})[0]
        return [{"brightness": np.asarray(v)} for v in result]

    def infer_async(
        self, batch: np.ndarray, done: Callable[[list[RawOutputs], Any], None], userdata: Any
    ) -> None:
        with self._lock:
            self.batches.append(len(batch))
        self._queue.start_async({0: batch}, (done, userdata))

    def _on_complete(self, request: Any, context: Any) -> None:
        done, userdata = context
        values = request.get_output_tensor(0).data.copy()
        done([{"brightness": np.asarray(v)} for v in values], userdata)

    def wait_all(self) -> None:
        self._queue.wait_all()

    def postprocess(self, outputs: RawOutputs) -> list[Detection]:
        score = float(outputs["brightness"])
        if score < self.info.score_threshold:
            return []
        return [Detection(0, "bright", score, Box(0.0, 0.0, 1.0, 1.0))]

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return self.postprocess(self.infer(self.preprocess(bgr))[0])
