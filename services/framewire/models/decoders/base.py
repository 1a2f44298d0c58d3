"""What every decoder shares: its contract, its construction context, option parsing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from framewire.core.errors import ModelError
from framewire.core.records import Box, Detection
from framewire.models.api import RawOutputs


@dataclass(frozen=True)
class DecoderContext:
    """What a decoder knows about its model besides its own options."""

    labels: tuple[str, ...]
    input_width: int
    input_height: int


class Decoder(Protocol):
    # Output tensors this decoder reads, by name; RawOutputs carry exactly these keys.
    # An empty tuple means "the model's single output", passed under the key "output".
    output_names: tuple[str, ...]

    def decode(self, outputs: RawOutputs, score_threshold: float) -> list[Detection]:
        """One image's raw outputs (batch dim of 1 kept) -> detections, best first."""
        ...


OptionsT = TypeVar("OptionsT")


def parse_options(cls: type[OptionsT], options: dict[str, Any], decoder: str) -> OptionsT:
    """Build a frozen options dataclass, refusing unknown or ill-typed options clearly."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(options) - known)
    if unknown:
        raise ModelError(f"decoder {decoder}: unknown options {unknown}; known: {sorted(known)}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"decoder {decoder}: bad options: {exc}") from None


def label_of(labels: tuple[str, ...], class_id: int) -> str:
    return labels[class_id] if 0 <= class_id < len(labels) else f"class_{class_id}"


def to_detections(
    boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, labels: tuple[str, ...]
) -> list[Detection]:
    """Rows of normalised (xmin, ymin, xmax, ymax) -> Detections, clipped to [0, 1]."""
    clipped = np.clip(boxes, 0.0, 1.0)
    return [
        Detection(
            class_id=int(c),
            label=label_of(labels, int(c)),
            score=float(s),
            box=Box(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
        )
        for b, s, c in zip(clipped, scores, class_ids, strict=True)
    ]


def sigmoid(x: np.ndarray) -> np.ndarray:
    # Clipping keeps exp() finite in float32 (e**89 overflows); sigmoid(80) is 1.0 anyway.
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def require(outputs: RawOutputs, name: str, decoder: str) -> np.ndarray:
    try:
        return outputs[name]
    except KeyError:
        raise ModelError(f"decoder {decoder}: output {name!r} missing; got {sorted(outputs)}") from None
