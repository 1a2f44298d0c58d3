"""The worker loop: consume frames, run cycles through the engine, publish them exactly once.

One thread owns the consumer, the transactional producer and the scheduler. Each turn it
blocks in ``poll`` (idle) or on the oldest in-flight cycle (busy), starts the next cycle as
soon as one finishes and then commits the finished one, so inference overlaps commits. At
most two cycles are in flight; buffers are bounded by pausing full partitions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from framewire.core.errors import FramewireError
from framewire.inference.batching import CommitBatch
from framewire.inference.freshness import DEFAULT_FRAME_COST_NS, expire
from framewire.inference.health import Health
from framewire.inference.kafka_io import KafkaIO
from framewire.inference.metrics import InferenceMetrics
from framewire.inference.records import Coords, DropRange, DropReason, Inbound, Processed, Rejected
from framewire.inference.scheduler import TP, Cycle, Scheduler
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.inference.streamspecs import StreamAges
from framewire.inference.txn import TransactionAborted
from framewire.models.perframe.engine import CycleWork, Engine
from framewire.models.perframe.modes import ModeController
from framewire.models.perframe.wire import read_frame

log = logging.getLogger(__name__)

_MAX_PENDING = 2
_FETCH_BATCH = 256
# A partition's seek-forward offset is looked up on the broker at most this often: when
# every frame is stale each cycle would ask again, and on a starved broker those round
# trips throttled the worker to under one transaction a second.
_SEEK_LOOKUP_EVERY_S = 1.0


class InferenceFailed(FramewireError):
    """The model failed on a whole cycle; the worker stops without committing it."""


@dataclass
class InFlight:
    cycle: Cycle
    work: CycleWork
    started: float


class Worker:
    """Runs until ``stop`` is set; build one per ``run_worker`` call."""

    def __init__(
        self, settings: InferenceSettings, io: KafkaIO, engine: Engine, scheduler: Scheduler,
        metrics: InferenceMetrics, health: Health, ages: StreamAges,
        modes: ModeController | None = None,
    ) -> None:
        self._s = settings
        self._modes = modes
        # Finished cycles waiting for the commit interval (one transaction for all).
        self._batch: CommitBatch[InFlight] = CommitBatch(
            settings.commit_interval_ms / 1000, settings.commit_frames
        )
        self._arrived = 0
        self._ages = ages
        self._io = io
        self._engine = engine
        self._scheduler = scheduler
        self._metrics = metrics
        self._health = health
        self._topics = settings.kafka.topics
        self._pending: deque[InFlight] = deque()
        # Per partition: the first offset not yet committed (rewind target), next to fetch.
        self._base: dict[TP, int] = {}
        self._fetched: dict[TP, int] = {}
        self._assigned: set[TP] = set()
        # When partitions were last assigned; one not yet in ``_fetched`` has not been
        # heard from, so its backlog is unknown.
        self._assigned_at = 0.0
        self._seek_due: dict[TP, float] = {}
        self._cycle_s = 0.02
        # The engine's busy time per completed frame (a moving average): what clearing a
        # backlog costs, which sizes the catch-up window of policy latest.
        self._frame_cost_ns = DEFAULT_FRAME_COST_NS
        self._lag_due = 0.0

    def run(self, stop: threading.Event) -> None:
        self._io.subscribe(self._on_assign, self._on_revoke, self._on_lost)
        self._health.set_ready(True)
        while not stop.is_set():
            self._turn()
        self._health.set_ready(False, "stopping")
        # What was still held says, after the fact, why frames went without a result.
        log.info("stopping with %d cycles in flight (%d done), %d held for commit, %d frames "
                 "buffered, paused: %s", len(self._pending),
                 sum(p.work.done() for p in self._pending), len(self._batch),
                 self._scheduler.buffered(), self._io.paused() or "none")
        self._finish_pending()

    def _turn(self) -> None:
        self._health.beat()
        busy = bool(self._pending) or self._scheduler.buffered() > 0
        idle_s = self._batch.wait_s(time.monotonic(), self._s.poll_timeout_s)
        self._ingest(self._io.fetch(0.0 if busy else idle_s, _FETCH_BATCH))
        if not self._pending:
            self._dispatch()
        wait_s = self._batch.wait_s(time.monotonic(), self._s.poll_timeout_s)
        if self._pending and self._pending[0].work.wait(wait_s):
            done = self._pending.popleft()
            self._dispatch()  # the next cycle computes while this one commits
            self._batch.add(done, len(done.cycle.frames), time.monotonic())
        if self._batch.due(time.monotonic()):
            self._commit_batch()
        self._observe_engine()
        self._update_lag()

    def _observe_engine(self) -> None:
        """Learn the time per frame; feed the mode controller and export a mode change."""
        completed, busy_s = self._engine.take_stats()
        if completed:
            cost_ns = busy_s * 1e9 / completed
            self._frame_cost_ns = int(0.8 * self._frame_cost_ns + 0.2 * cost_ns)
            self._metrics.frame_cost.set(self._frame_cost_ns / 1e9)
        if self._modes is None:
            return
        before = self._modes.mode
        mode = self._modes.observe(time.monotonic(), self._arrived, completed, busy_s)
        self._arrived = 0
        self._metrics.engine_latency_load.set(self._modes.load)
        if mode is not before:
            self._metrics.engine_mode_switches.inc()
            self._metrics.set_mode(mode.value)

    # -- intake ---------------------------------------------------------------------------

    def _ingest(self, messages: list[Message]) -> None:
        # Frames still young enough to infer count as arrivals for the mode controller: a
        # stale backlog read back is no work for the model and must not switch its mode.
        young_after = time.time_ns() - self._budget_ns(self._ages.default_ms) if messages else 0
        for m in messages:
            error = m.error()
            if error is not None:
                # A pattern matching no topic yet is normal: streams come and go.
                quiet = (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART)
                level = logging.DEBUG if error.code() in quiet else logging.WARNING
                log.log(level, "consumer error: %s", error)
                continue
            inbound = _inbound(m)
            c = inbound.coords
            tp = (c.topic, c.partition)
            if tp not in self._assigned or c.offset < self._fetched.get(tp, -1):
                continue  # stale delivery from before a revoke, seek or rewind
            self._fetched[tp] = c.offset + 1
            self._base.setdefault(tp, c.offset)
            item = read_frame(inbound, self._topics.stream_of(c.topic))
            if not isinstance(item, Rejected):
                self._metrics.frames_in.labels(item.stream_id).inc()
                self._arrived += item.capture_time_ns >= young_after
            if self._scheduler.add(tp, item):
                self._io.pause(tp)

    # -- cycles ---------------------------------------------------------------------------

    def _budget_ns(self, max_age_ms: int) -> int:
        """Max age minus the time a chosen frame still needs to become a committed result."""
        max_age = max_age_ms * 1_000_000
        # A chosen frame waits for the cycle in flight, then its own cycle, the commit
        # interval and the commit.
        wait_ns = int((3 * self._cycle_s + self._s.commit_interval_ms / 1000) * 1e9)
        return max_age - min(max_age // 2, wait_ns)

    def _dispatch(self) -> None:
        if len(self._pending) >= _MAX_PENDING:
            return
        now = time.time_ns()
        cycle = self._scheduler.select(
            self._s.cycle_frames, now - self._budget_ns(self._ages.default_ms), self._cutoffs(now),
            self._frame_cost_ns, one_round=self._settling(),
        )
        if cycle.empty:
            return
        for tp in cycle.behind:
            self._seek_forward(tp, cycle)
        for tp in self._io.paused():
            if self._scheduler.has_room(tp):
                self._io.resume(tp)
        work = self._engine.submit(cycle.frames)
        self._pending.append(InFlight(cycle, work, time.monotonic()))

    def _settling(self) -> bool:
        """True while, less than the catch-up window after an assignment, a partition has
        not delivered its first frame. Its backlog is unknown, so the partitions already heard
        from get one frame per cycle, not their whole backlog in order: at start or after a
        rebalance, the partition fetched first would otherwise be served ahead of the others
        while their oldest frames went stale. A partition with nothing to fetch (an idle
        stream) holds this for one window after each assignment at most."""
        if time.monotonic() - self._assigned_at >= self._s.catch_up_ms / 1000:
            return False
        return any(tp not in self._fetched for tp in self._assigned)

    def _cutoffs(self, now_ns: int) -> dict[TP, int]:
        """Staleness cutoffs of partitions whose stream spec sets its own maximum age."""
        overrides = self._ages.overrides()
        if not overrides:
            return {}
        cutoffs = {}
        for tp in self._assigned:
            age = overrides.get(self._topics.stream_of(tp[0]) or "")
            if age is not None:
                cutoffs[tp] = now_ns - self._budget_ns(age)
        return cutoffs

    def _seek_forward(self, tp: TP, cycle: Cycle) -> None:
        """Every buffered frame was stale: jump past the stale backlog still on the broker."""
        position = cycle.positions.get(tp)
        high = self._io.high_watermark(tp)
        if position is None or high - position <= self._s.partition_buffer:
            return  # a short backlog is cheaper to read and drop than to look up
        now = time.monotonic()
        if now < self._seek_due.get(tp, 0.0):
            return  # looked up a moment ago: read and drop meanwhile
        self._seek_due[tp] = now + _SEEK_LOOKUP_EVERY_S
        budget = self._budget_ns(self._ages.max_age_ms(self._topics.stream_of(tp[0])))
        found = self._io.offset_for_time(tp, (time.time_ns() - budget) // 1_000_000)
        if found is None:
            return
        target = high if found < 0 else found
        if target <= position:
            return
        if not self._io.seek(tp, target):
            return
        stream = self._topics.stream_of(tp[0]) or ""
        cycle.drops.append(DropRange(
            stream, tp[0], tp[1], position, target - 1, DropReason.STALE, "seek forward"
        ))
        cycle.positions[tp] = target
        self._fetched[tp] = target

    def _commit_batch(self) -> None:
        """Publish every held cycle in one transaction; results too old by now are dropped."""
        cycles = self._batch.take()
        processed: list[Processed] = []
        rejected: list[Rejected] = []
        drops: list[DropRange] = []
        positions: dict[TP, int] = {}
        for done in cycles:
            try:
                outcomes = done.work.results()
            except Exception as exc:
                raise InferenceFailed(f"inference failed: {exc}") from exc
            processed += [o for o in outcomes if isinstance(o, Processed)]
            rejected += done.cycle.rejected + [o for o in outcomes if isinstance(o, Rejected)]
            drops += done.cycle.drops
            positions.update(done.cycle.positions)  # later cycles are further on
        if self._s.freshness is not FreshnessPolicy.NONE:
            processed, expired = expire(processed, time.time_ns(), self._ages.max_age_ms)
            drops += expired
        started = time.monotonic()
        try:
            self._io.publisher.publish(processed, rejected, drops, positions)
        except TransactionAborted:
            self._metrics.transactions.labels("aborted").inc()
            self._rewind()
            return
        self._base.update(positions)
        for done in cycles:
            self._cycle_s = 0.8 * self._cycle_s + 0.2 * (time.monotonic() - done.started)
        self._record(cycles, processed, rejected, drops, time.monotonic() - started)

    def _record(
        self, cycles: list[InFlight], processed: list[Processed], rejected: list[Rejected],
        drops: list[DropRange], commit_s: float,
    ) -> None:
        m = self._metrics
        m.transactions.labels("committed").inc()
        m.commit_latency.observe(commit_s)
        now = time.time_ns()
        for p in processed:
            m.results_out.labels(p.frame.stream_id).inc()
            m.capture_to_result.labels(p.frame.stream_id).observe(
                max(0.0, (now - p.frame.capture_time_ns) / 1e9)
            )
            m.infer_latency.observe(p.timing.infer_us / 1e6)
        for size in (s for done in cycles for s in done.work.batch_sizes):
            m.batch_size.observe(size)
        for r in rejected:
            m.dead_letters.labels(r.kind.value).inc()
        for d in drops:
            m.drops.labels(d.stream_id, d.reason.value).inc(d.count)

    def _finish_pending(self) -> None:
        """Commit every in-flight cycle; called on stop and before partitions are revoked."""
        while self._pending:
            head = self._pending.popleft()
            head.work.wait()
            self._batch.add(head, len(head.cycle.frames), time.monotonic())
        if len(self._batch):
            self._commit_batch()

    def _rewind(self) -> None:
        """After an abort: forget everything uncommitted and re-read it from the broker."""
        for inflight in self._pending:
            inflight.work.wait()
        self._pending.clear()
        self._batch.clear()
        for tp in list(self._assigned):
            self._scheduler.remove_partition(tp)
            self._scheduler.add_partition(tp)
            if tp in self._base:
                self._io.seek(tp, self._base[tp])
                self._fetched[tp] = self._base[tp]
        for tp in self._io.paused():
            self._io.resume(tp)

    # -- rebalance callbacks (run inside poll/consume on this thread) ------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        log.info("assigned %s", ", ".join(f"{t}[{p}]" for t, p in tps) or "nothing")
        self._assigned_at = time.monotonic()
        for tp in tps:
            self._assigned.add(tp)
            self._scheduler.add_partition(tp)
        self._io.ensure_results_topics({t for t, _ in tps})
        self._metrics.assigned.set(len(self._assigned))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoking %s", ", ".join(f"{p.topic}[{p.partition}]" for p in partitions))
        self._finish_pending()  # we still own them: commit what was done
        for p in partitions:
            self._forget((p.topic, p.partition))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("lost %d partitions; discarding their uncommitted work", len(partitions))
        for p in partitions:
            self._forget((p.topic, p.partition))
        self._rewind()

    def _forget(self, tp: TP) -> None:
        self._scheduler.remove_partition(tp)
        self._assigned.discard(tp)
        self._base.pop(tp, None)
        self._fetched.pop(tp, None)
        self._seek_due.pop(tp, None)
        self._io.forget(tp)
        self._metrics.forget_partition(*tp)
        self._metrics.assigned.set(len(self._assigned))

    def _update_lag(self) -> None:
        now = time.monotonic()
        if now < self._lag_due:
            return
        self._lag_due = now + 1.0
        wall = time.time_ns()
        for tp in self._assigned:
            high = self._io.high_watermark(tp)
            if high < 0 or tp not in self._base:
                continue
            lag = max(0, high - self._base[tp])
            self._metrics.lag_messages.labels(tp[0], str(tp[1])).set(lag)
            oldest = self._scheduler.oldest_capture_ns(tp)
            age = (wall - oldest) / 1e9 if oldest and lag else 0.0
            self._metrics.lag_seconds.labels(tp[0], str(tp[1])).set(max(0.0, age))


def _inbound(m: Message) -> Inbound:
    _, timestamp = m.timestamp()
    headers = tuple((str(h[0]), _as_bytes(h[1])) for h in (m.headers() or ()))
    coords = Coords(str(m.topic()), int(m.partition() or 0), int(m.offset() or 0))
    return Inbound(coords, _as_bytes(m.key()), m.value(), headers, int(timestamp))


def _as_bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value
