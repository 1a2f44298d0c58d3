"""Topics the aggregator reads and owns, created with Kafka's AdminClient.

Every topic, faust's own included, is created here with the topic catalogue's settings
(retention, compaction) rather than by faust's declare path: faust-streaming 0.11 (the
pinned version) cannot create topics on Kafka 4.x at all (``'MetadataRequest_v1' object has
no attribute 'prepare'``); 0.15 can, with its own defaults. The app runs with
``topic_allow_declare=False``. faust's pattern subscriptions subscribe to nothing (0.11 and
0.15.3 alike), so result topics are listed here by regex and handed to faust by name.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from framewire.aggregator.settings import AggregatorSettings
from framewire.core.admin import TopicPolicy, TopicSpec, await_topics, ensure_topics, fixed_topics
from framewire.core.catalog import COMPACTED_CONFIG, WEEK_MS, classify
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import make_admin
from framewire.core.topics import TopicKind, Topics

TABLES = ("panes", "progress", "latest", "alerts")


def observations_topic(settings: AggregatorSettings) -> str:
    return f"{settings.faust_id}-observations"


def changelog_topic(settings: AggregatorSettings, table: str) -> str:
    """faust's name for a table's changelog: ``<app id>-<table>-changelog``."""
    return f"{settings.faust_id}-{table}-changelog"


def owned_topics(settings: AggregatorSettings) -> list[TopicSpec]:
    """Internal topics: observations, one compacted changelog per table, faust's leader topic."""
    n, r = settings.partitions, settings.replication
    specs = [TopicSpec(observations_topic(settings), n, r, {"retention.ms": str(WEEK_MS)})]
    specs += [TopicSpec(changelog_topic(settings, t), n, r, dict(COMPACTED_CONFIG)) for t in TABLES]
    specs.append(TopicSpec(f"{settings.faust_id}-__assignor-__leader", 1, r))
    return specs


def prepare_topics(settings: AggregatorSettings) -> None:
    """Create the shared and internal topics the aggregator needs; idempotent.

    Called from ``run()`` before faust starts, so a wrong bootstrap fails fast and clearly.
    """
    admin = make_admin(settings.kafka)
    policy = TopicPolicy(replication=settings.replication)
    specs = fixed_topics(settings.kafka.topics, policy) + owned_topics(settings)
    ensure_topics(admin, specs)
    # faust subscribes at once; a topic not yet in its first assignment would go unread.
    await_topics(admin, [s.name for s in specs])


def result_topics(
    settings: AggregatorSettings, admin: AdminClient | None = None, timeout_s: float = 10.0
) -> list[str]:
    """Live per-stream result topics (``fw.results.<stream>``, not replay outputs), sorted."""
    topics = settings.kafka.topics
    try:
        names = (admin or make_admin(settings.kafka)).list_topics(timeout=timeout_s).topics
    except Exception as exc:  # KafkaException or a timeout: both mean no answer
        raise KafkaUnavailableError(f"cannot list topics: {exc}") from None
    return sorted(name for name in names if _kind(topics, name) is TopicKind.RESULTS)


def _kind(topics: Topics, name: str) -> TopicKind | None:
    found = classify(topics, name)
    return None if found is None else found[0].kind
