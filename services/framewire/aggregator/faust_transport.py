"""faust's aiokafka transport, with commits that survive a rebalance in progress.

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


class RebalanceSafeConsumerThread(AIOKafkaConsumerThread):
    """Skips a commit that aiokafka would refuse for want of an assignment."""

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
