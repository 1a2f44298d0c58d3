"""A Detector (see ``api.py``) built from an OpenVINO model, a decoder and a ModelSpec.

The uint8 BGR -> model input conversion (colour order, float scaling) is compiled into the
graph with OpenVINO's PrePostProcessor, so ``preprocess`` is only a resize and the tensor
crossing threads stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openvino as ov
from openvino.preprocess import ColorFormat, PrePostProcessor

from framewire.core.errors import ModelError
from framewire.core.records import Detection
from framewire.models.api import ModelInfo, RawOutputs
from framewire.models.decoders import Decoder, DecoderContext, make_decoder
from framewire.models.engine import Engine, EngineOptions, Precision
from framewire.models.zoo import InputScaling, ModelSpec

_SCALES = {InputScaling.SIGNED_UNIT: (127.5, 127.5), InputScaling.UNIT: (0.0, 255.0)}


def prepare_model(model: ov.Model, spec: ModelSpec) -> ov.Model:
    """Fix the input shape and build uint8 BGR NHWC -> model input into the graph."""
    if len(model.inputs) != 1:
        raise ModelError(f"{spec.model_id}: expected one image input, the model has {len(model.inputs)}")
    if spec.reshape is not None:
        model.reshape({0: ov.PartialShape(list(spec.reshape))})
    ppp = PrePostProcessor(model)
    tensor = ppp.input().tensor()
    tensor.set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    tensor.set_color_format(ColorFormat.BGR)
    steps = ppp.input().preprocess()
    steps.convert_color(ColorFormat.RGB if spec.color == "RGB" else ColorFormat.BGR)
    if spec.scaling is not InputScaling.RAW_UINT8:
        steps.convert_element_type(ov.Type.f32)
    if spec.scaling in _SCALES:
        mean, scale = _SCALES[spec.scaling]
        steps.mean(mean).scale(scale)
    ppp.input().model().set_layout(ov.Layout(spec.layout))
    return ppp.build()


def resolve_outputs(
    model: ov.Model | ov.CompiledModel, wanted: Sequence[str], model_id: str
) -> dict[str, int]:
    """Map each output name a decoder wants to the model's output index.

    TF graphs name tensors ``name:0``; either spelling matches. A decoder that wants no
    names reads the single output under the key "output".
    """
    if not wanted:
        if len(model.outputs) != 1:
            raise ModelError(f"{model_id}: the decoder reads one output, the model has {len(model.outputs)}")
        return {"output": 0}
    ports: dict[str, int] = {}
    for name in wanted:
        for i, out in enumerate(model.outputs):
            names = out.get_names() | {n.removesuffix(":0") for n in out.get_names()}
            if name in names:
                ports[name] = i
                break
        else:
            have = sorted(n for o in model.outputs for n in o.get_names())
            raise ModelError(f"{model_id}: output {name!r} not found; the model has {have}")
    return ports


class OpenVinoDetector:
    """Implements ``framewire.models.api.Detector``; built by the loader."""

    def __init__(self, info: ModelInfo, engine: Engine, decoder: Decoder) -> None:
        self.info = info
        self._engine = engine
        self._decoder = decoder
        self._size = (info.input_width, info.input_height)

    @property
    def num_requests(self) -> int:
        """Size of the async request pool."""
        return self._engine.num_requests

    def preprocess(self, bgr: np.ndarray) -> np.ndarray:
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ModelError(
                f"{self.info.model_id}: expected an HxWx3 uint8 BGR image, got "
                f"shape {bgr.shape} dtype {bgr.dtype}"
            )
        resized = cv2.resize(bgr, self._size, interpolation=cv2.INTER_LINEAR)
        return resized[np.newaxis]

    def infer(self, batch: np.ndarray) -> list[RawOutputs]:
        # The zoo's graphs are fixed at batch 1: a batch runs image by image.
        return [self._engine.infer(batch[i : i + 1]) for i in range(len(batch))]

    def infer_async(
        self, batch: np.ndarray, done: Callable[[list[RawOutputs], Any], None], userdata: Any
    ) -> None:
        if len(batch) > self.info.max_batch:
            raise ModelError(
                f"{self.info.model_id}: async batch of {len(batch)} exceeds max_batch {self.info.max_batch}"
            )
        self._engine.start_async(batch, done, userdata)

    def wait_all(self) -> None:
        self._engine.wait_all()

    def postprocess(self, outputs: RawOutputs) -> list[Detection]:
        return self._decoder.decode(outputs, self.info.score_threshold)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return self.postprocess(self._engine.infer(self.preprocess(bgr)))


def build_detector(
    model: ov.Model | Path,
    spec: ModelSpec,
    engine_opts: EngineOptions,
    score_threshold: float | None,
    *,
    prepared: bool = False,
    version: str | None = None,
) -> OpenVinoDetector:
    """Prepare, compile and wrap ``model``; called by the loader for zoo and served models.

    ``prepared`` models already carry ``prepare_model``'s input conversion (quantized
    variants and the loader's prepared IR files are saved with it; a ``Path`` model must
    be one of those); ``version`` replaces the spec's (a variant's own)."""
    threshold = spec.score_threshold if score_threshold is None else score_threshold
    if not 0.0 <= threshold < 1.0:
        raise ModelError(f"score_threshold must be in [0, 1), got {threshold}")
    context = DecoderContext(spec.labels, spec.input_width, spec.input_height)
    decoder = make_decoder(spec.decoder, context, spec.decoder_options)
    if isinstance(model, Path):
        if not prepared:
            raise ModelError(f"{spec.model_id}: only a prepared IR can be compiled from its file")
        engine = Engine(model, lambda compiled: resolve_outputs(
            compiled, decoder.output_names, spec.model_id), engine_opts)
    else:
        graph = model if prepared else prepare_model(model, spec)
        engine = Engine(graph, resolve_outputs(graph, decoder.output_names, spec.model_id),
                        engine_opts)
    int8 = engine_opts.precision is Precision.INT8
    info = ModelInfo(
        model_id=spec.model_id,
        version=version or spec.version,
        input_width=spec.input_width,
        input_height=spec.input_height,
        labels=spec.labels,
        max_batch=1,
        precision="int8" if int8 else engine.precision,
        score_threshold=threshold,
    )
    return OpenVinoDetector(info, engine, decoder)
