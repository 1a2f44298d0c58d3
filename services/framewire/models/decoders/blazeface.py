"""MediaPipe BlazeFace: box regressions against fixed-size anchors plus one face logit.

Short-range model: 128x128 input, anchors on a 16x16 grid (stride 8, 2 per cell) and an
8x8 grid (stride 16, 6 per cell) = 896. Each regression row is (x, y, w, h) in input
pixels relative to its anchor, then 6 keypoints we do not use. Overlapping boxes are
blended (MediaPipe's weighted NMS) rather than dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.core.records import Detection
from framewire.models.api import RawOutputs
from framewire.models.decoders.base import (
    DecoderContext,
    parse_options,
    require,
    sigmoid,
    to_detections,
)
from framewire.models.nms import weighted_nms


@dataclass(frozen=True)
class BlazeFaceOptions:
    # One entry per SSD layer; consecutive layers with the same stride share a grid.
    strides: tuple[int, ...] = (8, 16, 16, 16)
    # Anchors per cell contributed by each layer (aspect 1.0 plus the interpolated one).
    anchors_per_layer: int = 2
    iou_threshold: float = 0.3
    max_detections: int = 100
    boxes_output: str = "regressors"
    scores_output: str = "classificators"


def blazeface_anchors(opts: BlazeFaceOptions, width: int, height: int) -> np.ndarray:
    """Anchor centres as rows of (x, y), normalised, in output order."""
    rows = []
    layer = 0
    while layer < len(opts.strides):
        stride = opts.strides[layer]
        same = 0
        while layer < len(opts.strides) and opts.strides[layer] == stride:
            same, layer = same + 1, layer + 1
        fm_w, fm_h = math.ceil(width / stride), math.ceil(height / stride)
        ys, xs = np.meshgrid((np.arange(fm_h) + 0.5) / fm_h, (np.arange(fm_w) + 0.5) / fm_w, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        rows.append(np.repeat(cells, same * opts.anchors_per_layer, axis=0))
    return np.concatenate(rows).astype(np.float32)


class BlazeFaceDecoder:
    def __init__(self, context: DecoderContext, opts: BlazeFaceOptions) -> None:
        self._labels = context.labels
        self._opts = opts
        self._size = np.array([context.input_width, context.input_height], dtype=np.float32)
        self._anchors = blazeface_anchors(opts, context.input_width, context.input_height)
        self.output_names = (opts.boxes_output, opts.scores_output)

    @classmethod
    def create(cls, context: DecoderContext, options: dict[str, Any]) -> BlazeFaceDecoder:
        return cls(context, parse_options(BlazeFaceOptions, options, "blazeface"))

    @property
    def num_anchors(self) -> int:
        return len(self._anchors)

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        raw = require(outputs, self._opts.boxes_output, "blazeface")[0]
        scores = sigmoid(require(outputs, self._opts.scores_output, "blazeface")[0][:, 0])
        idx = np.flatnonzero(scores >= score_threshold)
        if idx.size == 0:
            return []
        # Fixed-size anchors (w = h = 1): offsets are in input pixels.
        centres = raw[idx, 0:2] / self._size + self._anchors[idx]
        sizes = raw[idx, 2:4] / self._size
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        blended = weighted_nms(boxes, scores[idx], self._opts.iou_threshold, self._opts.max_detections)
        if not blended:
            return []
        kept_boxes = np.stack([b for b, _ in blended])
        kept_scores = np.array([s for _, s in blended])
        return to_detections(kept_boxes, kept_scores, np.zeros(len(blended), int), self._labels)
