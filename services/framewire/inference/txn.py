"""Publishing one cycle exactly once: results, drops, dead letters and offsets in one transaction.

``TxnPublisher.publish`` is called by the worker when a cycle's inference is done (and from
the revoke callback before partitions move). Either everything of the cycle becomes visible
to read_committed readers together with the consumer offsets, or nothing does.

Across a broker outage librdkafka can leave a transactional producer unusable: an abort
that cannot reach the broker, a fatal "invalid transaction state", or a
``send_offsets_to_transaction`` that ignores its timeout and never returns (librdkafka
issues 5456 and 5511). Each blocking call therefore runs with a hard deadline, and when a
``producer_factory`` is given the publisher replaces such a producer by a new one under
the same transactional id (whose initialisation fences the old one and aborts its open
transaction on the broker); the cycle is then reported aborted and read again. Not after
the process was frozen inside the transaction (``inference.freeze``): then the worker that
took over its id meanwhile would be the one fenced, so the worker stops instead.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from framewire.core.errors import KafkaUnavailableError
from framewire.core.topics import Topics
from framewire.inference.freeze import FreezeWatch
from framewire.inference.records import DropRange, Processed, Rejected
from framewire.inference.scheduler import TP
from framewire.inference.wire import dead_letter_value, drop_value
from framewire.models.perframe.wire import result_value

log = logging.getLogger(__name__)

_COMMIT_RETRIES = 5
# Timeout given to librdkafka for each transactional call of a cycle: short, so that a
# broker that is back is noticed soon (a timed-out call is retried or the cycle aborted).
_CALL_TIMEOUT_S = 3.0
# librdkafka reports these from init_transactions as final, yet a broker that has just
# started answers them until its transaction coordinator has loaded.
_COORDINATOR_NOT_READY = frozenset({
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
})
# A blocking transactional call still running this long after its own timeout is stuck.
_STUCK_GRACE_S = 1.0
# How long a replaced producer keeps trying to register with the broker before giving up.
_RESET_LIMIT_S = 120.0
# A stall of the whole process this long inside a transaction means it was frozen, and
# another worker may have taken over its id meanwhile (see inference.freeze).
_FROZEN_S = 1.0
# librdkafka errors meaning another instance with our transactional id took over.
_FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}


class ProducerStuck(Exception):
    """A blocking transactional call did not return within its timeout and the grace."""


class _Call:
    """One blocking call handed to the runner thread, and what came of it."""

    __slots__ = ("args", "call", "done", "error", "value")

    def __init__(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.call, self.args = call, args
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class CallRunner:
    """Runs blocking transactional calls on one long-lived daemon thread, with a deadline.

    Starting a thread per call cost two thread creations per transaction on the hot path;
    here a call is a queue hand-off. When a call outlives its deadline the thread running
    it is abandoned (it ends once librdkafka lets the call return) and the next call gets
    a new thread, so one stuck call never delays the ones after it.
    """

    def __init__(self, name: str = "txn-calls") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Call | None] | None = None

    def run(self, what: str, timeout_s: float, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` on the runner thread; ProducerStuck if it outlives ``timeout_s`` +
        grace. Called by the publisher for every blocking transactional operation."""
        job = _Call(call, args)
        jobs = self._jobs()
        jobs.put(job)
        limit = timeout_s + _STUCK_GRACE_S
        if not job.done.wait(limit):
            self._abandon(jobs)
            raise ProducerStuck(f"{what} did not return within {limit:.0f}s")
        if job.error is not None:
            raise job.error
        return job.value

    def close(self) -> None:
        """Let the thread end once it is idle; a later ``run`` starts a new one."""
        with self._lock:
            jobs, self._queue = self._queue, None
        if jobs is not None:
            jobs.put(None)

    def _jobs(self) -> queue.SimpleQueue[_Call | None]:
        with self._lock:
            if self._queue is None:
                self._queue = queue.SimpleQueue()
                threading.Thread(target=_serve, args=(self._queue,), name=self._name,
                                 daemon=True).start()
            return self._queue

    def _abandon(self, jobs: queue.SimpleQueue[_Call | None]) -> None:
        with self._lock:
            if self._queue is jobs:
                self._queue = None
        jobs.put(None)  # the stuck thread ends after its call instead of waiting for more


def _serve(jobs: queue.SimpleQueue[_Call | None]) -> None:
    while (job := jobs.get()) is not None:
        try:
            job.value = job.call(*job.args)
        except BaseException as exc:
            job.error = exc
        job.done.set()


class TransactionAborted(Exception):
    """The cycle's transaction was aborted; the worker rewinds and processes it again."""


class TxnPublisher:
    """Wraps the worker's transactional producer."""

    def __init__(
        self, producer: Producer, group_metadata: Callable[[], Any], topics: Topics,
        *, worker_id: str, dlq_max_value_bytes: int, timeout_s: float,
        producer_factory: Callable[[], Producer] | None = None,
        transaction_timeout_s: float | None = None,
        freeze: FreezeWatch | None = None,
    ) -> None:
        self._producer = producer
        self._freeze = freeze
        # The broker aborts a transaction open this long and fences its producer epoch.
        self._txn_timeout_s = transaction_timeout_s
        self._opened = 0.0
        # Builds a fresh producer with the same transactional id, to replace a broken one.
        self._factory = producer_factory
        self._group_metadata = group_metadata
        self._topics = topics
        self._worker_id = worker_id
        self._dlq_max = dlq_max_value_bytes
        self._timeout_s = timeout_s
        self._call_s = min(timeout_s, _CALL_TIMEOUT_S)
        self._runner = CallRunner(f"txn-{worker_id}"[:15])

    @property
    def producer(self) -> Producer:
        """The producer in use (a new one after a replacement)."""
        return self._producer

    def close(self) -> None:
        """Release the call runner's thread; called when the worker's clients are closed."""
        self._runner.close()

    def init(self) -> None:
        """Register the transactional id, fencing any older producer with the same id.

        A broker that has just started may not have loaded its transaction coordinator yet
        (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS): such retriable errors are retried,
        as librdkafka asks of the caller, for up to ``_RESET_LIMIT_S``: on a loaded machine
        a new broker took over 10 s to load it, and a worker that gave up then never ran.
        """
        deadline = time.monotonic() + max(self._timeout_s, _RESET_LIMIT_S)
        while True:
            left = max(0.5, deadline - time.monotonic())
            try:
                self._runner.run("init", left, self._producer.init_transactions, left)
                return
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                retriable = isinstance(error, KafkaError) and (
                    error.retriable() or error.code() in _COORDINATOR_NOT_READY)
                if not retriable or time.monotonic() + 0.5 >= deadline:
                    raise KafkaUnavailableError(f"cannot initialise transactions: {exc}") from None
                log.info("transaction coordinator not ready (%s); retrying", error)
                time.sleep(0.5)
            except ProducerStuck as exc:
                raise KafkaUnavailableError(f"cannot initialise transactions: {exc}") from None

    def publish(
        self, processed: list[Processed], rejected: list[Rejected], drops: list[DropRange],
        positions: dict[TP, int],
    ) -> None:
        """Produce everything and commit it with ``positions``; TransactionAborted on abort."""
        if not (processed or rejected or drops or positions):
            return
        try:
            self._opened = time.monotonic()
            self._producer.begin_transaction()
            for p in processed:
                self._produce(self._topics.results(p.frame.stream_id), p.frame.stream_id,
                              result_value(p, self._worker_id))
            for r in rejected:
                key = r.inbound.key or (r.stream_id or "").encode()
                self._produce(self._topics.dlq, key, dead_letter_value(r, self._dlq_max))
            for d in drops:
                self._produce(self._topics.drops, d.stream_id, drop_value(d))
            offsets = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
            if offsets:
                self._runner.run("send offsets", self._call_s, self._producer.send_offsets_to_transaction,
                        offsets, self._group_metadata(), self._call_s)
            self._commit()
        except KafkaException as exc:
            self._on_error(exc)
        except ProducerStuck as exc:
            self._replace(str(exc))
            raise TransactionAborted(str(exc)) from None

    def _produce(self, topic: str, key: str | bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key)
                return
            except BufferError:
                # The bounded local queue is full: wait for deliveries instead of growing it.
                self._producer.poll(0.05)

    def _commit(self) -> None:
        for attempt in range(_COMMIT_RETRIES):
            try:
                self._runner.run("commit", self._call_s, self._producer.commit_transaction, self._call_s)
                return
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if not error.retriable() or attempt == _COMMIT_RETRIES - 1:
                    raise
                log.warning("commit failed, retrying: %s", error)
                time.sleep(0.05 * (attempt + 1))

    def _on_error(self, exc: KafkaException) -> None:
        error: KafkaError = exc.args[0]
        if error.code() in _FENCED and self._timed_out():
            # Our own transaction outlived its timeout (a broker outage, a slow broker): the
            # broker aborted it and bumped the epoch. No other worker is involved (unless
            # this process was frozen: see _replace), so a new producer under our id carries
            # on; the cycle is read again.
            self._replace(f"the broker aborted a transaction open past its timeout: {error}")
            raise TransactionAborted(str(error)) from None
        if error.code() in _FENCED:
            raise KafkaUnavailableError(
                f"another worker took over this transactional id ({error.name()}): {error}"
            ) from None
        if error.fatal():
            self._replace(f"fatal producer error: {error}")
            raise TransactionAborted(str(error)) from None
        if error.txn_requires_abort() or error.retriable():
            log.warning("aborting transaction: %s", error)
            self.abort()
            raise TransactionAborted(str(error)) from None
        raise KafkaUnavailableError(f"transaction failed ({error.name()}): {error}") from None

    def _timed_out(self) -> bool:
        return (self._txn_timeout_s is not None
                and time.monotonic() - self._opened >= self._txn_timeout_s)

    def abort(self) -> None:
        """Abort the open transaction; a producer that cannot is replaced (see module doc)."""
        try:
            self._runner.run("abort", self._call_s, self._producer.abort_transaction, self._call_s)
        except (KafkaException, ProducerStuck) as exc:
            self._replace(f"cannot abort transaction: {exc}")

    def _replace(self, why: str) -> None:
        """Swap in a new producer under the same transactional id, retrying its registration
        until the broker answers (at most ``_RESET_LIMIT_S``); KafkaUnavailableError if none.

        A registration that timed out is resumed on the same producer: a second producer
        would be fenced when the first one's registration completes in the background.
        """
        if self._factory is None:
            raise KafkaUnavailableError(why)
        frozen = self._freeze.longest_since(self._opened) if self._freeze else 0.0
        if frozen >= _FROZEN_S:
            # Frozen inside the transaction: a worker started meanwhile under our id may be
            # the one running now, and a new producer would fence it. Stop instead.
            raise KafkaUnavailableError(
                f"{why}; but this process was frozen for {frozen:.1f} s inside the transaction, "
                "so another worker may have taken over its id: stopping instead of fencing it"
            )
        log.warning("replacing the transactional producer: %s", why)
        deadline = time.monotonic() + _RESET_LIMIT_S
        producer = self._factory()
        while True:
            try:
                self._runner.run("init", self._call_s, producer.init_transactions, self._call_s)
                self._producer = producer
                log.warning("transactional producer replaced")
                return
            except ProducerStuck as exc:
                problem: Exception = exc
                producer = self._factory()
            except KafkaException as exc:
                problem = exc
                if not exc.args[0].retriable():
                    producer = self._factory()
            if time.monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"{why}; and no new producer could register: {problem}"
                ) from None
            log.warning("new transactional producer not registered yet: %s", problem)
            time.sleep(0.5)
