"""The worker loop against a model of the consumer group: every frame is accounted for.

The real ``Worker``, ``Scheduler`` and ``KafkaIO`` (pause, resume, seek and forget as the
worker uses them) run against a consumer that behaves as librdkafka does where it matters
here: a partition's pause flag outlives a rebalance, a seek discards what was fetched
before it, a re-assigned partition starts at its committed offset, and a commit carrying
offsets of a partition the member no longer owns is refused (ILLEGAL_GENERATION). The
transaction is modelled too: a publish either commits everything with its offsets, or
aborts and commits nothing. Hypothesis draws the schedule of frames, aborts, revokes and
lost assignments; at the end every offset of every partition must have exactly one result
or drop record, and the committed offsets must have reached the end of each partition.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framewire.core.config import KafkaSettings
from framewire.core.errors import MembershipLostError
from framewire.inference.freshness import Freshness
from framewire.inference.health import Health
from framewire.inference.kafka_io import KafkaIO
from framewire.inference.metrics import InferenceMetrics
from framewire.inference.records import DropRange, FrameItem, Processed, Rejected, Timing
from framewire.inference.scheduler import TP, Scheduler
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.inference.streamspecs import StreamAges
from framewire.inference.txn import TransactionAborted
from framewire.inference.worker import Worker
from framewire.models.perframe.engine import CycleWork
from support.inference import frame_bytes

pytestmark = pytest.mark.unit

STREAMS = ("m0", "m1", "m2")


@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _value: bytes
    _ts_ms: int

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return self._value

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, self._ts_ms)


@dataclass(frozen=True)
class ErrorEvent:
    """What librdkafka's consume returns for an error instead of a message."""

    _error: KafkaError

    def error(self) -> KafkaError:
        return self._error


@dataclass
class Broker:
    """Partition logs, committed offsets, and every record committed to the outputs."""

    logs: dict[TP, list[FakeMessage]] = field(default_factory=dict)
    committed: dict[TP, int] = field(default_factory=dict)
    handled: Counter[tuple[TP, int]] = field(default_factory=Counter)

    def produce(self, tp: TP, stream: str, age_s: float = 0.0) -> None:
        log = self.logs.setdefault(tp, [])
        now = time.time_ns() - int(age_s * 1e9)
        value = frame_bytes(b"\xff\xd8jpeg", stream, len(log), width=4, height=4,
                            capture_time_ns=now)
        log.append(FakeMessage(tp[0], tp[1], len(log), value, now // 1_000_000))


class GroupConsumer:
    """A consumer whose rebalances are scheduled by the test and served inside ``poll``."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.assigned: set[TP] = set()
        self.app_paused: set[TP] = set()  # librdkafka keeps this across a rebalance
        self.position: dict[TP, int] = {}
        self.events: list[tuple[str, list[TP]]] = []
        self.callbacks: dict[str, Any] = {}
        self.fatal: KafkaError | None = None  # returned by every consume once set

    # -- what the worker calls ------------------------------------------------------------

    def subscribe(self, topics: list[str], on_assign: Any, on_revoke: Any, on_lost: Any) -> None:
        self.callbacks = {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}

    def consumer_group_metadata(self) -> None:
        return None

    def poll(self, timeout: float) -> FakeMessage | None:
        while self.events:
            kind, tps = self.events.pop(0)
            self._serve(kind, tps)
        batch = self.consume(1, 0)
        if not batch:
            time.sleep(min(timeout, 0.002))  # (a real poll blocks; the commit interval runs)
        return batch[0] if batch else None

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        if self.fatal is not None:
            return [ErrorEvent(self.fatal)]
        out: list[FakeMessage] = []
        for tp in sorted(self.assigned - self.app_paused):
            log = self.broker.logs.get(tp, [])
            while self.position[tp] < len(log) and len(out) < num_messages:
                out.append(log[self.position[tp]])
                self.position[tp] += 1
        return out

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.app_paused |= {(p.topic, p.partition) for p in partitions}

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.app_paused -= {(p.topic, p.partition) for p in partitions}

    def seek(self, p: TopicPartition) -> None:
        tp = (p.topic, p.partition)
        if tp not in self.assigned:
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_PARTITION, "not assigned"))
        self.position[tp] = p.offset

    def get_watermark_offsets(self, p: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return 0, len(self.broker.logs.get((p.topic, p.partition), []))

    def offsets_for_times(self, query: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        p = query[0]
        log = self.broker.logs.get((p.topic, p.partition), [])
        found = next((m.offset() for m in log if m._ts_ms >= p.offset), -1)
        return [TopicPartition(p.topic, p.partition, found)]

    # -- the group ------------------------------------------------------------------------

    def _serve(self, kind: str, tps: list[TP]) -> None:
        parts = [TopicPartition(*tp) for tp in tps]
        if kind == "assign":
            fresh = [tp for tp in tps if tp not in self.assigned]
            for tp in fresh:
                self.assigned.add(tp)
                self.position[tp] = self.broker.committed.get(tp, 0)
            self.callbacks["assign"](self, [TopicPartition(*tp) for tp in fresh])
            return
        owned = [p for p in parts if (p.topic, p.partition) in self.assigned]
        self.callbacks[kind](self, owned)
        for p in owned:
            self.assigned.discard((p.topic, p.partition))


class Publisher:
    """A transaction: everything with its offsets, or nothing (an abort when asked, or when
    the offsets name a partition the member does not own: the generation moved on)."""

    def __init__(self, broker: Broker, consumer: GroupConsumer) -> None:
        self.broker, self.consumer = broker, consumer
        self.abort_next = 0
        self.producer = None

    def publish(self, processed: list[Processed], rejected: list[Rejected],
                drops: list[DropRange], positions: dict[TP, int]) -> None:
        if self.abort_next or any(tp not in self.consumer.assigned for tp in positions):
            self.abort_next = max(0, self.abort_next - 1)
            raise TransactionAborted("injected")
        for p in processed:
            self.broker.handled[((p.frame.coords.topic, p.frame.coords.partition),
                                 p.frame.coords.offset)] += 1
        for r in rejected:
            c = r.inbound.coords
            self.broker.handled[((c.topic, c.partition), c.offset)] += 1
        for d in drops:
            for o in range(d.first_offset, d.last_offset + 1):
                self.broker.handled[((d.topic, d.partition), o)] += 1
        self.broker.committed.update(positions)

    def close(self) -> None:
        pass


class InstantEngine:
    """Every frame gets an empty detection result, at once or a moment later on a timer
    thread (as OpenVINO's callbacks fill a cycle in)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self._delay_s = delay_s

    def submit(self, frames: list[FrameItem]) -> CycleWork:
        work = CycleWork(len(frames))

        def finish() -> None:
            for i, f in enumerate(frames):
                work.set(i, Processed(f, (), "m", "1", Timing(0, 0, 0), 4, 4))

        if self._delay_s and frames:
            threading.Timer(self._delay_s, finish).start()
        else:
            finish()
        return work

    def take_stats(self) -> tuple[int, float]:
        return 0, 0.0


class CycleRecorder(InstantEngine):
    """Remembers the streams of each cycle it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.cycles: list[list[str]] = []

    def submit(self, frames: list[FrameItem]) -> CycleWork:
        self.cycles.append([f.stream_id for f in frames])
        return super().submit(frames)


Step = tuple[str, int, int]
steps = st.lists(st.one_of(
    st.tuples(st.just("frames"), st.integers(0, 2), st.integers(1, 40)),
    st.tuples(st.just("old frames"), st.integers(0, 2), st.integers(1, 40)),
    st.tuples(st.just("abort"), st.just(0), st.integers(1, 2)),
    st.tuples(st.just("revoke"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("assign"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("lose"), st.just(0), st.just(0)),
    st.tuples(st.just("turns"), st.just(0), st.integers(1, 5)),
), max_size=30)


class Driver:
    """Feeds the schedule to the consumer one step per fetch, then lets the worker drain."""

    def __init__(self, io: KafkaIO, consumer: GroupConsumer, publisher: Publisher,
                 tps: list[TP], schedule: list[Step], stop: threading.Event) -> None:
        self.io, self.consumer, self.publisher = io, consumer, publisher
        self.tps, self.stop = tps, stop
        self.todo = list(schedule)
        self.turns_left = 0
        self.drain_turns = 0
        self.drain_until = 0.0
        self.real_fetch = io.fetch

    def fetch(self, timeout_s: float, max_messages: int) -> list[Any]:
        if self.turns_left:
            self.turns_left -= 1
        elif self.todo:
            self._apply(self.todo.pop(0))
        else:
            self._drain()
        return self.real_fetch(timeout_s, max_messages)

    def _apply(self, step: Step) -> None:
        kind, index, n = step
        tp = self.tps[index]
        if kind in ("frames", "old frames"):
            for _ in range(n):
                self.consumer.broker.produce(tp, STREAMS[index], 30.0 if kind == "old frames" else 0)
        elif kind == "abort":
            self.publisher.abort_next += n
        elif kind in ("revoke", "assign"):
            self.consumer.events.append((kind, [tp]))
        elif kind == "fenced":
            self.consumer.fatal = KafkaError(KafkaError.FENCED_INSTANCE_ID, "fenced by instance id",
                                             fatal=True)
        elif kind == "lose":
            self.consumer.events.append(("lost", list(self.tps)))
        elif kind == "sleep":
            time.sleep(n / 1000)
        else:
            self.turns_left = n

    def _drain(self) -> None:
        # Give every partition back, then run until each is committed to its end.
        if self.drain_turns == 0:
            self.consumer.events.append(("assign", list(self.tps)))
            self.drain_until = time.monotonic() + 5.0
        self.drain_turns += 1
        ends = {tp: len(self.consumer.broker.logs.get(tp, [])) for tp in self.tps}
        done = all(self.consumer.broker.committed.get(tp, 0) >= end for tp, end in ends.items())
        if done or time.monotonic() > self.drain_until:
            self.stop.set()


def run_schedule(
    schedule: list[Step], commit_interval_ms: int,
    policy: FreshnessPolicy = FreshnessPolicy.NONE, engine_delay_s: float = 0.0,
    catch_up_ms: int = 0, engine: InstantEngine | None = None,
) -> tuple[Broker, list[TP]]:
    s = InferenceSettings(kafka=KafkaSettings(topic_prefix="m."), worker_id="model",
                          commit_interval_ms=commit_interval_ms, partition_buffer=4,
                          cycle_frames=3, max_age_ms=10_000, freshness=policy,
                          catch_up_ms=catch_up_ms)
    topics = s.kafka.topics
    tps = [(topics.frames(stream), 0) for stream in STREAMS]
    broker = Broker()
    consumer = GroupConsumer(broker)
    io = KafkaIO.__new__(KafkaIO)
    io._s, io.consumer, io._paused, io._ensured = s, consumer, set(), set()  # type: ignore[assignment]
    io._admin = None  # type: ignore[assignment]
    publisher = Publisher(broker, consumer)
    io.publisher = publisher  # type: ignore[assignment]
    io.ensure_results_topics = lambda frames_topics: None  # type: ignore[method-assign]
    consumer.events.append(("assign", list(tps)))
    stop = threading.Event()
    driver = Driver(io, consumer, publisher, tps, schedule, stop)
    io.fetch = driver.fetch  # type: ignore[method-assign]
    scheduler = Scheduler(Freshness(policy, 1, catch_up_ms * 1_000_000), s.partition_buffer)
    engine = engine or InstantEngine(engine_delay_s)
    worker = Worker(s, io, engine, scheduler, InferenceMetrics(), Health(30.0),  # type: ignore[arg-type]
                    StreamAges(s.max_age_ms))
    worker.run(stop)
    return broker, tps


def check_every_offset_once(broker: Broker, tps: list[TP]) -> None:
    for tp in tps:
        n = len(broker.logs.get(tp, []))
        got = {o: broker.handled[(tp, o)] for o in range(n)}
        assert [o for o, c in got.items() if c == 0] == [], f"{tp}: offsets without a record"
        assert [o for o, c in got.items() if c > 1] == [], f"{tp}: offsets handled twice"
        assert broker.committed.get(tp, 0) == n, (tp, broker.committed.get(tp), n)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=steps, commit_interval_ms=st.sampled_from([0, 1]),
       policy=st.sampled_from(list(FreshnessPolicy)),
       engine_delay_s=st.sampled_from([0.0, 0.001]), catch_up_ms=st.sampled_from([0, 1, 200]))
def test_every_frame_gets_one_record_whatever_the_schedule(
    schedule: list[Step], commit_interval_ms: int, policy: FreshnessPolicy,
    engine_delay_s: float, catch_up_ms: int,
) -> None:
    # Given a worker with three partitions, and a schedule of frames, aborted
    # transactions, revoked, re-assigned and lost partitions
    # When the worker runs it, and then has every partition back until idle
    broker, tps = run_schedule(schedule, commit_interval_ms, policy, engine_delay_s, catch_up_ms)
    # Then every offset has exactly one result or drop record, and is committed
    check_every_offset_once(broker, tps)


def test_a_fenced_consumer_ends_the_worker_for_a_restart_without_committing_more() -> None:
    # Given a worker that has committed some frames, then is fenced by its group (a static
    # member replaced under its own instance id) while more frames wait
    schedule: list[Step] = [("frames", 0, 3), ("turns", 0, 3), ("fenced", 0, 0), ("frames", 0, 3)]
    # When the worker runs it
    # Then it stops with MembershipLostError (a restartable exit), not a warning per poll
    with pytest.raises(MembershipLostError, match="FENCED_INSTANCE_ID"):
        run_schedule(schedule, commit_interval_ms=0)


def test_an_abort_after_a_pause_still_reads_the_tail() -> None:
    # Given a partition filled past its buffer (so paused), then an aborted transaction
    schedule: list[Step] = [("frames", 0, 30), ("abort", 0, 1), ("turns", 0, 3), ("frames", 0, 2)]
    # When the worker runs it to the end
    broker, tps = run_schedule(schedule, commit_interval_ms=0)
    # Then the last frames too get their records
    check_every_offset_once(broker, tps)


def test_partitions_not_yet_heard_from_keep_the_first_one_from_being_cleared_ahead() -> None:
    # Given three partitions just assigned (cycles of 3, a 20 ms window), frames on the
    # first only; the two others are idle, so nothing says what they hold
    schedule: list[Step] = [("frames", 0, 3), ("turns", 0, 5), ("sleep", 0, 40), ("frames", 0, 3)]
    recorder = CycleRecorder()
    # When the worker runs it, with a pause that outlasts the window before the next frames
    broker, tps = run_schedule(schedule, commit_interval_ms=0, catch_up_ms=20, engine=recorder)
    # Then within the window the first partition got one frame per cycle, and once the
    # window had passed without a word from the others, its next frames went as one cycle
    assert recorder.cycles[:4] == [["m0"], ["m0"], ["m0"], ["m0", "m0", "m0"]]
    check_every_offset_once(broker, tps)
