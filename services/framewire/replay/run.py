"""``run_replay``: re-run a past time range of one stream through a model, exactly once.

Called by ``framewire replay`` (command.py), by tests and by the benchmark. The frames go
through the inference service's per-frame path (``framewire.models.perframe``):
``read_frame`` (envelope checks), the ``Engine`` (JPEG checks, reduced-size decode, the
model's preprocessing, inference, post-processing) and ``result_value`` (each
DetectionResult), so the same frames, model version and settings give the results the live
worker gave. Every frame is processed, in order, except a frame read again (a copy in its
topic with the same sequence and capture time, see ``core/dedup.py``): it is skipped and
counted, as the live worker turns it into a duplicate drop.

Results are committed 16 frames a transaction (see output.py for what makes a re-run write
each frame's result at most once).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.admin import AdminClient
from tqdm import tqdm

from framewire.core.dedup import FrameDeduplicator
from framewire.core.errors import ModelError
from framewire.core.kafka import check_reachable, make_admin
from framewire.models.api import Detector
from framewire.models.perframe.engine import CycleWork, Engine
from framewire.models.perframe.jpeg import JpegLimits
from framewire.models.perframe.records import FrameItem, Processed, Rejected
from framewire.models.perframe.slot import ModelSlot
from framewire.models.perframe.wire import read_frame
from framewire.replay.frames import FrameKey, FramesHistory, inbound_of
from framewire.replay.output import ResultPublisher, existing_results, prepare_output
from framewire.replay.settings import ReplaySettings
from framewire.replay.window import (
    TimeWindow,
    check_output_topic,
    default_output_topic,
    plan_ranges,
)

log = logging.getLogger(__name__)

_CYCLE_FRAMES = 16
_MAX_PENDING = 2


@dataclass(frozen=True)
class ReplayRequest:
    """What ``framewire replay`` was asked: a stream, a window and maybe an output topic."""

    stream: str
    window: TimeWindow
    output: str | None = None


@dataclass(frozen=True)
class ReplaySummary:
    stream: str
    model_id: str
    model_version: str
    output: str
    # Records in the window's offset range.
    frames: int
    # Results this run committed, and frames skipped because the output already had them.
    results: int
    already: int
    # Frames that could not be processed, by reason (the live worker dead-lettered them).
    rejected: dict[str, int]
    # Offsets of the range that delivered no record: removed by retention while the replay
    # ran, or transaction markers.
    missing: int
    # Wall time reading, inferring and committing; set-up (model, lookups) apart.
    seconds: float
    setup_seconds: float
    # Time the replayed frames span: n frames at their mean interval.
    recorded_seconds: float
    # Frames in their topic twice (same sequence and capture time): the copy is skipped.
    copies: int = 0

    @property
    def speed(self) -> float | None:
        """Multiple of real time; None when it cannot be told (one frame, no time)."""
        if self.recorded_seconds <= 0 or self.seconds <= 0:
            return None
        return self.recorded_seconds / self.seconds


def run_replay(
    settings: ReplaySettings, request: ReplayRequest, *, detector: Detector | None = None,
    show_progress: bool = False,
) -> ReplaySummary:
    """Replay ``request``; raises a FramewireError saying what is wrong with bad input."""
    began = time.monotonic()
    kafka, stream = settings.kafka, request.stream
    frames_topic = _check_request(settings, request, detector)
    check_reachable(kafka)
    admin = make_admin(kafka)
    history = FramesHistory(kafka, admin, frames_topic)
    try:
        states = history.states(history.partitions(stream), request.window)
        ranges = plan_ranges(stream, frames_topic, request.window, states)
        total = sum(r.count for r in ranges)
        run = _open_run(settings, admin, request, detector or _load(settings), total, show_progress)
        setup = time.monotonic() - began
        try:
            for msg in history.read(ranges, stall_s=max(30.0, kafka.connect_timeout_s)):
                run.take(msg)
            run.finish()
        finally:
            run.close()
    finally:
        history.close()
    return run.summary(total, setup, time.monotonic() - began - setup)


def _check_request(
    settings: ReplaySettings, request: ReplayRequest, detector: Detector | None
) -> str:
    """The frames topic, once what needs no broker is known to be valid."""
    frames_topic = settings.kafka.topics.frames(request.stream)  # refuses an illegal id
    if request.output is not None:
        check_output_topic(request.output, settings.kafka.topics)
    if detector is None and not settings.model_server_url:
        from framewire.models.zoo import get_spec

        get_spec(settings.model)  # an unknown model fails before any Kafka work
    return frames_topic


def _open_run(
    settings: ReplaySettings, admin: AdminClient, request: ReplayRequest, detector: Detector,
    total: int, show_progress: bool,
) -> _Run:
    """Create the output topic, list what it already holds and set the loop up."""
    kafka, stream, info = settings.kafka, request.stream, detector.info
    output = request.output or default_output_topic(
        kafka.topics, stream, info.model_id, info.version)
    done: set[FrameKey] = set()
    # A topic just created holds nothing (and its metadata may not have spread yet).
    if not prepare_output(kafka, admin, output, stream):
        done = existing_results(kafka, output, kafka.topics.frames(stream), info.model_id,
                                info.version)
    log.info("replaying %s (%s) with %s %s into %s; %d frames already there",
             stream, request.window, info.model_id, info.version, output, len(done))
    return _Run(settings, detector, output, stream, done, total, show_progress)


def _load(settings: ReplaySettings) -> Detector:
    from framewire.models.perframe.loading import load_model

    return load_model(settings)


class FrameFilter:
    """Which frames of the range go to the model: neither a copy of a frame already read
    (``core/dedup.py``) nor one whose result the output already holds. Pure logic; called
    once per frame read, in order."""

    def __init__(self, done: set[FrameKey]) -> None:
        self._done = done
        self._copies = FrameDeduplicator()
        self.already = 0

    @property
    def copies(self) -> int:
        return self._copies.duplicates

    def wanted(self, item: FrameItem) -> bool:
        c = item.coords
        if self._copies.is_copy(c.partition, item.sequence, item.capture_time_ns):
            return False
        if (c.partition, c.offset) in self._done:
            self.already += 1
            return False
        return True


@dataclass
class _Counts:
    results: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None
    read: int = 0


class _Run:
    """The replay loop's state: the cycle being filled and at most two in flight."""

    def __init__(
        self, settings: ReplaySettings, detector: Detector, output: str, stream: str,
        done: set[FrameKey], total: int, show_progress: bool,
    ) -> None:
        self._stream = stream
        self._filter = FrameFilter(done)
        self._info = detector.info
        self._output = output
        self._publisher = ResultPublisher(settings, output)  # first: it may be refused
        self._engine = Engine(
            ModelSlot(detector), decode_threads=settings.decode_threads,
            max_batch=settings.max_batch,
            limits=JpegLimits(settings.max_side, settings.max_jpeg_bytes),
        )
        self._cycle: list[FrameItem] = []
        self._pending: deque[CycleWork] = deque()
        self._counts = _Counts()
        self._bar: Any = tqdm(total=total, unit="frame", file=sys.stderr, mininterval=0.5,
                              desc=f"replay {stream}", disable=not show_progress)

    def take(self, msg: Any) -> None:
        """One record of the range, in order."""
        inbound = inbound_of(msg)
        self._note_time(inbound.timestamp_ms)
        item = read_frame(inbound, self._stream)
        if isinstance(item, Rejected):
            self._reject(item)
        elif not self._filter.wanted(item):
            self._bar.update(1)
        else:
            self._cycle.append(item)
            if len(self._cycle) >= _CYCLE_FRAMES:
                self._submit()

    def finish(self) -> None:
        """Process and commit what is left; called once the range has been read."""
        self._submit()
        while self._pending:
            self._commit(self._pending.popleft())

    def close(self) -> None:
        """Release threads and clients; an unfinished cycle is simply not committed."""
        self._bar.close()
        self._engine.close()
        self._publisher.close()

    def summary(self, frames: int, setup_s: float, seconds: float) -> ReplaySummary:
        c = self._counts
        return ReplaySummary(
            stream=self._stream, model_id=self._info.model_id,
            model_version=self._info.version, output=self._output, frames=frames,
            results=c.results, already=self._filter.already, rejected=dict(c.rejected),
            missing=frames - c.read,
            seconds=seconds, setup_seconds=setup_s, recorded_seconds=self._recorded_s(),
            copies=self._filter.copies,
        )

    def _submit(self) -> None:
        if self._cycle:
            self._pending.append(self._engine.submit(self._cycle))
            self._cycle = []
        while len(self._pending) >= _MAX_PENDING:
            self._commit(self._pending.popleft())  # the newer cycle computes meanwhile

    def _commit(self, work: CycleWork) -> None:
        work.wait()
        try:
            outcomes = work.results()
        except Exception as exc:
            raise ModelError(f"inference failed during the replay: {exc}") from exc
        processed = [o for o in outcomes if isinstance(o, Processed)]
        for r in (o for o in outcomes if isinstance(o, Rejected)):
            self._reject(r)
        self._publisher.publish(processed)
        self._counts.results += len(processed)
        self._bar.update(len(processed))

    def _reject(self, rejected: Rejected) -> None:
        log.warning("frame %s not replayed (%s): %s", rejected.inbound.coords,
                    rejected.kind.value, rejected.message)
        self._counts.rejected[rejected.kind.value] += 1
        self._bar.update(1)

    def _note_time(self, ts: int) -> None:
        c = self._counts
        c.read += 1
        if ts >= 0:
            c.first_ts = ts if c.first_ts is None else min(c.first_ts, ts)
            c.last_ts = ts if c.last_ts is None else max(c.last_ts, ts)

    def _recorded_s(self) -> float:
        c = self._counts
        if c.first_ts is None or c.last_ts is None or c.read < 2:
            return 0.0
        return (c.last_ts - c.first_ts) / 1000 * c.read / (c.read - 1)
