"""``ensure_topics`` when a topic created a moment ago is not listed yet: the create is refused
as existing, and the topic's configs must still be aligned (a changed retention applied)."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from framewire.core.admin import ensure_topics
from framewire.core.catalog import TopicSpec

pytestmark = pytest.mark.unit


def done(value: Any = None, error: KafkaError | None = None) -> Future[Any]:
    future: Future[Any] = Future()
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(value)
    return future


class LaggingAdmin:
    """Lists no topic the first time; then the topic, with an old retention."""

    def __init__(self) -> None:
        self.listed = 0
        self.altered: list[Any] = []

    def list_topics(self, timeout: float) -> Any:
        self.listed += 1
        partition = SimpleNamespace(leader=1)
        listed = {"t.frames.cam": SimpleNamespace(error=None, partitions={0: partition})}
        topics = {} if self.listed == 1 else listed
        return SimpleNamespace(topics=topics)

    def create_topics(self, new: list[Any], request_timeout: float) -> dict[str, Future[Any]]:
        return {t.topic: done(error=KafkaError(KafkaError.TOPIC_ALREADY_EXISTS)) for t in new}

    def describe_configs(self, resources: list[Any], request_timeout: float) -> dict[Any, Future[Any]]:
        return {r: done({"retention.ms": SimpleNamespace(value="3600000")}) for r in resources}

    def incremental_alter_configs(self, changes: list[Any]) -> dict[Any, Future[Any]]:
        self.altered += changes
        return {c: done() for c in changes}


def test_a_topic_refused_as_existing_gets_its_configs_aligned() -> None:
    # Given a broker that has the topic but did not list it yet
    admin = LaggingAdmin()
    spec = TopicSpec("t.frames.cam", config={"retention.ms": "60000"})
    # When the topic is ensured with a new retention
    created = ensure_topics(admin, [spec])  # type: ignore[arg-type]
    # Then nothing was created, and its retention was changed all the same
    assert created == []
    assert [c.name for c in admin.altered] == ["t.frames.cam"]
    entry = admin.altered[0].incremental_configs[0]
    assert (entry.name, entry.value) == ("retention.ms", "60000")
