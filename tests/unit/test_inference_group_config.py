"""The inference worker's consumer options for each group protocol and membership."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaError

from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config
from framewire.inference.kafka_io import KafkaIO, _transactional_producer, group_config
from framewire.inference.settings import GroupProtocol, InferenceSettings

pytestmark = pytest.mark.unit


def settings(**kw: object) -> InferenceSettings:
    return InferenceSettings(kafka=KafkaSettings(bootstrap="127.0.0.1:1"), worker_id="w-3", **kw)


def test_a_static_member_of_a_classic_group_has_its_worker_id_and_a_6s_session() -> None:
    # Given static membership turned on
    s = settings(static_membership=True)
    conf = consumer_config(s.kafka, "g", **group_config(s))
    # Then the worker id is its group instance id and the session times out within 6 s
    assert conf["group.instance.id"] == "w-3"
    assert conf["group.protocol"] == "classic"
    assert conf["session.timeout.ms"] <= 6000
    assert conf["heartbeat.interval.ms"] < conf["session.timeout.ms"] // 3
    assert conf["partition.assignment.strategy"] == "cooperative-sticky"
    Consumer(conf).close()  # librdkafka accepts the combination


def test_the_consumer_protocol_leaves_assignment_and_session_to_the_broker() -> None:
    # Given the KIP-848 consumer protocol
    s = settings(group_protocol=GroupProtocol.CONSUMER)
    conf = consumer_config(s.kafka, "g", **group_config(s))
    # Then none of the options librdkafka refuses under it is set
    assert conf["group.protocol"] == "consumer"
    for refused in ("session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy"):
        assert refused not in conf
    Consumer(conf).close()


def test_by_default_membership_is_dynamic() -> None:
    conf = group_config(settings())
    assert "group.instance.id" not in conf


def test_a_fatal_consumer_error_event_stops_the_consumer_loop() -> None:
    from framewire.core.errors import KafkaUnavailableError
    from framewire.core.kafka import raise_if_incurable

    # Given the event librdkafka hands a static member fenced by a newer one (code _FATAL)
    event = KafkaError(KafkaError._FATAL, "Static consumer fenced by other consumer")
    # Then the loop stops with the reason instead of logging it and idling on
    with pytest.raises(KafkaUnavailableError, match="fenced"):
        raise_if_incurable(event, "consumer group g")
    # while a retriable error is left to librdkafka
    raise_if_incurable(KafkaError(KafkaError._TRANSPORT, "broker down"), "consumer group g")


def test_the_transactional_producer_options_are_accepted_with_a_short_transaction_timeout() -> None:
    # Given the default transaction timeout, short so that a worker dying inside a
    # transaction blocks its partitions' offsets only for seconds
    s = settings()
    assert s.transaction_timeout_ms <= s.session_timeout_ms
    # When the worker's producer is built, then librdkafka accepts it (it refuses a message
    # timeout longer than the transaction timeout)
    producer = _transactional_producer(s)
    producer.flush(0)


def test_seeking_a_partition_that_is_no_longer_assigned_is_reported_not_raised() -> None:
    # Given a worker's Kafka clients whose consumer holds no partition (a revoke or a fence
    # happened since the cycle was selected)
    s = settings()
    consumer = Consumer(consumer_config(s.kafka, "g", **group_config(s)))
    io = KafkaIO(s, consumer, _transactional_producer(s), None)  # type: ignore[arg-type]
    try:
        # When the worker seeks it forward, then it learns there is nothing to move
        assert io.seek(("t.frames.a", 0), 5) is False
    finally:
        io.publisher.close()
        consumer.close()
