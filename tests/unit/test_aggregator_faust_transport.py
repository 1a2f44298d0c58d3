"""The aggregator's faust transport: a commit during a rebalance is skipped, not a crash."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust.transport.drivers as drivers
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from framewire.aggregator.faust_config import faust_config
from framewire.aggregator.faust_transport import SCHEME, RebalanceSafeConsumerThread, RebalanceSafeTransport
from framewire.aggregator.settings import AggregatorSettings
from framewire.core.config import KafkaSettings


def thread_with(assignment: set[Any]) -> Any:
    """The thread without faust around it: only its aiokafka consumer's assignment."""
    thread = object.__new__(RebalanceSafeConsumerThread)
    consumer = SimpleNamespace(assignment=lambda: assignment)
    thread.__dict__["_ensure_consumer"] = lambda: consumer
    return thread


def test_a_commit_while_nothing_is_assigned_is_skipped_without_reaching_aiokafka(monkeypatch: Any) -> None:
    # Given aiokafka mid-rebalance (no assignment) and faust's commit recorded
    calls: list[Any] = []

    async def parent(self: Any, offsets: Any) -> bool:
        calls.append(offsets)
        return True

    monkeypatch.setattr(AIOKafkaConsumerThread, "_commit", parent)
    # When faust asks for its periodic commit
    skipped = asyncio.run(RebalanceSafeConsumerThread._commit(thread_with(set()), {"tp": 5}))
    # Then it answers "not committed" and aiokafka (which would raise and crash faust) is not called
    assert skipped is False and calls == []
    # And with partitions assigned the commit goes through as before
    done = asyncio.run(RebalanceSafeConsumerThread._commit(thread_with({"tp"}), {"tp": 5}))
    assert done is True and calls == [{"tp": 5}]


def test_the_aggregator_app_is_configured_with_the_rebalance_safe_transport() -> None:
    # Given the aggregator's settings / When faust's config is built
    config = faust_config(AggregatorSettings(kafka=KafkaSettings(bootstrap="k1:9092,k2:9093")))
    # Then every broker uses the scheme that faust's registry maps to our transport
    assert config["broker"] == [f"{SCHEME}://k1:9092", f"{SCHEME}://k2:9093"]
    assert drivers.by_name(SCHEME) is RebalanceSafeTransport
