"""The INT8 accuracy gate: how far a quantized model's detections agree with f32's.

Pure logic over detections (no OpenVINO): the f32 model is the reference, the INT8 model is
judged against it with ``framewire compare``'s IoU matching (``framewire.core.agreement``).
``measure`` is called by ``framewire models quantize`` after quantizing, ``check`` refuses
a model whose F1 is below the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from framewire.core.agreement import compare
from framewire.core.errors import ModelError
from framewire.core.records import Detection

DEFAULT_MIN_F1 = 0.95
DEFAULT_IOU = 0.5


class QuantizationRefused(ModelError):
    """The quantized model disagrees with f32 too much (or there was nothing to judge)."""


@dataclass(frozen=True)
class GateFigures:
    """Detection-level agreement of INT8 against f32 on the evaluation images."""

    images: int
    iou: float
    f32_detections: int
    int8_detections: int
    matched: int
    # Per label: (f32 count, int8 count, matched).
    per_label: dict[str, tuple[int, int, int]]

    @property
    def precision(self) -> float | None:
        return self.matched / self.int8_detections if self.int8_detections else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.f32_detections if self.f32_detections else None

    @property
    def f1(self) -> float | None:
        """2 * matched / (f32 + int8 detections); None when neither found anything."""
        total = self.f32_detections + self.int8_detections
        return 2 * self.matched / total if total else None

    def as_dict(self) -> dict[str, Any]:
        """For the cache entry's provenance and ``--json``."""
        return {
            "images": self.images, "iou": self.iou, "f32_detections": self.f32_detections,
            "int8_detections": self.int8_detections, "matched": self.matched,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "per_label": {k: dict(zip(("f32", "int8", "matched"), v, strict=True))
                          for k, v in sorted(self.per_label.items())},
        }


def measure(
    f32: Sequence[Sequence[Detection]], int8: Sequence[Sequence[Detection]], iou: float = DEFAULT_IOU
) -> GateFigures:
    """Agreement of ``int8`` against ``f32``, the detections of the same images in order."""
    if len(f32) != len(int8):
        raise ValueError(f"{len(f32)} f32 results but {len(int8)} int8 results")
    a = {("eval", 0, i): dets for i, dets in enumerate(f32)}
    b = {("eval", 0, i): dets for i, dets in enumerate(int8)}
    agreement = compare(a, b, iou)
    total = agreement.total()
    per_label = {k: (c.count_a, c.count_b, c.matched) for k, c in agreement.per_class.items()}
    return GateFigures(len(f32), iou, total.count_a, total.count_b, total.matched, per_label)


def check(figures: GateFigures, min_f1: float, model_id: str) -> None:
    """Raise QuantizationRefused unless ``figures.f1 >= min_f1``."""
    f1 = figures.f1
    if f1 is None:
        raise QuantizationRefused(
            f"{model_id}: neither f32 nor INT8 detected anything on {figures.images} evaluation "
            "images, so agreement cannot be judged; calibrate on frames that show the model's "
            "classes (--from-topic STREAM)"
        )
    if f1 < min_f1:
        raise QuantizationRefused(
            f"{model_id}: INT8 agrees with f32 at F1 {f1:.3f} (IoU >= {figures.iou}, "
            f"{figures.matched} matched of {figures.f32_detections} f32 and "
            f"{figures.int8_detections} INT8 detections on {figures.images} images), below the "
            f"required {min_f1:.3f}; the quantized model was not stored. Calibrate on more "
            "representative frames (--from-topic STREAM, --images N) or lower --min-f1"
        )


def summary(figures: GateFigures) -> str:
    """One line for the console and the log."""
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    return (
        f"agreement with f32 on {figures.images} images (IoU >= {figures.iou}): F1 {pct(figures.f1)}, "
        f"precision {pct(figures.precision)}, recall {pct(figures.recall)}; "
        f"f32 {figures.f32_detections}, INT8 {figures.int8_detections}, matched {figures.matched}"
    )
