"""Settings of the per-frame path: which model, how it runs, how frames are decoded.

Read from ``FW_INFERENCE_*`` by the inference service (``InferenceSettings`` extends them)
and by ``framewire replay``, so a replay runs the live worker's model the live way. Built in
``main()``/``run()``, never at import time; loadable without OpenVINO.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineMode(StrEnum):
    """How the worker runs the model."""

    # LATENCY while the worker keeps up, THROUGHPUT (several requests in flight, one
    # stream per core) while a backlog builds; both compiled once at start.
    ADAPTIVE = "adaptive"
    # One request at a time spread over every core: lowest latency per frame.
    LATENCY = "latency"
    # Several requests in flight, one per core: most frames per second.
    THROUGHPUT = "throughput"


# framewire.models.engine.Precision's values (not imported: settings load without OpenVINO).
PRECISIONS = ("auto", "bf16", "f32", "f16", "int8")


class DetectorSettings(BaseSettings):
    """The model, its engine mode and the frame decoding limits; env prefix ``FW_INFERENCE_``."""

    model_config = SettingsConfigDict(env_prefix="FW_INFERENCE_", frozen=True, extra="ignore")

    model: str = "ssd-mobilenet-v2-oidv4"
    # Model server base URL; when set, models come from it and new versions are picked up.
    model_server_url: str | None = None
    model_cache_dir: str | None = None
    device: str = "CPU"
    # auto, bf16, f32, f16 (OpenVINO's inference precision) or int8: the model's quantized
    # variant from the cache, made by ``framewire models quantize MODEL`` (refused when absent).
    precision: str = "auto"
    # ``adaptive`` switches between the two below with the load (see models/perframe/modes.py).
    engine_mode: EngineMode = EngineMode.ADAPTIVE
    # Deprecated: a hint given here (LATENCY, THROUGHPUT) fixes the mode as before.
    performance_hint: str | None = None
    # Requests in flight in throughput mode; default OpenVINO's optimal number.
    num_requests: int | None = Field(default=None, ge=1, le=64)
    # Adaptive mode: go to throughput when latency mode would be busier than ``mode_up``
    # of the time, back when below ``mode_down`` for ``mode_hold_s``.
    mode_up: float = Field(default=0.85, gt=0.0, le=2.0)
    mode_down: float = Field(default=0.6, gt=0.0, le=2.0)
    mode_hold_s: float = Field(default=3.0, ge=0.0, le=600.0)
    score_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # Images per inference request when the model accepts a batch (cross-stream batching).
    max_batch: int = Field(default=4, ge=1, le=64)
    decode_threads: int = Field(default=2, ge=1, le=32)
    # Decode at 1/2, 1/4 or 1/8 size when that still covers the model input (much faster for
    # large frames; detections can differ slightly from a full-size decode).
    reduced_decode: bool = True
    # Frames larger than this are refused before decoding (pixels per side, total bytes).
    max_side: int = Field(default=8192, ge=16, le=65536)
    max_jpeg_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    @field_validator("precision")
    @classmethod
    def _precision_known(cls, value: str) -> str:
        if value.lower() not in PRECISIONS:
            raise ValueError(f"precision {value!r} is not one of {', '.join(PRECISIONS)}")
        return value.lower()

    @property
    def effective_mode(self) -> EngineMode:
        """The mode asked for, a legacy ``performance_hint`` taking precedence."""
        hint = (self.performance_hint or "").upper()
        if hint == "LATENCY":
            return EngineMode.LATENCY
        if hint in ("THROUGHPUT", "CUMULATIVE_THROUGHPUT"):
            return EngineMode.THROUGHPUT
        return self.engine_mode
