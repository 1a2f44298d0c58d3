"""Output decoders, a registry by output format.

A decoder turns one image's raw output tensors into normalised, thresholded, NMS'd
detections. Adding a format is one module here plus one line in ``DECODERS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from framewire.core.errors import ModelError
from framewire.models.decoders.base import Decoder, DecoderContext

DECODERS: dict[str, str] = {
    "tf_od_api": "framewire.models.decoders.tf_od_api:TfObjectDetectionDecoder",
    "ssd_anchors": "framewire.models.decoders.ssd_anchors:SsdAnchorDecoder",
    "blazeface": "framewire.models.decoders.blazeface:BlazeFaceDecoder",
    "detection_output": "framewire.models.decoders.detection_output:DetectionOutputDecoder",
    "yolo": "framewire.models.decoders.yolo:YoloDecoder",
}

__all__ = ["DECODERS", "Decoder", "DecoderContext", "make_decoder"]


def make_decoder(name: str, context: DecoderContext, options: Mapping[str, Any]) -> Decoder:
    """Build the decoder registered as ``name``; called once when a model is loaded."""
    try:
        target = DECODERS[name]
    except KeyError:
        raise ModelError(f"unknown decoder {name!r}; known: {sorted(DECODERS)}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    decoder: Decoder = cls.create(context, dict(options))
    return decoder
