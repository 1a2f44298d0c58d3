"""Engine modes: the model compiled for latency and for throughput, and when to use which.

With the LATENCY hint one request at a time is spread over every core: the shortest time
per frame, but a worker that falls behind cannot catch up, and any other process on the
box stalls each inference. With the THROUGHPUT hint there is one stream per core and
several requests in flight: each frame takes longer, the worker does more frames per
second. ``adaptive`` compiles both once (``ModalDetector``) and ``ModeController`` picks,
per cycle, the one the load calls for.

The controller's signal is how busy latency mode is or would be: the arrival rate times
the time latency mode needs per frame (measured while it runs). Above ``up`` (two windows
in a row) it switches to throughput; below ``down`` for ``hold_s`` it switches back. The gap and the
hold keep it from flapping at the boundary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from framewire.core.records import Detection
from framewire.models.api import Detector, RawOutputs
from framewire.models.perframe.settings import EngineMode

log = logging.getLogger(__name__)

# Modes an engine actually runs in (ADAPTIVE is a choice between them).
RUNNING = (EngineMode.LATENCY, EngineMode.THROUGHPUT)


class ModalDetector:
    """One model compiled twice; ``for_mode`` gives the compiled copy for a mode.

    The throughput copy may be compiled in the background (``load_throughput``), so a worker
    starts as fast as with one copy; until it is ready every mode runs on the latency copy.
    Implements the ``Detector`` protocol by delegating to the latency copy (pre- and
    post-processing are the same for both), so code that knows nothing of modes works.
    """

    def __init__(self, latency: Detector, throughput: Detector | None = None) -> None:
        self.latency = latency
        self.throughput = throughput
        self.info = latency.info
        self._ready = threading.Event()
        if throughput is not None:
            self._ready.set()

    def load_throughput(self, load: Callable[[], Detector]) -> None:
        """Compile the throughput copy on a daemon thread; a failure keeps latency only."""
        def run() -> None:
            try:
                throughput = load()
                warm_up(throughput)
                self.throughput = throughput
            except Exception:
                log.exception("throughput copy of the model not loaded; latency mode only")
            finally:
                self._ready.set()

        threading.Thread(target=run, name="fw-throughput-compile", daemon=True).start()

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """True once the throughput copy is loaded (or failed to); for tests and shutdown."""
        return self._ready.wait(timeout_s)

    def for_mode(self, mode: EngineMode) -> Detector:
        throughput = self.throughput
        if mode is EngineMode.THROUGHPUT and throughput is not None:
            return throughput
        return self.latency

    def preprocess(self, bgr: np.ndarray) -> np.ndarray:
        return self.latency.preprocess(bgr)

    def infer(self, batch: np.ndarray) -> list[RawOutputs]:
        return self.latency.infer(batch)

    def infer_async(
        self, batch: np.ndarray, done: Callable[[list[RawOutputs], Any], None], userdata: Any
    ) -> None:
        self.latency.infer_async(batch, done, userdata)

    def wait_all(self) -> None:
        self.latency.wait_all()
        if self.throughput is not None:
            self.throughput.wait_all()

    def postprocess(self, outputs: RawOutputs) -> list[Detection]:
        return self.latency.postprocess(outputs)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return self.latency.detect(bgr)


# Async jobs that touch every request of a throughput copy (OpenVINO hands them out in turn).
_WARM_UP_JOBS = 8


def warm_up(detector: Detector) -> None:
    """Run a blank image through each of ``detector``'s requests once, before it serves;
    called on a freshly compiled throughput copy.

    OpenVINO allocates a request's buffers at its first inference: the throughput copy's
    first use, when the load called for it, grew a worker's memory by about 10 MiB (4 %) in
    the middle of its run, and made those first frames slower.
    """
    batch = detector.preprocess(np.zeros((64, 64, 3), np.uint8))
    for _ in range(_WARM_UP_JOBS):
        detector.infer_async(batch, _ignore, None)
    detector.wait_all()


def _ignore(outputs: list[RawOutputs], userdata: Any) -> None:
    """A warm-up job's outputs: nothing to do with them."""


@dataclass(frozen=True)
class ModePolicy:
    """Thresholds of the adaptive switch (settings ``mode_up``, ``mode_down``, ``mode_hold_s``)."""

    up: float = 0.85
    down: float = 0.6
    hold_s: float = 3.0
    # Observations are summed over windows this long before a decision.
    window_s: float = 0.5
    # Windows in a row above ``up`` before switching to throughput (one slow first
    # inference, or a moment of contention, is not a backlog).
    up_windows: int = 2


class ModeController:
    """Decides the engine mode; fed by the worker thread, read by the engine's dispatcher.

    ``observe`` is called each worker turn with the frames that arrived and what the engine
    did since the last call. A fixed configuration (latency or throughput) never switches.
    """

    def __init__(
        self, configured: EngineMode, policy: ModePolicy | None = None,
        on_switch: Callable[[EngineMode], None] | None = None,
    ) -> None:
        self.configured = configured
        self._p = policy or ModePolicy()
        self._on_switch = on_switch
        self.mode = EngineMode.THROUGHPUT if configured is EngineMode.THROUGHPUT else EngineMode.LATENCY
        self.switches = 0
        # Latency mode's busy seconds per frame (None until measured) and the load estimate.
        self.latency_s_per_frame: float | None = None
        self.load = 0.0
        self._window_start: float | None = None
        self._arrived = 0
        self._completed = 0
        self._busy_s = 0.0
        self._calm_since: float | None = None
        self._busy_windows = 0

    @property
    def adaptive(self) -> bool:
        return self.configured is EngineMode.ADAPTIVE

    def observe(self, now_s: float, arrived: int, completed: int, busy_s: float) -> EngineMode:
        """Account ``arrived`` frames and ``completed`` ones taking ``busy_s`` of engine time."""
        if not self.adaptive:
            return self.mode
        if self._window_start is None:
            self._window_start = now_s
        self._arrived += arrived
        self._completed += completed
        self._busy_s += busy_s
        elapsed = now_s - self._window_start
        if elapsed >= self._p.window_s:
            self._decide(now_s, elapsed)
            self._window_start, self._arrived, self._completed, self._busy_s = now_s, 0, 0, 0.0
        return self.mode

    def _decide(self, now_s: float, elapsed: float) -> None:
        if self.mode is EngineMode.LATENCY and self._completed > 0:
            measured = self._busy_s / self._completed
            old = self.latency_s_per_frame
            self.latency_s_per_frame = measured if old is None else 0.5 * old + 0.5 * measured
        per_frame = self.latency_s_per_frame
        if per_frame is None:
            return  # nothing measured in latency mode yet: stay there
        self.load = self._arrived / elapsed * per_frame
        if self.mode is EngineMode.LATENCY:
            self._busy_windows = self._busy_windows + 1 if self.load > self._p.up else 0
            if self._busy_windows >= self._p.up_windows:
                self._switch(EngineMode.THROUGHPUT)
            return
        if self.load >= self._p.down:
            self._calm_since = None
        elif self._calm_since is None:
            self._calm_since = now_s
        elif now_s - self._calm_since >= self._p.hold_s:
            self._switch(EngineMode.LATENCY)

    def _switch(self, mode: EngineMode) -> None:
        log.info("engine mode %s -> %s (latency-mode load %.2f)", self.mode.value, mode.value,
                 self.load)
        self.mode = mode
        self.switches += 1
        self._calm_since = None
        self._busy_windows = 0
        if self._on_switch is not None:
            self._on_switch(mode)
