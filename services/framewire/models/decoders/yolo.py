"""YOLO-style exports (Ultralytics YOLOv8/v11 ONNX/OpenVINO): one output [1, 4 + C, N].

Each of the N columns is (cx, cy, w, h) in input pixels followed by C class scores that
are already probabilities. No objectness column and no NMS in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.core.errors import ModelError
from framewire.core.records import Detection
from framewire.models.api import RawOutputs
from framewire.models.decoders.base import DecoderContext, parse_options, require, to_detections
from framewire.models.nms import batched_nms


@dataclass(frozen=True)
class YoloOptions:
    iou_threshold: float = 0.45
    max_detections: int = 100
    # Some exports are [1, N, 4 + C]; set True for those.
    transposed: bool = False


class YoloDecoder:
    output_names: tuple[str, ...] = ()

    def __init__(self, context: DecoderContext, opts: YoloOptions) -> None:
        self._labels = context.labels
        self._opts = opts
        self._scale = np.array([context.input_width, context.input_height] * 2, dtype=np.float32)

    @classmethod
    def create(cls, context: DecoderContext, options: dict[str, Any]) -> YoloDecoder:
        return cls(context, parse_options(YoloOptions, options, "yolo"))

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        out = require(outputs, "output", "yolo")
        if out.ndim != 3:
            raise ModelError(f"yolo: expected [1, 4 + C, N], got {list(out.shape)}")
        columns = out[0] if self._opts.transposed else out[0].T
        if columns.shape[1] < 5:
            raise ModelError(f"yolo: rows need 4 box values and >= 1 class, got {columns.shape}")
        class_scores = columns[:, 4:]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(columns)), class_ids]
        idx = np.flatnonzero(scores >= score_threshold)
        cx, cy, w, h = (columns[idx, i] for i in range(4))
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) / self._scale
        keep = batched_nms(
            boxes, scores[idx], class_ids[idx], self._opts.iou_threshold, self._opts.max_detections
        )
        return to_detections(boxes[keep], scores[idx][keep], class_ids[idx][keep], self._labels)
