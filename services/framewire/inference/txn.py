"""Publishing one cycle exactly once: results, drops, dead letters and offsets in one transaction.

``TxnPublisher.publish`` is called by the worker when a cycle's inference is done (and from
the revoke callback before partitions move). Either everything of the cycle becomes visible
to read_committed readers together with the consumer offsets, or nothing does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from framewire.core.errors import KafkaUnavailableError
from framewire.core.topics import Topics
from framewire.inference.records import DropRange, Processed, Rejected
from framewire.inference.scheduler import TP
from framewire.inference.wire import dead_letter_value, drop_value, result_value

log = logging.getLogger(__name__)

_COMMIT_RETRIES = 5


class TransactionAborted(Exception):
    """The cycle's transaction was aborted; the worker rewinds and processes it again."""


class TxnPublisher:
    """Wraps the worker's transactional producer."""

    def __init__(
        self, producer: Producer, group_metadata: Callable[[], Any], topics: Topics,
        *, worker_id: str, dlq_max_value_bytes: int, timeout_s: float,
        results_topic: str | None = None,
    ) -> None:
        self._producer = producer
        # Set by a replay: every result goes to this topic instead of the stream's own.
        self._results_topic = results_topic
        self._group_metadata = group_metadata
        self._topics = topics
        self._worker_id = worker_id
        self._dlq_max = dlq_max_value_bytes
        self._timeout_s = timeout_s

    def init(self) -> None:
        """Register the transactional id, fencing any older producer with the same id."""
        try:
            self._producer.init_transactions(self._timeout_s)
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot initialise transactions: {exc}") from None

    def publish(
        self, processed: list[Processed], rejected: list[Rejected], drops: list[DropRange],
        positions: dict[TP, int],
    ) -> None:
        """Produce everything and commit it with ``positions``; TransactionAborted on abort."""
        if not (processed or rejected or drops or positions):
            return
        try:
            self._producer.begin_transaction()
            for p in processed:
                topic = self._results_topic or self._topics.results(p.frame.stream_id)
                self._produce(topic, p.frame.stream_id, result_value(p, self._worker_id))
            for r in rejected:
                key = r.inbound.key or (r.stream_id or "").encode()
                self._produce(self._topics.dlq, key, dead_letter_value(r, self._dlq_max))
            for d in drops:
                self._produce(self._topics.drops, d.stream_id, drop_value(d))
            offsets = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
            if offsets:
                self._producer.send_offsets_to_transaction(
                    offsets, self._group_metadata(), self._timeout_s
                )
            self._commit()
        except KafkaException as exc:
            self._on_error(exc)

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
                self._producer.commit_transaction(self._timeout_s)
                return
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if not error.retriable() or attempt == _COMMIT_RETRIES - 1:
                    raise
                log.warning("commit failed, retrying: %s", error)
                time.sleep(0.05 * (attempt + 1))

    def _on_error(self, exc: KafkaException) -> None:
        error: KafkaError = exc.args[0]
        if error.txn_requires_abort() or (error.retriable() and not error.fatal()):
            log.warning("aborting transaction: %s", error)
            self.abort()
            raise TransactionAborted(str(error)) from None
        raise KafkaUnavailableError(f"transaction failed ({error.name()}): {error}") from None

    def abort(self) -> None:
        try:
            self._producer.abort_transaction(self._timeout_s)
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot abort transaction: {exc}") from None
