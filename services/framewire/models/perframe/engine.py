"""Decode and infer one cycle of frames without blocking the Kafka loop.

``Engine.submit`` is called by the worker with a cycle's frames and returns at once. A
dispatcher thread hands each frame to the decode pool (JPEG checks, reduced-size decode,
the model's preprocessing) and, in frame order, queues micro-batches on the detector's
async requests; OpenVINO's callbacks post-process. So decoding of frame i+1 overlaps the
inference of frame i, and the Kafka loop commits the previous cycle meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.models.api import Detector, RawOutputs
from framewire.models.perframe.jpeg import (
    JpegLimits,
    JpegRejected,
    check_jpeg,
    decode_jpeg,
    reduction_factor,
)
from framewire.models.perframe.modes import ModalDetector, ModeController
from framewire.models.perframe.records import FrameItem, Processed, Rejected, RejectKind, Timing
from framewire.models.perframe.slot import ModelSlot

log = logging.getLogger(__name__)

Outcome = Processed | Rejected


@dataclass(frozen=True, slots=True)
class _Prepared:
    index: int
    frame: FrameItem
    tensor: np.ndarray
    width: int
    height: int
    decode_us: int


class CycleWork:
    """The outcomes of one submitted cycle, in frame order, filled in by other threads."""

    def __init__(self, size: int) -> None:
        self.outcomes: list[Outcome | None] = [None] * size
        self.batch_sizes: list[int] = []
        self.error: BaseException | None = None
        self._left = size
        self._lock = threading.Lock()
        self._done = threading.Event()
        if size == 0:
            self._done.set()

    def set(self, index: int, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes[index] = outcome
            self._left -= 1
            if self._left == 0:
                self._done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def done(self) -> bool:
        return self._done.is_set()

    def results(self) -> list[Outcome]:
        """Outcomes once ``wait`` returned True; raises what failed the cycle."""
        if self.error is not None:
            raise self.error
        return [o for o in self.outcomes if o is not None]


class Engine:
    """Owns the decode pool and the dispatcher thread; one per worker."""

    def __init__(
        self, slot: ModelSlot, *, decode_threads: int, limits: JpegLimits, max_batch: int,
        reduced_decode: bool = True, modes: ModeController | None = None,
    ) -> None:
        self._slot = slot
        # Which compiled copy of a ModalDetector each cycle runs on (None: the only one).
        self._modes = modes
        # Engine time accounting for the mode controller: requests in flight, busy time.
        self._stats_lock = threading.Lock()
        self._in_flight = 0
        self._busy_since = 0.0
        self._busy_s = 0.0
        self._completed = 0
        self._limits = limits
        self._max_batch = max_batch
        self._reduced = reduced_decode
        self._decode = ThreadPoolExecutor(decode_threads, thread_name_prefix="fw-decode")
        self._dispatch = ThreadPoolExecutor(1, thread_name_prefix="fw-dispatch")

    def submit(self, frames: list[FrameItem]) -> CycleWork:
        work = CycleWork(len(frames))
        if frames:
            self._dispatch.submit(self._run_cycle, frames, work)
        return work

    def take_stats(self) -> tuple[int, float]:
        """Frames completed and seconds with a request in flight since the last call; called
        by the worker each turn to feed the mode controller."""
        now = time.perf_counter()
        with self._stats_lock:
            busy = self._busy_s + (now - self._busy_since if self._in_flight else 0.0)
            completed = self._completed
            self._busy_s, self._completed, self._busy_since = 0.0, 0, now
        return completed, busy

    def _started(self) -> None:
        with self._stats_lock:
            if self._in_flight == 0:
                self._busy_since = time.perf_counter()
            self._in_flight += 1

    def _finished(self, frames: int) -> None:
        with self._stats_lock:
            self._in_flight -= 1
            self._completed += frames
            if self._in_flight == 0:
                self._busy_s += time.perf_counter() - self._busy_since

    def _runner(self, detector: Detector) -> Detector:
        """The compiled copy this cycle runs on: the mode's, for a ModalDetector."""
        if self._modes is not None and isinstance(detector, ModalDetector):
            return detector.for_mode(self._modes.mode)
        return detector

    def close(self) -> None:
        """Finish queued cycles and in-flight requests; called once on shutdown."""
        self._dispatch.shutdown(wait=True)
        self._decode.shutdown(wait=True)
        self._slot.current.wait_all()

    def _run_cycle(self, frames: list[FrameItem], work: CycleWork) -> None:
        detector = self._slot.current  # one model version for the whole cycle
        runner = self._runner(detector)  # and one mode
        try:
            batch = max(1, min(self._max_batch, detector.info.max_batch))
            pending = [
                self._decode.submit(self._prepare, detector, i, f) for i, f in enumerate(frames)
            ]
            chunk: list[_Prepared] = []
            for future in pending:
                prepared = self._collect(future, work)
                if prepared is None:
                    continue
                chunk.append(prepared)
                if len(chunk) == batch:
                    self._infer(detector, runner, chunk, work)
                    chunk = []
            if chunk:
                self._infer(detector, runner, chunk, work)
        except Exception as exc:  # a failing model fails the cycle; the worker aborts it
            log.exception("inference cycle failed")
            work.fail(exc)

    @staticmethod
    def _collect(
        future: Future[_Prepared | tuple[int, Rejected]], work: CycleWork
    ) -> _Prepared | None:
        result = future.result()
        if isinstance(result, _Prepared):
            return result
        index, rejected = result
        work.set(index, rejected)
        return None

    def _prepare(
        self, detector: Detector, index: int, frame: FrameItem
    ) -> _Prepared | tuple[int, Rejected]:
        start = time.perf_counter()
        try:
            width, height = check_jpeg(frame.jpeg, self._limits)
            if frame.width and frame.height and (frame.width, frame.height) != (width, height):
                raise JpegRejected(
                    RejectKind.BAD_ENVELOPE,
                    f"frame says {frame.width}x{frame.height}, JPEG is {width}x{height}",
                )
            info = detector.info
            factor = 1
            if self._reduced:
                factor = reduction_factor(width, height, info.input_width, info.input_height)
            image = decode_jpeg(frame.jpeg, width, height, factor)
            tensor = detector.preprocess(image)
        except JpegRejected as exc:
            return index, Rejected(frame.inbound, exc.kind, str(exc), frame.stream_id)
        except Exception as exc:  # the model's preprocessing choked on this image
            log.warning("preprocessing failed at %s: %s", frame.coords, exc)
            message = f"preprocessing failed: {exc}"
            return index, Rejected(frame.inbound, RejectKind.INFERENCE_ERROR, message)
        elapsed = int((time.perf_counter() - start) * 1e6)
        return _Prepared(index, frame, tensor, width, height, elapsed)

    def _infer(
        self, detector: Detector, runner: Detector, chunk: list[_Prepared], work: CycleWork
    ) -> None:
        batch = chunk[0].tensor if len(chunk) == 1 else np.concatenate([c.tensor for c in chunk])
        work.batch_sizes.append(len(chunk))
        context = (detector, chunk, work, time.perf_counter())
        self._started()
        try:
            runner.infer_async(batch, self._on_done, context)
        except BaseException:
            self._finished(0)
            raise

    def _on_done(self, outputs: list[RawOutputs], context: Any) -> None:
        detector, chunk, work, started = context
        self._finished(len(chunk))
        try:
            infer_us = int((time.perf_counter() - started) * 1e6)
            if len(outputs) != len(chunk):
                raise RuntimeError(f"model returned {len(outputs)} outputs for {len(chunk)}")
            for prepared, raw in zip(chunk, outputs, strict=True):
                work.set(prepared.index, _postprocess(detector, prepared, raw, infer_us))
        except Exception as exc:  # never let an OpenVINO callback thread swallow a cycle
            log.exception("inference callback failed")
            work.fail(exc)


def _postprocess(detector: Detector, prepared: _Prepared, raw: RawOutputs, infer_us: int) -> Outcome:
    frame = prepared.frame
    t0 = time.perf_counter()
    try:
        detections = tuple(detector.postprocess(raw))
    except Exception as exc:
        log.warning("post-processing failed at %s: %s", frame.coords, exc)
        message = f"post-processing failed: {exc}"
        return Rejected(frame.inbound, RejectKind.INFERENCE_ERROR, message, frame.stream_id)
    post_us = int((time.perf_counter() - t0) * 1e6)
    info = detector.info
    return Processed(
        frame, detections, info.model_id, info.version,
        Timing(prepared.decode_us, infer_us, post_us), prepared.width, prepared.height,
    )
