"""TF Object Detection API exports with NMS inside the graph.

Outputs: ``detection_boxes`` [1, K, 4] as normalised (ymin, xmin, ymax, xmax),
``detection_scores`` [1, K], ``detection_classes`` [1, K] (float class ids) and
``num_detections`` [1]. Only thresholding and label mapping are left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.core.records import Detection
from framewire.models.api import RawOutputs
from framewire.models.decoders.base import DecoderContext, parse_options, require, to_detections


@dataclass(frozen=True)
class TfObjectDetectionOptions:
    # Subtracted from the graph's class ids to index the labels (1 when 0 is background).
    class_offset: int = 1
    boxes_output: str = "detection_boxes"
    scores_output: str = "detection_scores"
    classes_output: str = "detection_classes"
    count_output: str = "num_detections"


class TfObjectDetectionDecoder:
    def __init__(self, context: DecoderContext, opts: TfObjectDetectionOptions) -> None:
        self._labels = context.labels
        self._opts = opts
        self.output_names = (
            opts.boxes_output,
            opts.scores_output,
            opts.classes_output,
            opts.count_output,
        )

    @classmethod
    def create(cls, context: DecoderContext, options: dict[str, Any]) -> TfObjectDetectionDecoder:
        return cls(context, parse_options(TfObjectDetectionOptions, options, "tf_od_api"))

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        o = self._opts
        count = int(np.asarray(require(outputs, o.count_output, "tf_od_api")).ravel()[0])
        boxes = require(outputs, o.boxes_output, "tf_od_api")[0][:count]
        scores = require(outputs, o.scores_output, "tf_od_api")[0][:count]
        classes = require(outputs, o.classes_output, "tf_od_api")[0][:count]
        keep = np.flatnonzero(scores >= score_threshold)
        keep = keep[np.argsort(-scores[keep], kind="stable")]
        xyxy = boxes[keep][:, [1, 0, 3, 2]]
        # Rounded, not truncated: a quantized graph computes the ids in reduced precision
        # (0.99999994 for class 1).
        class_ids = np.rint(classes[keep]).astype(np.int64) - o.class_offset
        return to_detections(xyxy, scores[keep], class_ids, self._labels)
