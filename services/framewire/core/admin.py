"""An idempotent ``ensure_topics`` using the AdminClient, for the catalogue's topics.

Called by the local broker command, by each service at start-up (for the topics it
writes) and by the dashboard when a stream is created.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from framewire.core.catalog import CATALOG, TopicPolicy, TopicSpec, spec_of
from framewire.core.errors import KafkaUnavailableError
from framewire.core.topics import TopicKind, Topics

__all__ = ["TopicPolicy", "TopicSpec", "ensure_topics", "fixed_topics", "frames_topic",
           "read_topic_configs", "results_topic", "stream_topics"]

log = logging.getLogger(__name__)


def frames_topic(topics: Topics, stream_id: str, policy: TopicPolicy) -> TopicSpec:
    return spec_of(topics, TopicKind.FRAMES, policy, stream_id)


def results_topic(topics: Topics, stream_id: str, policy: TopicPolicy) -> TopicSpec:
    return spec_of(topics, TopicKind.RESULTS, policy, stream_id)


def stream_topics(topics: Topics, stream_id: str, policy: TopicPolicy) -> list[TopicSpec]:
    """The per-stream topics a new stream needs (every per-stream kind of the catalogue)."""
    return [spec_of(topics, e.kind, policy, stream_id) for e in CATALOG.values() if e.per_stream]


def fixed_topics(topics: Topics, policy: TopicPolicy) -> list[TopicSpec]:
    """The shared topics every deployment has (every other kind of the catalogue)."""
    return [spec_of(topics, e.kind, policy) for e in CATALOG.values() if not e.per_stream]


def ensure_topics(admin: AdminClient, specs: list[TopicSpec], timeout_s: float = 15.0) -> list[str]:
    """Create missing topics and align configs of existing ones; return the names created.

    Idempotent: a second call with the same specs creates and changes nothing.
    """
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot list topics: {exc}") from None
    missing = [s for s in specs if s.name not in existing]
    created = _create(admin, missing, timeout_s)
    # A topic created a moment ago may be missing from the metadata listed above and then
    # refused as existing: once the broker lists it, its configs are aligned like those of
    # any other existing topic.
    raced = [s.name for s in missing if s.name not in created]
    if raced:
        await_topics(admin, raced, timeout_s)
    present = [s for s in specs if s.name not in created and s.config]
    if present:
        _align_configs(admin, present, timeout_s)
    return created


def await_topics(admin: AdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    """Block until every topic in ``names`` is in the broker's metadata with a leader for
    each partition; KafkaUnavailableError naming the missing ones after ``timeout_s``.

    Called after creating topics that a consumer group subscribes to right away: a group
    leader that computes the assignment before a new topic shows in its metadata assigns
    none of its partitions, and its client notices only at its next metadata refresh
    (aiokafka: 5 minutes), so the topic goes unread until then.
    """
    deadline = time.monotonic() + timeout_s
    missing = list(names)
    while True:
        try:
            topics = admin.list_topics(timeout=max(1.0, deadline - time.monotonic())).topics
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot list topics: {exc}") from None
        missing = [n for n in names if not _has_leaders(topics.get(n))]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if missing:
        raise KafkaUnavailableError(f"topics without a leader after {timeout_s:.0f}s: {', '.join(missing)}")


def _has_leaders(topic: object) -> bool:
    partitions = getattr(topic, "partitions", None)
    if getattr(topic, "error", None) is not None or not partitions:
        return False
    return all(p.leader >= 0 for p in partitions.values())


def _create(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> list[str]:
    if not specs:
        return []
    new = [NewTopic(s.name, s.partitions, s.replication, config=dict(s.config)) for s in specs]
    created = []
    for name, future in admin.create_topics(new, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
            log.info("created topic %s", name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise KafkaUnavailableError(f"cannot create topic {name}: {exc}") from None
    return created


def _align_configs(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> None:
    current = read_topic_configs(admin, [s.name for s in specs], timeout_s)
    changes = []
    for spec in specs:
        entries = [
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in spec.config.items()
            if current.get(spec.name, {}).get(k) != v
        ]
        if entries:
            changes.append(ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=entries))
    if not changes:
        return
    for resource, future in admin.incremental_alter_configs(changes).items():
        try:
            future.result(timeout=timeout_s)
            log.info("updated config of topic %s", resource.name)
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot alter topic {resource.name}: {exc}") from None


def read_topic_configs(
    admin: AdminClient, names: list[str], timeout_s: float = 15.0
) -> dict[str, dict[str, str]]:
    """Topic configs as the broker reports them, name -> {key: value}."""
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    out: dict[str, dict[str, str]] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout_s).items():
        entries = future.result(timeout=timeout_s)
        out[resource.name] = {k: e.value for k, e in entries.items()}
    return out
