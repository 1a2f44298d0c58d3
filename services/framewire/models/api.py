"""The contract between the model library and the services that run models.

Inference, replay and the benchmarks depend only on what is declared here; the zoo,
decoders and engine implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from framewire.core.records import Detection

# Raw output tensors of one image, by output name.
RawOutputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is; ``version`` goes into every DetectionResult it makes."""

    model_id: str
    version: str
    input_width: int
    input_height: int
    labels: tuple[str, ...]
    # The largest batch one inference request may carry (1 when the graph is fixed-batch).
    max_batch: int
    # Inference precision OpenVINO chose, e.g. "bf16" or "f32".
    precision: str
    score_threshold: float


class Detector(Protocol):
    """A loaded, ready-to-run detection model.

    Call order per frame: ``preprocess`` (any thread), then ``infer`` or ``infer_async``
    on a batch of preprocessed tensors, then ``postprocess`` on each image's raw outputs.
    """

    info: ModelInfo

    def preprocess(self, bgr: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 BGR image -> one input tensor with a leading batch dim of 1."""
        ...

    def infer(self, batch: np.ndarray) -> list[RawOutputs]:
        """Run synchronously on ``batch`` (N stacked preprocess outputs), one dict per image."""
        ...

    def infer_async(
        self, batch: np.ndarray, done: Callable[[list[RawOutputs], Any], None], userdata: Any
    ) -> None:
        """Queue ``batch`` on the async request pool; ``done(outputs, userdata)`` is called
        from an OpenVINO thread when it completes. Blocks while every request is busy."""
        ...

    def wait_all(self) -> None:
        """Block until every queued async request has completed; called before shutdown."""
        ...

    def postprocess(self, outputs: RawOutputs) -> list[Detection]:
        """Raw outputs of one image -> detections (boxes normalised, thresholded, NMS'd)."""
        ...

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        """Convenience: preprocess, infer and postprocess one image synchronously."""
        ...


class DetectorLoader(Protocol):
    def __call__(self, model_id: str, **options: Any) -> Detector: ...


def label_names(detections: Sequence[Detection]) -> list[str]:
    """Labels of ``detections`` in order; used in logs and tests."""
    return [d.label for d in detections]
