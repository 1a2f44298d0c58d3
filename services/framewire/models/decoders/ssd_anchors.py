"""SSD with raw outputs: box encodings against anchors plus per-class logits.

For TFLite exports of the TF Object Detection API's SSD models (no in-graph NMS), e.g.
MediaPipe's OIDv4 SSD-MobileNetV2. Anchors follow TF's ``ssd_anchor_generator``; box
encodings are (ty, tx, th, tw) decoded with the Faster R-CNN box coder.
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
from framewire.models.nms import batched_nms


@dataclass(frozen=True)
class SsdAnchorOptions:
    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
    # Feature-map strides in input pixels; map sizes are ceil(input / stride).
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    reduce_boxes_in_lowest_layer: bool = True
    # y, x, h, w scale factors of the box coder.
    box_scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    # Column 0 of the logits is background and is not a class.
    background_class: bool = True
    iou_threshold: float = 0.45
    max_detections: int = 100
    boxes_output: str = "raw_outputs/box_encodings"
    scores_output: str = "raw_outputs/class_predictions"


def _layer_box_specs(opts: SsdAnchorOptions, layer: int, scales: list[float]) -> list[tuple]:
    """(scale, aspect ratio) of each anchor at one grid cell of ``layer``."""
    scale = scales[layer]
    if layer == 0 and opts.reduce_boxes_in_lowest_layer:
        return [(0.1, 1.0), (scale, 2.0), (scale, 0.5)]
    specs = [(scale, ar) for ar in opts.aspect_ratios]
    specs.append((math.sqrt(scale * scales[layer + 1]), 1.0))
    return specs


def ssd_anchors(opts: SsdAnchorOptions, input_width: int, input_height: int) -> np.ndarray:
    """Anchors as rows of (ycenter, xcenter, height, width), normalised, in output order."""
    n = opts.num_layers
    scales = [opts.min_scale + (opts.max_scale - opts.min_scale) * i / (n - 1) for i in range(n)]
    scales.append(1.0)
    rows = []
    for layer in range(n):
        fm_h = math.ceil(input_height / opts.strides[layer])
        fm_w = math.ceil(input_width / opts.strides[layer])
        specs = np.array(_layer_box_specs(opts, layer, scales))
        heights = specs[:, 0] / np.sqrt(specs[:, 1])
        widths = specs[:, 0] * np.sqrt(specs[:, 1])
        ys, xs = np.meshgrid((np.arange(fm_h) + 0.5) / fm_h, (np.arange(fm_w) + 0.5) / fm_w, indexing="ij")
        # Order: row, column, anchor: the anchor index varies fastest, as in TF.
        cells = np.stack([ys.ravel(), xs.ravel()], axis=1)
        per_cell = len(specs)
        centers = np.repeat(cells, per_cell, axis=0)
        sizes = np.tile(np.stack([heights, widths], axis=1), (len(cells), 1))
        rows.append(np.concatenate([centers, sizes], axis=1))
    return np.concatenate(rows).astype(np.float32)


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray, scales: tuple) -> np.ndarray:
    """(ty, tx, th, tw) against (ya, xa, ha, wa) -> (xmin, ymin, xmax, ymax)."""
    sy, sx, sh, sw = scales
    yc = encodings[:, 0] / sy * anchors[:, 2] + anchors[:, 0]
    xc = encodings[:, 1] / sx * anchors[:, 3] + anchors[:, 1]
    h = np.exp(encodings[:, 2] / sh) * anchors[:, 2]
    w = np.exp(encodings[:, 3] / sw) * anchors[:, 3]
    return np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)


class SsdAnchorDecoder:
    def __init__(self, context: DecoderContext, opts: SsdAnchorOptions) -> None:
        self._labels = context.labels
        self._opts = opts
        self._anchors = ssd_anchors(opts, context.input_width, context.input_height)
        self.output_names = (opts.boxes_output, opts.scores_output)

    @classmethod
    def create(cls, context: DecoderContext, options: dict[str, Any]) -> SsdAnchorDecoder:
        return cls(context, parse_options(SsdAnchorOptions, options, "ssd_anchors"))

    @property
    def num_anchors(self) -> int:
        return len(self._anchors)

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        encodings = require(outputs, self._opts.boxes_output, "ssd_anchors")[0]
        logits = require(outputs, self._opts.scores_output, "ssd_anchors")[0]
        if self._opts.background_class:
            logits = logits[:, 1:]
        # Threshold on logits, so the sigmoid runs only on the few candidates.
        cutoff = (
            math.log(score_threshold / (1.0 - score_threshold))
            if 0 < score_threshold < 1
            else (-np.inf if score_threshold <= 0 else np.inf)
        )
        anchor_idx, class_ids = np.nonzero(logits > cutoff)
        if anchor_idx.size == 0:
            return []
        scores = sigmoid(logits[anchor_idx, class_ids])
        boxes = decode_boxes(encodings[anchor_idx], self._anchors[anchor_idx], self._opts.box_scales)
        keep = batched_nms(boxes, scores, class_ids, self._opts.iou_threshold, self._opts.max_detections)
        return to_detections(boxes[keep], scores[keep], class_ids[keep], self._labels)
