"""The two reference ceilings, measured in the harness process before the pipeline starts.

* raw model: OpenVINO inference alone on already preprocessed tensors (what the model
  could do if frames cost nothing to get and decode);
* monolith: the whole per-frame job in one loop, as a single program would do it: read
  the JPEG file, ``cv2.imdecode``, ``detector.detect`` (preprocess, infer, post-process).

They are measured twice, before the services start and after they stop (``bracket``).

Both load the model exactly as an inference worker does (same id, LATENCY hint, automatic
precision) and run in short alternating rounds, so background load hits both alike.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from framewire.models.loader import load_detector

# Length of one raw/monolith round: short rounds, alternated, so that a burst of other
# load on a shared machine lands on both ceilings rather than on one.
ROUND_S = 0.25


@dataclass(frozen=True)
class Ceilings:
    raw_fps: float
    monolith_fps: float
    # Median time of one inference and of one monolith frame, milliseconds.
    raw_ms_p50: float
    monolith_ms_p50: float
    model_id: str
    model_version: str
    precision: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bracket(before: Ceilings, after: Ceilings) -> dict[str, object]:
    """Ceilings measured before and after the pipeline. Other load on the machine can only
    slow a loop down, so the better of the two is the estimate of what the machine can do
    (and the stricter reference for the pipeline); the spread says how much it moved."""
    best = {"raw_fps": max(before.raw_fps, after.raw_fps),
            "monolith_fps": max(before.monolith_fps, after.monolith_fps),
            "raw_ms_p50": min(before.raw_ms_p50, after.raw_ms_p50),
            "monolith_ms_p50": min(before.monolith_ms_p50, after.monolith_ms_p50)}
    spread = {f"{k}_spread": abs(getattr(before, k) - getattr(after, k)) / best[k]
              for k in ("raw_fps", "monolith_fps")}
    return {**before.as_dict(), **best, **spread, "before": before.as_dict(), "after": after.as_dict()}


def measure_ceilings(model_id: str, jpeg_files: list[Path], seconds: float,
                     tick: Callable[[float], None] = lambda s: None) -> Ceilings:
    """Measure both ceilings for ``seconds`` each; ``tick(elapsed_s)`` feeds a progress bar."""
    ceilings = _measure(model_id, jpeg_files, seconds, tick)
    gc.collect()  # the model's memory and threads are not held while the pipeline runs
    return ceilings


def _measure(model_id: str, jpeg_files: list[Path], seconds: float,
             tick: Callable[[float], None]) -> Ceilings:
    detector = load_detector(model_id)
    tensors = [detector.preprocess(_decode(f.read_bytes())) for f in jpeg_files]
    frame_index = [0]

    def raw() -> None:
        detector.infer(tensors[frame_index[0] % len(tensors)])
        frame_index[0] += 1

    def monolith() -> None:
        path = jpeg_files[frame_index[0] % len(jpeg_files)]
        detector.detect(_decode(path.read_bytes()))
        frame_index[0] += 1

    raw(), monolith()  # first calls pay for lazy allocations
    raw_times: list[float] = []
    mono_times: list[float] = []
    rounds = max(2, round(seconds / ROUND_S))
    for _ in range(rounds):
        raw_times += _timed(raw, seconds / rounds, tick)
        mono_times += _timed(monolith, seconds / rounds, tick)
    info = detector.info
    return Ceilings(
        raw_fps=len(raw_times) / sum(raw_times), monolith_fps=len(mono_times) / sum(mono_times),
        raw_ms_p50=float(np.median(raw_times)) * 1e3,
        monolith_ms_p50=float(np.median(mono_times)) * 1e3,
        model_id=info.model_id, model_version=info.version, precision=info.precision,
    )


def _decode(jpeg: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("a workload JPEG did not decode")
    return bgr


def _timed(step: Callable[[], None], seconds: float, tick: Callable[[float], None]) -> list[float]:
    """Per-call durations of ``step`` run back to back for ``seconds``."""
    times: list[float] = []
    start = last_tick = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        step()
        times.append(time.perf_counter() - now)
        if now - last_tick >= 0.5:
            tick(now - last_tick)
            last_tick = now
    tick(time.perf_counter() - last_tick)
    return times
