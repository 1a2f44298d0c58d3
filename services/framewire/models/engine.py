"""The OpenVINO engine: one compiled model, a synchronous request and an async request pool.

Built once per loaded model by the loader. Device, performance hint, number of requests and
inference precision come from the caller's config; compiled models are cached on disk
(OpenVINO's ``CACHE_DIR``) unless the model is encrypted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov

from framewire.core.errors import ModelError

log = logging.getLogger(__name__)

# Per-image raw outputs, keyed by the names the decoder asked for.
Outputs = dict[str, np.ndarray]
AsyncDone = Callable[[list[Outputs], Any], None]


class PerformanceHint(StrEnum):
    LATENCY = "LATENCY"
    THROUGHPUT = "THROUGHPUT"
    CUMULATIVE_THROUGHPUT = "CUMULATIVE_THROUGHPUT"


class Precision(StrEnum):
    """Inference precision; AUTO lets OpenVINO choose (BF16 on CPUs that have it).

    INT8 runs the model's quantized variant from the cache (``framewire models quantize``);
    the layers left in floating point run at OpenVINO's default, as with AUTO."""

    AUTO = "auto"
    BF16 = "bf16"
    F32 = "f32"
    F16 = "f16"
    INT8 = "int8"


@dataclass(frozen=True)
class EngineOptions:
    device: str = "CPU"
    performance_hint: PerformanceHint = PerformanceHint.LATENCY
    num_requests: int | None = None
    precision: Precision = Precision.AUTO
    # Where compiled models are cached; None disables caching (always for encrypted models).
    cache_dir: Path | None = None

    @classmethod
    def parse(
        cls,
        *,
        device: str,
        performance_hint: str,
        num_requests: int | None,
        precision: str,
        cache_dir: Path | None,
    ) -> EngineOptions:
        """Validate user-facing option strings into an EngineOptions, with clear errors."""
        try:
            hint = PerformanceHint(performance_hint.upper())
            prec = Precision(precision.lower())
        except ValueError as exc:
            raise ModelError(
                f"bad engine option: {exc}; hints: "
                f"{[h.value for h in PerformanceHint]}, precisions: "
                f"{[p.value for p in Precision]}"
            ) from None
        if num_requests is not None and num_requests < 1:
            raise ModelError(f"num_requests must be >= 1, got {num_requests}")
        return cls(device, hint, num_requests, prec, cache_dir)

    def compile_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"PERFORMANCE_HINT": self.performance_hint.value}
        if self.num_requests is not None:
            config["PERFORMANCE_HINT_NUM_REQUESTS"] = self.num_requests
        if self.precision not in (Precision.AUTO, Precision.INT8):
            config["INFERENCE_PRECISION_HINT"] = self.precision.value
        if self.cache_dir is not None:
            config["CACHE_DIR"] = str(self.cache_dir)
        return config


_core_lock = threading.Lock()
_core: ov.Core | None = None


def shared_core() -> ov.Core:
    """One ov.Core per process: it owns the plugins and their thread pools."""
    global _core
    with _core_lock:
        if _core is None:
            _core = ov.Core()
        return _core


class Engine:
    """A compiled model. ``infer`` is thread-safe (one request behind a lock);
    ``start_async`` hands work to a pool of requests and blocks while all are busy."""

    def __init__(
        self, model: ov.Model | Path,
        output_ports: Mapping[str, int] | Callable[[ov.CompiledModel], Mapping[str, int]],
        opts: EngineOptions,
    ):
        """``model`` is a graph or an IR file (compiled from its path, which lets a compile
        cache hit skip reading it); ``output_ports`` may be worked out from the compiled
        model when there is no graph to read them from."""
        source = str(model) if isinstance(model, Path) else model
        try:
            self._compiled = shared_core().compile_model(source, opts.device, opts.compile_config())
        except RuntimeError as exc:
            raise ModelError(f"OpenVINO could not compile the model for {opts.device}: {exc}") from None
        ports = output_ports(self._compiled) if callable(output_ports) else output_ports
        self._ports = {name: self._compiled.outputs[i] for name, i in ports.items()}
        self._sync = self._compiled.create_infer_request()
        self._sync_lock = threading.Lock()
        jobs = opts.num_requests or int(self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._queue = ov.AsyncInferQueue(self._compiled, max(1, jobs))
        self._queue.set_callback(self._on_done)

    @property
    def precision(self) -> str:
        """The precision OpenVINO actually runs at, e.g. "bf16" or "f32"."""
        try:
            return str(self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name())
        except RuntimeError:  # devices without the property
            return "unknown"

    @property
    def num_requests(self) -> int:
        return len(self._queue)

    def _collect(self, request: ov.InferRequest) -> Outputs:
        # Copies: the request's buffers are reused by its next inference.
        return {name: np.array(request.get_tensor(port).data) for name, port in self._ports.items()}

    def infer(self, tensor: np.ndarray) -> Outputs:
        """Run one input tensor synchronously on the caller's thread."""
        with self._sync_lock:
            self._sync.infer({0: tensor})
            return self._collect(self._sync)

    def start_async(self, tensor: np.ndarray, done: AsyncDone, userdata: Any) -> None:
        """Queue one input tensor; ``done([outputs], userdata)`` runs on an OpenVINO thread."""
        self._queue.start_async({0: tensor}, (done, userdata))

    def _on_done(self, request: ov.InferRequest, job: tuple[AsyncDone, Any]) -> None:
        done, userdata = job
        try:
            done([self._collect(request)], userdata)
        except Exception:
            # An exception escaping into OpenVINO's thread would be lost; log it here.
            log.exception("async inference callback failed")

    def wait_all(self) -> None:
        self._queue.wait_all()
