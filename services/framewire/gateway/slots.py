"""Which slots this gateway owns: the stream assignment across gateway replicas.

All gateways join one consumer group on the slots topic (K partitions, no messages). The
group coordinator spreads the partitions over the live members; a stream belongs to the
owner of partition ``slot_of(stream_id, K)``. When a gateway dies its partitions move
after the session timeout, and with them its streams. No custom coordinator is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from framewire.core.kafka import make_consumer, raise_if_incurable
from framewire.gateway.registry import CONTROL_CONSUMER, topic_partitions
from framewire.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

SlotsCallback = Callable[[set[int]], None]


class GroupSlots:
    """Slots from the consumer group; ``poll`` (control thread) runs the rebalance callbacks.

    ``on_revoked`` is called before the slots are released, so the streams stop here
    before another gateway may start them.
    """

    def __init__(self, settings: GatewaySettings, on_revoked: SlotsCallback,
                 on_assigned: SlotsCallback) -> None:
        self.topic = settings.slots_topic
        self._group = settings.effective_group_id
        self._consumer = make_consumer(
            settings.kafka, settings.effective_group_id,
            **{
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 4),
                "client.id": f"framewire-gateway-{settings.id}",
                **CONTROL_CONSUMER,
            },
        )
        timeout_s = settings.kafka.connect_timeout_s
        self.count = len(topic_partitions(self._consumer, self.topic, timeout_s))
        self.owned: set[int] = set()
        self._on_revoked, self._on_assigned = on_revoked, on_assigned
        self._consumer.subscribe(
            [self.topic], on_assign=self._assign, on_revoke=self._revoke, on_lost=self._lost
        )

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        added = {p.partition for p in partitions}
        self.owned |= added
        log.info("gateway slots +%s: %s owned", len(added), len(self.owned))
        self._on_assigned(added)

    def _revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        removed = {p.partition for p in partitions}
        self._on_revoked(removed)
        self.owned -= removed
        log.info("gateway slots -%s: %s owned", len(removed), len(self.owned))

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("gateway slots lost (group session expired); their streams stop")
        self._revoke(consumer, partitions)

    def poll(self, timeout_s: float) -> None:
        msg = self._consumer.poll(timeout_s)
        if msg is not None and msg.error() is not None:
            raise_if_incurable(msg.error(), f"gateway group {self._group}")
            log.warning("gateway group: %s", msg.error())

    def close(self) -> None:
        """Leave the group, so the other gateways take the slots over at once."""
        self._consumer.close()


class AllSlots:
    """Assignment mode ``all``: this gateway serves every stream."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.owned = set(range(count))

    def poll(self, timeout_s: float) -> None:
        """Nothing to do; the caller's other waits pace the loop."""

    def close(self) -> None:
        pass
