"""The faust app: ingest agent, aggregate agent, clock ticks, topic discovery.

    fw.results.<stream>, fw.drops, fw.events --ingest--> <app>-observations (key: stream id)
        --aggregate--> tables (panes, progress, latest, alerts) --> fw.stats, fw.alerts

The ingest agent decodes protobuf and sends malformed records to the DLQ. Every input is
read read_committed (``faust_transport``): inference and the tracker write in transactions. Observations are
re-keyed by stream id so each stream's state is updated by one worker, in order, in the
table partition that matches its observation partition (faust requires tables to be
co-partitioned with the topic that updates them). Ticks travel the same way, so tables are
only ever written from inside the aggregate agent.

Both agents take records in batches (``batch_max`` within ``batch_within_s``): ingest sends
one observation record per stream and batch, and the aggregate agent applies a batch
through write-back stores (``batching``), so a table key changed n times in a batch is
written to its changelog once. The windows and alerts are the same as one at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any

import faust
from faust.streams import _current_event

from framewire.aggregator import metrics
from framewire.aggregator.batching import StoreBatch
from framewire.aggregator.engine import Aggregator, Published, Stores
from framewire.aggregator.faust_config import faust_config
from framewire.aggregator.ingest import RawMessage, dead_letter, error_kind, observe
from framewire.aggregator.observations import Tick, from_wire, to_wire, wire_items
from framewire.aggregator.rules import Rule
from framewire.aggregator.settings import AggregatorSettings
from framewire.aggregator.stats import WindowStats
from framewire.aggregator.topology import TABLES, observations_topic, result_topics
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import make_admin

log = logging.getLogger(__name__)
# (stream id, window stats or alert, wall clock it was produced at)
Emitted = tuple[str, Published, float]


@dataclass
class Runtime:
    """The app and what its views and tests need to reach."""

    app: faust.App
    engine: Aggregator
    settings: AggregatorSettings
    ingest: Any  # faust Topic: drops, zone events + result topics, grown by discovery


def build_app(settings: AggregatorSettings, rules: tuple[Rule, ...], results: list[str]) -> Runtime:
    """Wire agents, tables and timers; called once from ``run()`` after topics exist."""
    app = faust.App(settings.faust_id, **faust_config(settings))
    topics = settings.kafka.topics
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    ingest = app.topic(topics.drops, topics.events, *results, **raw)
    observations = app.topic(
        observations_topic(settings),
        key_serializer="raw",
        value_serializer="json",
        partitions=settings.partitions,
        internal=True,
    )
    stats_out, alerts_out = app.topic(topics.stats, **raw), app.topic(topics.alerts, **raw)
    dlq = app.topic(topics.dlq, **raw)
    # Keys and values are JSON (faust's default for tables): readable with Kafka's own tools.
    tables = {name: app.Table(name, partitions=settings.partitions) for name in TABLES}
    engine = Aggregator(
        settings.layout(), settings.timing(), rules, Stores(**tables), awake_since_s=time.time()
    )
    runtime = Runtime(app, engine, settings, ingest)

    @app.agent(ingest, concurrency=1)
    async def ingest_agent(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            by_stream: dict[str, list[dict[str, Any]]] = {}
            for event in events:
                message = _raw(event)
                try:
                    obs = observe(message, topics)
                except DecodeError as exc:
                    log.warning("dead letter: %s", exc)
                    await _park(message, exc)
                    continue
                by_stream.setdefault(obs.stream_id, []).append(to_wire(obs))
            # One record per stream and batch, its observations in arrival order.
            for stream_id, batch in by_stream.items():
                await observations.send(key=stream_id.encode(), value=batch)

    async def _park(message: RawMessage, exc: Exception) -> None:
        kind = error_kind(exc)
        metrics.DEAD_LETTERS.labels(kind).inc()
        await dlq.send(key=message.key, value=dead_letter(message, exc, settings.dlq_value_max_bytes))

    def apply(group: list[Any]) -> tuple[list[Emitted], list[tuple[RawMessage, Exception]]]:
        """Apply one partition's events through write-back stores; no await in here."""
        published: list[Emitted] = []
        failed: list[tuple[RawMessage, Exception]] = []
        # A table write goes to the changelog partition of the event being processed.
        token = _current_event.set(weakref.ref(group[-1]))
        try:
            with StoreBatch(engine):
                for event in group:
                    stream_id = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
                    for item in wire_items(event.value):
                        try:
                            obs = from_wire(stream_id, item)
                        except DecodeError as exc:
                            log.error("skipping unreadable observation %s: %s", _where(event), exc)
                            continue
                        now = time.time()
                        try:
                            outcome = engine.on_observation(obs, now)
                        except Exception as exc:  # a bug must not stop every stream: park the record
                            log.exception("observation %s failed; sent to the DLQ", obs)
                            failed.append((_raw(event, json.dumps(item).encode()), exc))
                            continue
                        metrics.record(obs, outcome, now)
                        published += [(stream_id, out, now) for out in outcome.published]
        finally:
            _current_event.reset(token)
        return published, failed

    @app.agent(observations, concurrency=1)
    async def aggregate_agent(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            for group in _by_partition(events):
                published, failed = apply(group)
                for message, exc in failed:
                    await _park(message, exc)
                for stream_id, item, now in published:
                    target = stats_out if isinstance(item, WindowStats) else alerts_out
                    payload = json.dumps(item.to_json(emitted_ms=int(now * 1000)), separators=(",", ":"))
                    await target.send(key=stream_id.encode(), value=payload.encode())

    @app.timer(settings.tick_s)
    async def tick() -> None:
        started, now = time.monotonic(), time.time()
        for stream_id in engine.streams():
            await observations.send(key=stream_id.encode(), value=to_wire(Tick(stream_id, now)))
        metrics.TICK_SECONDS.observe(time.monotonic() - started)

    @app.timer(settings.lag_interval_s)
    async def export_lag() -> None:
        try:
            await _export_consumer_lag(app, {*ingest.topics, observations_topic(settings)})
        except Exception:  # a metric must never crash the app (faust stops on timer errors)
            log.exception("could not read consumer positions for the lag metric")

    admin = make_admin(settings.kafka)  # one client, reused by every discovery round

    @app.timer(settings.discover_s)
    async def discover() -> None:
        try:
            found = await asyncio.get_running_loop().run_in_executor(None, result_topics, settings, admin)
        except KafkaUnavailableError as exc:
            log.warning("topic discovery failed, retrying in %.0fs: %s", settings.discover_s, exc)
            return
        known = set(ingest.topics)
        new = sorted(set(found) - known)
        if new:
            log.info("subscribing to new result topics: %s", ", ".join(new))
            ingest.topics = [*ingest.topics, *new]
            # The agent iterates over clones of ``ingest`` and those clones are what faust's
            # conductor subscribes: each learns the new names, then re-registering makes the
            # conductor resubscribe and rebalance.
            for channel in [c for c in app.topics if set(c.topics) == known]:
                channel.topics = list(ingest.topics)
                app.topics.discard(channel)
                app.topics.add(channel)

    # faust waits 45 s before acting on a subscription change; new streams should not.
    setattr(app.topics, "_resubscribe_sleep_lock_seconds", min(5.0, settings.discover_s))  # noqa: B010
    return runtime


def _by_partition(events: list[Any]) -> list[list[Any]]:
    """``events`` split by source partition, each part in order (one stream's records all
    sit in one partition, next to its table partition)."""
    parts: dict[int, list[Any]] = {}
    for event in events:
        parts.setdefault(event.message.partition, []).append(event)
    return list(parts.values())


def _where(event: Any) -> str:
    message = event.message
    return f"{message.topic}[{message.partition}]@{message.offset}"


def _raw(event: Any, value: bytes | None = None) -> RawMessage:
    """The consumed record behind ``event``; ``value`` replaces an already decoded value."""
    message = event.message
    headers = message.headers or []
    pairs = list(headers.items()) if isinstance(headers, dict) else [(k, v) for k, v in headers]
    return RawMessage(
        message.topic,
        message.partition,
        message.offset,
        event.key,
        event.value if value is None else value,
        float(message.timestamp or 0.0),
        pairs,
    )


async def _export_consumer_lag(app: faust.App, topics: set[str]) -> None:
    """Lag of the topics whose records are still to be processed (not the changelogs, read
    only while recovering); each position is a call into the consumer's thread."""
    consumer = app.consumer
    behind: dict[str, int] = {}
    for tp in consumer.assignment():
        if tp.topic not in topics:
            continue
        position, highwater = await consumer.position(tp), consumer.highwater(tp)
        if position is None or highwater is None:
            continue  # not fetched yet
        lag = max(0, highwater - position)
        behind[tp.topic] = behind.get(tp.topic, 0) + lag
    for topic, lag in behind.items():
        metrics.CONSUMER_LAG.labels(topic).set(lag)
