"""One stream inside a gateway: a reader thread and an encoder thread.

The reader opens the source (retrying with capped exponential backoff), paces frames and
decodes only the ones it keeps; the encoder resizes, encodes and hands them to the
producer. A bounded hand-off between them keeps a slow encoder from stalling the reader,
and each stream has its own threads, so one stream never stalls another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from framewire.core.errors import FramewireError, SourceError
from framewire.core.topics import Topics
from framewire.gateway.counters import DropReason, StreamCounters
from framewire.gateway.handoff import Handoff, HandoffPolicy
from framewire.gateway.pacing import Backoff, Pacer, Throttle
from framewire.gateway.publisher import Publisher, delivery_callback
from framewire.gateway.settings import GatewaySettings
from framewire.gateway.sources import make_source
from framewire.gateway.sources.base import CorruptFrameError, Source, SourceInfo
from framewire.gateway.spec import InvalidStream, StreamConfig
from framewire.gateway.transcode import RawFrame, Transcoder
from framewire.v1.frame_pb2 import Frame
from framewire.v1.stream_pb2 import StreamStatus

log = logging.getLogger(__name__)

# A source giving this many undecodable frames in a row is reopened.
MAX_CORRUPT_IN_A_ROW = 25


class RunState(Enum):
    STARTING = StreamStatus.STATE_STARTING
    RUNNING = StreamStatus.STATE_RUNNING
    RECONNECTING = StreamStatus.STATE_RECONNECTING
    FAILED = StreamStatus.STATE_FAILED
    STOPPED = StreamStatus.STATE_STOPPED


@dataclass(frozen=True)
class StreamContext:
    """What a stream needs from its gateway."""

    settings: GatewaySettings
    publisher: Publisher
    topics: Topics
    # Creates the stream's topics and returns its next sequence number (at least the
    # given floor); raises FramewireError when Kafka cannot be reached.
    prepare: Callable[[str, int], int]


class StreamRunner:
    """Runs one stream; ``start``/``stop`` are called from the gateway's control thread."""

    def __init__(self, entry: StreamConfig | InvalidStream, ctx: StreamContext,
                 next_sequence: int = 0, counters: StreamCounters | None = None) -> None:
        self.entry = entry
        self.stream_id = entry.stream_id
        self.ctx = ctx
        # Counters outlive a runner: a restart or reconfiguration keeps the stream's totals.
        self.counters = counters or StreamCounters(self.stream_id)
        self.next_sequence = next_sequence
        self._stop = threading.Event()
        self._publish_lock = threading.Lock()
        self._state, self._reason = RunState.STARTING, ""
        self._state_changed = threading.Event()
        self._info: SourceInfo | None = None
        self._handoff: Handoff[RawFrame] | None = None
        self._threads: list[threading.Thread] = []
        self._rates = _RateMeter(self.counters.read, self.counters.published)

    # -- control thread ---------------------------------------------------------------

    def start(self) -> None:
        if isinstance(self.entry, InvalidStream):
            self._set_state(RunState.FAILED, self.entry.reason)
        elif not self.entry.enabled:
            self._set_state(RunState.STOPPED, "disabled")
        else:
            self._spawn(self._run_reader, "read")

    def signal_stop(self) -> None:
        """Stop publishing at once; after this returns no frame of this runner is produced."""
        self._stop.set()
        if self._handoff is not None:
            self._handoff.close()
        with self._publish_lock:
            pass  # waits out a produce() in progress

    def join(self, timeout_s: float) -> None:
        """Give the threads ``timeout_s`` to exit; a reader stuck in a source call exits
        when that call times out (they are daemon threads and hold no Kafka state)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def stop(self, timeout_s: float = 2.0) -> None:
        self.signal_stop()
        self.join(timeout_s)

    def take_state_change(self) -> bool:
        """True once after each state change: the gateway then publishes status at once."""
        changed = self._state_changed.is_set()
        self._state_changed.clear()
        return changed

    @property
    def state(self) -> RunState:
        return self._state

    def status(self, gateway_id: str) -> StreamStatus:
        """The stream's current status; called by the gateway every status interval."""
        c = self.counters
        fps_in, fps_out = self._rates.rates(c.read, c.published)
        info = self._info
        native_fps = info.fps if info and info.fps else (fps_in if info else 0.0)
        return StreamStatus(
            stream_id=self.stream_id, state=self._state.value, reason=self._reason,
            fps_in=fps_in, fps_out=fps_out,
            native_width=info.width if info else 0, native_height=info.height if info else 0,
            native_fps=native_fps, frames_published=c.published, frames_dropped=c.total_dropped,
            reconnects=c.reconnects, gateway_id=gateway_id, updated_time_ns=time.time_ns(),
        )

    # -- stream threads ---------------------------------------------------------------

    def _spawn(self, target: Callable[[], None], role: str) -> None:
        thread = threading.Thread(target=target, name=f"fw-{role}-{self.stream_id}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _set_state(self, state: RunState, reason: str = "") -> None:
        if (state, reason) == (self._state, self._reason):
            return
        level = logging.WARNING if state in (RunState.FAILED, RunState.RECONNECTING) else logging.INFO
        log.log(level, "stream %s: %s%s", self.stream_id, state.name.lower(),
                f" ({reason})" if reason else "")
        self._state, self._reason = state, reason
        self._state_changed.set()

    def _run_reader(self) -> None:
        assert isinstance(self.entry, StreamConfig)
        config = self.entry
        backoff = Backoff(self.ctx.settings.backoff_initial_s, self.ctx.settings.backoff_max_s)
        if not self._prepare(backoff):
            return
        ever_ran = False
        while not self._stop.is_set():
            source = make_source(config.source_uri, config.source_options)
            try:
                self._info = info = source.open()
                self._ensure_encoder(info)
                self._set_state(RunState.RUNNING)
                ever_ran = True
                if self._pump(source, info, backoff):
                    self._set_state(RunState.STOPPED, "source ended")
                    return
            except SourceError as exc:
                self._retry_later(exc, backoff, ever_ran)
            finally:
                source.close()

    def _prepare(self, backoff: Backoff) -> bool:
        """Create the stream's topics and learn its next sequence; retry while Kafka is away."""
        while not self._stop.is_set():
            try:
                self.next_sequence = self.ctx.prepare(self.stream_id, self.next_sequence)
                backoff.reset()
                return True
            except FramewireError as exc:
                delay = backoff.next_delay()
                self._set_state(RunState.STARTING, f"waiting for Kafka: {exc.message}")
                self._stop.wait(delay)
        return False

    def _retry_later(self, exc: SourceError, backoff: Backoff, ever_ran: bool) -> None:
        delay = backoff.next_delay()
        state = RunState.RECONNECTING if ever_ran else RunState.FAILED
        self._set_state(state, f"{exc.message}; retrying in {delay:.1f}s")
        self.counters.reconnected()
        self._stop.wait(delay)

    def _ensure_encoder(self, info: SourceInfo) -> None:
        if self._handoff is None:
            policy = HandoffPolicy.BLOCK if info.can_wait else HandoffPolicy.DROP_OLDEST
            self._handoff = Handoff(self.ctx.settings.handoff_depth, policy)
            self._spawn(self._run_encoder, "encode")

    def _pump(self, source: Source, info: SourceInfo, backoff: Backoff) -> bool:
        """Read until stopped (False) or the source ends (True); SourceError on failure."""
        assert isinstance(self.entry, StreamConfig) and self._handoff is not None
        pacer = Pacer(self.entry.target_fps)
        throttle = None if info.self_paced or info.fps <= 0 else Throttle(info.fps)
        corrupt_in_a_row = 0
        while not self._stop.is_set():
            if throttle is not None and not throttle.wait(self._stop):
                return False
            if not source.grab():
                return True
            self.counters.frame_read()
            if not pacer.due(time.monotonic()):
                continue
            try:
                image = source.retrieve()
            except CorruptFrameError as exc:
                corrupt_in_a_row = self._corrupt(exc, corrupt_in_a_row + 1)
                continue
            corrupt_in_a_row = 0
            backoff.reset()
            frame = RawFrame(image, self.next_sequence, time.time_ns())
            self.next_sequence += 1
            self.counters.frames_dropped(DropReason.SOURCE_OVERRUN, self._handoff.put(frame))
        return False

    def _corrupt(self, exc: CorruptFrameError, in_a_row: int) -> int:
        self.counters.frames_dropped(DropReason.CORRUPT_INPUT)
        if in_a_row == 1:
            log.warning("stream %s: %s", self.stream_id, exc.message)
        if in_a_row >= MAX_CORRUPT_IN_A_ROW:
            raise SourceError(f"{in_a_row} undecodable frames in a row: {exc.message}")
        return in_a_row

    def _run_encoder(self) -> None:
        assert isinstance(self.entry, StreamConfig) and self._handoff is not None
        config, handoff = self.entry, self._handoff
        transcoder = Transcoder(config.width, config.height, config.jpeg_quality)
        topic = self.ctx.topics.frames(self.stream_id)
        on_delivery = delivery_callback(self.counters)
        while not self._stop.is_set():
            raw = handoff.get(timeout=0.5)
            if raw is None:
                continue
            try:
                encoded = transcoder.encode(raw.image)
            except ValueError as exc:
                self.counters.frames_dropped(DropReason.CORRUPT_INPUT)
                log.warning("stream %s: %s", self.stream_id, exc)
                continue
            self.counters.encode_seconds.observe(encoded.encode_s)
            frame = Frame(
                stream_id=self.stream_id, sequence=raw.sequence,
                capture_time_ns=raw.capture_time_ns, source=config.source_label,
                width=encoded.width, height=encoded.height, encoding=Frame.ENCODING_JPEG,
                data=encoded.jpeg,
            )
            with self._publish_lock:
                if self._stop.is_set():
                    return
                frame.publish_time_ns = time.time_ns()
                self.ctx.publisher.send_frame(topic, frame, on_delivery, self.counters)


class _RateMeter:
    """Frames per second over windows of at least ``min_window_s``."""

    def __init__(self, read: int, published: int, min_window_s: float = 1.0) -> None:
        self._min_window = min_window_s
        self._last = (time.monotonic(), read, published)
        self._rates = (0.0, 0.0)

    def rates(self, read: int, published: int) -> tuple[float, float]:
        now = time.monotonic()
        then, last_read, last_published = self._last
        elapsed = now - then
        if elapsed >= self._min_window:  # shorter windows (status on a state change) reuse
            self._last = (now, read, published)
            self._rates = ((read - last_read) / elapsed, (published - last_published) / elapsed)
        return self._rates
