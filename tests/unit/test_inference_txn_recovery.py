"""The inference publisher's recovery paths, driven by a producer that misbehaves the way
librdkafka did in the broker-outage test: a call that never returns, an abort that cannot
reach the broker, a fatal state, a fence by another worker. (The outage test proves the
same on the real broker; here each path is forced deterministically.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from framewire.core.errors import KafkaUnavailableError
from framewire.core.topics import Topics
from framewire.inference import txn
from framewire.inference.freeze import FreezeWatch
from framewire.inference.txn import TransactionAborted, TxnPublisher

pytestmark = pytest.mark.unit


def failure(code: int, *, fatal: bool = False, retriable: bool = False,
            abort: bool = False) -> KafkaException:
    return KafkaException(KafkaError(code, "injected", fatal=fatal, retriable=retriable,
                                     txn_requires_abort=abort))


class ScriptedProducer:
    """Records calls; ``send_offsets`` and ``abort`` do what the script says."""

    def __init__(self, send_offsets: Any = None, abort: Any = None) -> None:
        self.calls: list[str] = []
        self._send_offsets, self._abort = send_offsets, abort
        self.release = threading.Event()

    def init_transactions(self, timeout: float) -> None:
        self.calls.append("init")

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("produce")

    def poll(self, timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(self, *args: Any) -> None:
        self.calls.append("send_offsets")
        if self._send_offsets == "hang":
            self.release.wait(30)
        elif self._send_offsets is not None:
            raise self._send_offsets

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")
        if self._abort is not None:
            raise self._abort


@pytest.fixture(autouse=True)
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(txn, "_CALL_TIMEOUT_S", 0.2)
    monkeypatch.setattr(txn, "_STUCK_GRACE_S", 0.2)


def publisher(first: ScriptedProducer, spares: list[ScriptedProducer]) -> TxnPublisher:
    return TxnPublisher(first, lambda: None, Topics("t."), worker_id="w", dlq_max_value_bytes=0,
                        timeout_s=10, producer_factory=lambda: spares.pop(0))


def publish_one_offset(pub: TxnPublisher) -> None:
    pub.publish([], [], [], {("t.frames.a", 0): 5})


def test_a_send_offsets_that_never_returns_gets_the_producer_replaced() -> None:
    # Given a producer whose send_offsets_to_transaction hangs, and a healthy spare
    stuck, spare = ScriptedProducer(send_offsets="hang"), ScriptedProducer()
    pub = publisher(stuck, [spare])
    # When a cycle is published
    with pytest.raises(TransactionAborted, match="did not return"):
        publish_one_offset(pub)
    stuck.release.set()
    # Then the spare was registered and is used for the next cycle, which commits
    assert pub.producer is spare and spare.calls == ["init"]
    publish_one_offset(pub)
    assert spare.calls[-2:] == ["send_offsets", "commit"]


def test_an_abort_that_cannot_reach_the_broker_replaces_the_producer() -> None:
    # Given a retriable send failure and an abort that times out (broker down)
    broken = ScriptedProducer(send_offsets=failure(KafkaError._TRANSPORT, retriable=True),
                              abort=failure(KafkaError._TIMED_OUT, retriable=True))
    spare = ScriptedProducer()
    pub = publisher(broken, [spare])
    # When a cycle is published, then it is aborted and a new producer takes over
    with pytest.raises(TransactionAborted):
        publish_one_offset(pub)
    assert "abort" in broken.calls and pub.producer is spare


def test_a_fatal_producer_error_replaces_the_producer() -> None:
    broken = ScriptedProducer(send_offsets=failure(KafkaError.INVALID_TXN_STATE, fatal=True))
    spare = ScriptedProducer()
    pub = publisher(broken, [spare])
    with pytest.raises(TransactionAborted):
        publish_one_offset(pub)
    assert pub.producer is spare


def test_being_fenced_by_another_worker_stops_the_worker() -> None:
    # Given another instance with the same transactional id took over
    fenced = ScriptedProducer(send_offsets=failure(KafkaError._FENCED, fatal=True))
    pub = publisher(fenced, [ScriptedProducer()])
    # Then this one stops with the reason instead of fencing it back
    with pytest.raises(KafkaUnavailableError, match="another worker took over"):
        publish_one_offset(pub)
    assert pub.producer is fenced


class SlowCoordinator(ScriptedProducer):
    """``init_transactions`` answers NOT_COORDINATOR ``not_ready`` times, as a broker that
    has just started does until its transaction coordinator has loaded."""

    def __init__(self, not_ready: int) -> None:
        super().__init__()
        self.not_ready = not_ready

    def init_transactions(self, timeout: float) -> None:
        super().init_transactions(timeout)
        if self.not_ready:
            self.not_ready -= 1
            raise failure(KafkaError.NOT_COORDINATOR)


def test_a_coordinator_still_loading_is_waited_for() -> None:
    # Given a broker whose coordinator refuses the first two attempts
    producer = SlowCoordinator(not_ready=2)
    pub = publisher(producer, [])
    # When the worker initialises transactions; then it retries and succeeds
    pub.init()
    assert producer.calls == ["init", "init", "init"]
    pub.close()


def test_a_coordinator_that_never_loads_ends_in_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a coordinator that never becomes ready, a 0.5 s call timeout and a 2 s limit
    # for a coordinator to load (120 s in service: a new broker on a loaded machine needed
    # more than the 10 s the worker used to give it)
    monkeypatch.setattr(txn, "_RESET_LIMIT_S", 2.0)
    producer = SlowCoordinator(not_ready=1000)
    pub = TxnPublisher(producer, lambda: None, Topics("t."), worker_id="w", dlq_max_value_bytes=0,
                       timeout_s=0.5, producer_factory=lambda: ScriptedProducer())
    # When initialising; then it keeps trying past the call timeout, up to the limit, and
    # then gives up naming the cause
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError, match=r"cannot initialise transactions.*injected"):
        pub.init()
    assert 1.5 <= time.monotonic() - started < 10.0
    assert 3 <= len(producer.calls) <= 6
    pub.close()


def test_a_transaction_the_broker_timed_out_gets_a_new_producer_not_a_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a transaction that stays open past its timeout (a broker outage, a stall), so
    # the broker aborts it and answers the next call with a fence of our own epoch
    fenced = ScriptedProducer(send_offsets=failure(KafkaError._FENCED, fatal=True))
    spare = ScriptedProducer()
    pub = TxnPublisher(fenced, lambda: None, Topics("t."), worker_id="w", dlq_max_value_bytes=0,
                       timeout_s=10, producer_factory=lambda: spare, transaction_timeout_s=5.0)
    clock = iter([100.0, 106.0])  # begin at 100 s, the fence seen at 106 s
    monkeypatch.setattr(txn.time, "monotonic", lambda: next(clock, 106.0))
    # When the cycle is published
    with pytest.raises(TransactionAborted):
        publish_one_offset(pub)
    # Then a new producer under the same id carries on instead of the worker stopping
    assert pub.producer is spare and spare.calls == ["init"]


def test_a_fence_inside_a_young_transaction_still_stops_the_worker() -> None:
    # Given a fence that arrives well within the transaction timeout: a rival took over
    fenced = ScriptedProducer(send_offsets=failure(KafkaError.PRODUCER_FENCED))
    pub = TxnPublisher(fenced, lambda: None, Topics("t."), worker_id="w", dlq_max_value_bytes=0,
                       timeout_s=10, producer_factory=ScriptedProducer, transaction_timeout_s=60.0)
    # Then the worker stops rather than fencing the rival back
    with pytest.raises(KafkaUnavailableError, match="another worker took over"):
        publish_one_offset(pub)
    assert pub.producer is fenced


def test_a_worker_frozen_inside_its_transaction_stops_instead_of_fencing_its_successor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a transaction open past its timeout because the process stood still for 4 s
    # (SIGSTOP, a paused VM), while a new worker with the same id may have started
    fenced = ScriptedProducer(send_offsets=failure(KafkaError._FENCED, fatal=True))
    spare = ScriptedProducer()
    freeze = FreezeWatch()
    freeze.note(104.5, 4.0)
    pub = TxnPublisher(fenced, lambda: None, Topics("t."), worker_id="w", dlq_max_value_bytes=0,
                       timeout_s=10, producer_factory=lambda: spare, transaction_timeout_s=5.0,
                       freeze=freeze)
    clock = iter([100.0, 106.0])
    monkeypatch.setattr(txn.time, "monotonic", lambda: next(clock, 106.0))
    # When the cycle is published and comes back fenced
    with pytest.raises(KafkaUnavailableError, match=r"frozen for 4\.0 s"):
        publish_one_offset(pub)
    # Then no new producer registered under the id (it would fence the successor)
    assert spare.calls == [] and pub.producer is fenced


def test_a_stall_before_the_transaction_does_not_count() -> None:
    # Given a stall that ended before the transaction began
    freeze = FreezeWatch()
    freeze.note(50.0, 9.0)
    # Then the transaction opened at 100 s saw none
    assert freeze.longest_since(100.0) == 0.0 and freeze.longest_since(40.0) == 9.0


def test_the_watch_sees_the_process_stopped_and_continued() -> None:
    # Given a process running a FreezeWatch
    code = ("import sys, time\n"
            "from framewire.inference.freeze import FreezeWatch\n"
            "w = FreezeWatch().start(); print('ready', flush=True); sys.stdin.readline()\n"
            "print(round(w.longest_since(0.0), 1), flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        # When it is stopped for 1.5 s and continued
        child.send_signal(signal.SIGSTOP)
        time.sleep(1.5)
        child.send_signal(signal.SIGCONT)
        time.sleep(0.3)
        child.stdin.write("\n")
        child.stdin.flush()
        # Then it knows it stood still for about that long
        assert 1.2 <= float(child.stdout.readline()) <= 3.0
    finally:
        child.kill()
        child.wait()
