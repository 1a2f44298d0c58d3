"""faust's aiokafka transport: reads read_committed, and commits survive a rebalance.

faust reads ``read_committed`` only under ``processing_guarantee="exactly_once"``, which
would also make its own producer transactional. The aggregator's inputs are written in
transactions (results and drops by inference, zone events by the tracker; the topic
catalogue asks every reader to read them committed), so the consumer here always reads
committed records only; for faust's own topics, written without transactions, that changes
nothing.

faust asks for a commit every ``broker_commit_interval``. When that lands while aiokafka is
in the middle of a rebalance (its assignment cleared, faust's own view not yet), aiokafka
raises ``IllegalStateError("No partitions assigned")`` and faust crashes the whole worker
(faust-streaming issue #94). Here such a commit is skipped instead: the offsets stay where
the last commit left them and the next owner re-reads from there, as after any rebalance
(the stats are at least once, docs/stats-format.md).

Registered as the ``fwkafka://`` scheme in faust's transport registry when this module is
imported; ``faust_config`` names its brokers with that scheme.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from faust.transport import drivers
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport

log = logging.getLogger(__name__)

SCHEME = "fwkafka"


READ_COMMITTED = "read_committed"


class RebalanceSafeConsumerThread(AIOKafkaConsumerThread):
    """Reads committed records only; skips a commit that aiokafka would refuse for want of
    an assignment."""

    def _create_worker_consumer(self, transport: Transport) -> Any:
        """Called by faust when the worker's consumer thread starts."""
        consumer = super()._create_worker_consumer(transport)
        # aiokafka takes the level when the consumer starts (its fetcher), which is after this.
        consumer._isolation_level = READ_COMMITTED
        return consumer

    async def _commit(self, offsets: Mapping[Any, int]) -> bool:
        if not self._ensure_consumer().assignment():
            log.info("commit of %d partitions skipped: a rebalance is in progress", len(offsets))
            return False
        # No await comes between this check and aiokafka's own, and the rebalance runs on
        # the same event loop, so the assignment cannot go in between.
        return bool(await super()._commit(offsets))


class RebalanceSafeConsumer(Consumer):
    def _new_consumer_thread(self) -> RebalanceSafeConsumerThread:
        return RebalanceSafeConsumerThread(self, loop=self.loop, beacon=self.beacon)


class RebalanceSafeTransport(Transport):
    Consumer = RebalanceSafeConsumer


drivers.DRIVERS[SCHEME] = RebalanceSafeTransport
