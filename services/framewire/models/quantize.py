"""Post-training INT8 quantization of a zoo model with NNCF, behind an accuracy gate.

Called by ``framewire models quantize MODEL`` and the quantization benchmark. The model is
prepared exactly as the loader prepares it (uint8 BGR input, colour and scaling in the
graph), calibrated on real images (``calibration.py``), then the INT8 and f32 detections
of held-out images are IoU-matched; only a model whose F1 reaches the threshold is stored
in the cache, with its sha256 and provenance (``quantized.py``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from framewire.core.errors import ConfigError
from framewire.models.calibration import ImageSet
from framewire.models.gate import DEFAULT_IOU, DEFAULT_MIN_F1, GateFigures, check, measure, summary
from framewire.models.quantized import QuantizedEntry, save_entry
from framewire.models.zoo import ModelSpec, get_spec

log = logging.getLogger(__name__)


class Preset(StrEnum):
    """NNCF's quantization presets. MIXED (asymmetric activations) is the default: on the
    sample set it agreed with f32 as well as PERFORMANCE (symmetric) for both SSDs and better
    for BlazeFace (F1 0.90 against 0.85: PERFORMANCE added faces f32 did not find)."""

    MIXED = "mixed"
    PERFORMANCE = "performance"


@dataclass(frozen=True)
class QuantizeResult:
    """What ``quantize_model`` did: the stored entry (None for a dry run) and the figures."""

    model_id: str
    entry: QuantizedEntry | None
    figures: GateFigures
    calibration_images: int
    seconds: float


def _nncf() -> Any:
    try:
        import nncf
    except ImportError:
        raise ConfigError(
            "quantizing needs NNCF: pip install 'framewire[quantize]' (scripts/setup.sh does)"
        ) from None
    return nncf


def quantize_model(
    model_id: str,
    images: ImageSet,
    cache_dir: Path,
    *,
    min_f1: float = DEFAULT_MIN_F1,
    iou: float = DEFAULT_IOU,
    preset: Preset = Preset.MIXED,
    store: bool = True,
) -> QuantizeResult:
    """Quantize ``model_id``, judge it against f32 on ``images.evaluation`` and store it.

    Raises ``QuantizationRefused`` (nothing stored) when F1 < ``min_f1``."""
    from framewire.models.detector import build_detector
    from framewire.models.engine import EngineOptions, Precision

    nncf = _nncf()
    if not images.calibration or not images.evaluation:
        raise ConfigError("quantizing needs calibration and evaluation images; got none")
    spec = get_spec(model_id)
    f32, quantized, seconds = _quantize(nncf, spec, cache_dir, images, preset)
    int8 = build_detector(quantized, spec, EngineOptions(precision=Precision.INT8), None, prepared=True)
    evaluation = images.evaluation
    figures = measure([f32.detect(i) for i in evaluation], [int8.detect(i) for i in evaluation], iou)
    log.info("%s: %s", model_id, summary(figures))
    check(figures, min_f1, model_id)
    entry = None
    if store:
        provenance = _provenance(spec, images, figures, min_f1, seconds, preset, _versions(nncf))
        entry = save_entry(quantized, spec, cache_dir, provenance)
        log.info("%s: stored INT8 %s (sha256 %s)", model_id, entry.version, entry.sha256)
    return QuantizeResult(model_id, entry, figures, len(images.calibration), seconds)


def _quantize(
    nncf: Any, spec: ModelSpec, cache_dir: Path, images: ImageSet, preset: Preset
) -> tuple[Any, Any, float]:
    """The f32 reference detector, the quantized graph and the seconds NNCF took."""
    from framewire.models.cache import fetch
    from framewire.models.detector import build_detector, prepare_model
    from framewire.models.engine import EngineOptions, Precision, shared_core

    path = str(fetch(spec, cache_dir))
    core = shared_core()
    f32 = build_detector(core.read_model(path), spec, EngineOptions(precision=Precision.F32), None)
    calibration = [f32.preprocess(image) for image in images.calibration]
    t0 = time.monotonic()
    # NNCF draws progress bars on stdout, which belongs to the command's results.
    with contextlib.redirect_stdout(sys.stderr):
        quantized = nncf.quantize(
            prepare_model(core.read_model(path), spec), nncf.Dataset(calibration),
            subset_size=len(calibration), preset=nncf.QuantizationPreset(preset.value),
        )
    seconds = time.monotonic() - t0
    log.info("%s: NNCF quantized on %d images in %.1f s", spec.model_id, len(calibration), seconds)
    return f32, quantized, seconds


def _versions(nncf: Any) -> dict[str, str]:
    import openvino as ov

    return {"nncf_version": nncf.__version__, "openvino_version": ov.get_version()}


def _provenance(
    spec: ModelSpec, images: ImageSet, figures: GateFigures, min_f1: float, seconds: float,
    preset: Preset, versions: dict[str, str],
) -> dict[str, Any]:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": f"nncf.quantize, post-training, preset {preset.value}, on the prepared uint8 BGR graph",
        "calibration": {"source": images.source, "images": len(images.calibration)},
        "agreement": {**figures.as_dict(), "min_f1": min_f1, "reference": "f32"},
        **versions,
        "quantize_seconds": round(seconds, 2),
        "source": {"kind": spec.source.kind, "package": spec.source.package,
                   "version": spec.source.version, "member": spec.source.member},
    }
