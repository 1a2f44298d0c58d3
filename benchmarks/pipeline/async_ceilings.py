"""Ceilings of the cnap scenario, measured in the harness process in the same run.

* raw model: OpenVINO alone, THROUGHPUT hint, requests kept in flight on already
  preprocessed tensors (what the model can do when frames cost nothing);
* in-process async loop: the whole per-frame job in one program, as fast as it goes:
  JPEG bytes -> ``cv2.imdecode`` -> resize -> async infer (THROUGHPUT hint) ->
  post-process and threshold in the completion callback.

Both load the model as a worker does for the given precision ("f32" or "int8").
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from framewire.models.loader import load_detector


@dataclass(frozen=True)
class AsyncCeilings:
    model_id: str
    # Precision asked for ("f32", "int8") and the one OpenVINO reports running.
    asked: str
    precision: str
    raw_fps: float
    loop_fps: float
    requests: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _Counter:
    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def done(self, _: Any, __: Any) -> None:
        with self._lock:
            self.n += 1


def measure_async_ceilings(model_id: str, precision: str, jpegs: list[bytes],
                           seconds: float) -> AsyncCeilings:
    """Both ceilings for ``seconds`` each; raises what the loader raises (e.g. no INT8 model)."""
    detector: Any = load_detector(model_id, performance_hint="THROUGHPUT", precision=precision)
    try:
        tensors = [detector.preprocess(_decode(j)) for j in jpegs]
        raw = _raw(detector, tensors, seconds)
        loop = _loop(detector, jpegs, seconds)
        return AsyncCeilings(model_id, precision, detector.info.precision, raw, loop,
                             detector.num_requests)
    finally:
        detector.wait_all()
        del detector
        gc.collect()


def _raw(detector: Any, tensors: list[np.ndarray], seconds: float) -> float:
    counter = _Counter()
    for t in tensors[:4]:  # first requests pay for lazy allocations
        detector.infer(t)
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        detector.infer_async(tensors[i % len(tensors)], counter.done, None)  # blocks when all busy
        i += 1
    detector.wait_all()
    return counter.n / (time.perf_counter() - start)


def _loop(detector: Any, jpegs: list[bytes], seconds: float) -> float:
    counter = _Counter()
    threshold = detector.info.score_threshold

    def on_done(outputs: list[dict[str, np.ndarray]], _: Any) -> None:
        found = [d for d in detector.postprocess(outputs[0]) if d.score >= threshold]
        counter.done(found, None)

    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        tensor = detector.preprocess(_decode(jpegs[i % len(jpegs)]))
        detector.infer_async(tensor, on_done, None)
        i += 1
    detector.wait_all()
    return counter.n / (time.perf_counter() - start)


def _decode(jpeg: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("a workload JPEG did not decode")
    return bgr
