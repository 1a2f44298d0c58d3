"""The output side of a replay: its topic, what it already holds, transactional writes.

Exactly once across runs: results are written in transactions whose id is derived from the
output topic (a second replay into the same topic fences the first, and an interrupted
run's open transaction is aborted), and ``existing_results`` lists the frames that already
have a committed result by the same model version there, which ``run_replay`` skips. So
repeating a replay, or resuming an interrupted one, adds each frame's result at most once.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka.admin import AdminClient

from framewire.core.admin import ensure_topics, results_topic
from framewire.core.codec import DetectionResult, decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.history import history_consumer, read_topic
from framewire.core.kafka import make_producer
from framewire.models.perframe.records import Processed
from framewire.models.perframe.wire import result_value
from framewire.replay.frames import FrameKey
from framewire.replay.settings import ReplaySettings

log = logging.getLogger(__name__)

# worker_id of replayed results, so a reader can tell them from live ones.
REPLAY_WORKER = "replay"
_PUBLISH_ATTEMPTS = 3
_COORDINATOR_NOT_READY = frozenset({
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
})


def prepare_output(kafka: KafkaSettings, admin: AdminClient, output: str, stream: str) -> bool:
    """Create the output topic with the results topics' policy (retention, replication)
    unless it exists (its configs are then left as they are); True when it was created, and
    so holds nothing yet."""
    try:
        existing = admin.list_topics(timeout=kafka.connect_timeout_s).topics
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot list topics: {exc}") from None
    if output in existing:
        return False
    spec = dataclasses.replace(results_topic(kafka.topics, stream, kafka.topic_policy), name=output)
    ensure_topics(admin, [spec], kafka.connect_timeout_s)
    return True


def existing_results(
    kafka: KafkaSettings, output: str, frames_topic: str, model_id: str, version: str
) -> set[FrameKey]:
    """Frames of ``frames_topic`` with a committed result by this model version in
    ``output`` (read_committed: an aborted run's results do not count)."""
    consumer = history_consumer(kafka)
    found: set[FrameKey] = set()
    try:
        for msg in read_topic(consumer, output, max(10.0, kafka.connect_timeout_s)):
            key = _result_key(msg, frames_topic, model_id, version)
            if key is not None:
                found.add(key)
    finally:
        consumer.close()
    return found


def _result_key(msg: Message, frames_topic: str, model_id: str, version: str) -> FrameKey | None:
    try:
        r = decode(DetectionResult, msg.value() or b"", topic=msg.topic(),
                   partition=msg.partition(), offset=msg.offset())
    except DecodeError as exc:
        log.warning("output topic holds a record that is not a result: %s", exc)
        return None
    if r.source_topic != frames_topic or (r.model_id, r.model_version) != (model_id, version):
        return None
    return r.source_partition, r.source_offset


class ResultPublisher:
    """A transactional producer writing one replay's results to its output topic.

    Built once per replay (its transactional id is derived from the output topic: an older
    replay still writing there is fenced); KafkaUnavailableError when transactions cannot
    be initialised.
    """

    def __init__(self, settings: ReplaySettings, output: str) -> None:
        kafka = settings.kafka
        self._output = output
        self._timeout_s = max(10.0, kafka.connect_timeout_s)
        self._producer = make_producer(
            kafka, transactional_id=settings.transactional_id(output), **{
                "client.id": "fw-replay",
                "transaction.timeout.ms": settings.transaction_timeout_ms,
            },
        )
        self._register()

    def _register(self) -> None:
        # A broker just started answers "not coordinator" until its transaction log has
        # loaded; librdkafka leaves retrying those to the caller.
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                self._producer.init_transactions(self._timeout_s)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if time.monotonic() >= deadline or not (
                        error.retriable() or error.code() in _COORDINATOR_NOT_READY):
                    raise KafkaUnavailableError(f"cannot initialise transactions: {exc}") from None
                time.sleep(0.5)

    def publish(self, processed: list[Processed]) -> None:
        """Commit one cycle's results; an aborted transaction is written again."""
        for attempt in range(_PUBLISH_ATTEMPTS):
            try:
                self._producer.begin_transaction()
                for p in processed:
                    self._producer.produce(self._output, result_value(p, REPLAY_WORKER),
                                           p.frame.stream_id.encode())
                self._producer.commit_transaction(self._timeout_s)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if not error.txn_requires_abort() or attempt == _PUBLISH_ATTEMPTS - 1:
                    raise KafkaUnavailableError(
                        f"results could not be committed to {self._output} ({error}); what was "
                        "committed stays, run the same replay again to finish it"
                    ) from None
                log.warning("transaction aborted, writing the cycle again: %s", error)
                self._producer.abort_transaction(self._timeout_s)

    def close(self) -> None:
        self._producer.flush(5.0)
