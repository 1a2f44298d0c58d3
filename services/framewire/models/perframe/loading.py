"""Loading the per-frame path's model from its settings: the zoo or a model server.

Called once by the inference worker at start (and for each new served version) and by
``framewire replay``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framewire.models.api import Detector
from framewire.models.perframe.modes import ModalDetector
from framewire.models.perframe.settings import DetectorSettings, EngineMode


def _options(settings: DetectorSettings) -> dict[str, Any]:
    return {
        "cache_dir": Path(settings.model_cache_dir) if settings.model_cache_dir else None,
        "device": settings.device,
        "precision": settings.precision,
        "num_requests": settings.num_requests,
        "score_threshold": settings.score_threshold,
    }


def load_model(settings: DetectorSettings) -> Detector:
    """The configured model, from the model server when one is set, else from the zoo;
    compiled for latency and for throughput (a ModalDetector) in adaptive engine mode."""
    mode = settings.effective_mode
    if mode is EngineMode.ADAPTIVE:
        modal = ModalDetector(_load_one(settings, "LATENCY"))
        # Compiled beside the running worker: startup (and a restart) is as quick as before.
        modal.load_throughput(lambda: _load_one(settings, "THROUGHPUT"))
        return modal
    hint = "THROUGHPUT" if mode is EngineMode.THROUGHPUT else "LATENCY"
    return _load_one(settings, hint)


def _load_one(settings: DetectorSettings, hint: str) -> Detector:
    from framewire.models import loader

    options = {**_options(settings), "performance_hint": hint}
    if hint == "LATENCY":
        options["num_requests"] = None  # latency mode runs one request at a time
    if settings.model_server_url:
        return loader.load_from_server(settings.model_server_url, settings.model, **options)
    return loader.load_detector(settings.model, **options)
