"""OpenVINO ``DetectionOutput`` (Open Model Zoo SSD-style IRs, Caffe SSD exports).

One output [1, 1, N, 7]; each row is (image_id, label, confidence, xmin, ymin, xmax,
ymax) with normalised coordinates. A row with image_id < 0 ends the list. NMS is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.core.errors import ModelError
from framewire.core.records import Detection
from framewire.models.api import RawOutputs
from framewire.models.decoders.base import DecoderContext, parse_options, require, to_detections


@dataclass(frozen=True)
class DetectionOutputOptions:
    # Subtracted from the label column to index the labels (1 when 0 is background).
    label_offset: int = 0
    max_detections: int = 200


class DetectionOutputDecoder:
    # The model's single output, whatever it is called.
    output_names: tuple[str, ...] = ()

    def __init__(self, context: DecoderContext, opts: DetectionOutputOptions) -> None:
        self._labels = context.labels
        self._opts = opts

    @classmethod
    def create(cls, context: DecoderContext, options: dict[str, Any]) -> DetectionOutputDecoder:
        return cls(context, parse_options(DetectionOutputOptions, options, "detection_output"))

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        table = require(outputs, "output", "detection_output")
        if table.ndim != 4 or table.shape[-1] != 7:
            raise ModelError(f"detection_output: expected [1, 1, N, 7], got {list(table.shape)}")
        rows = table.reshape(-1, 7)
        ends = np.flatnonzero(rows[:, 0] < 0)
        rows = rows[: ends[0]] if ends.size else rows
        rows = rows[rows[:, 2] >= score_threshold]
        rows = rows[np.argsort(-rows[:, 2], kind="stable")][: self._opts.max_detections]
        class_ids = rows[:, 1].astype(np.int64) - self._opts.label_offset
        return to_detections(rows[:, 3:7], rows[:, 2], class_ids, self._labels)
