"""A frames-like load for a just-started broker, so what is measured next is its steady state.

A broker JVM compiles its hot paths during its first minutes under load: measured side by
side on one broker (``benchmarks/bench_broker_fetch.py``), the same 100 records/s of 30 KiB
cost 54 % of a core in the first window and 20 % a few minutes later. A benchmark that starts
a broker of its own and measures at once charges that compilation to the pipeline.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from framewire.core.admin import TopicSpec, ensure_topics
from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config, make_admin, producer_config


def create_topics(settings: KafkaSettings, topics: list[str]) -> None:
    ensure_topics(make_admin(settings), [TopicSpec(t) for t in topics])


def produce(settings: KafkaSettings, topics: list[str], fps: float, payload: bytes,
            extra: dict[str, Any], stop: threading.Event, sent: list[int]) -> None:
    """``fps`` records a second on each topic, idempotent as the gateway produces them."""
    from confluent_kafka import Producer

    producer = Producer(producer_config(settings, **extra))
    period, due = 1.0 / fps, time.monotonic()
    while not stop.is_set():
        for topic in topics:
            producer.produce(topic, payload, key=topic.encode())
            sent[0] += 1
        producer.poll(0)
        due += period
        time.sleep(max(0.0, due - time.monotonic()))
    producer.flush(10)


def consume(settings: KafkaSettings, topics: list[str], extra: dict[str, Any],
            stop: threading.Event, on_stats: Any = None) -> None:
    """A read_committed reader of ``topics`` polling as a service does."""
    from confluent_kafka import Consumer

    conf = consumer_config(settings, f"bench-warm-{time.time_ns()}", **extra)
    conf["auto.offset.reset"] = "latest"
    if on_stats is not None:
        conf.update({"statistics.interval.ms": 1000, "stats_cb": on_stats})
    consumer = Consumer(conf)
    consumer.subscribe(topics)
    while not stop.is_set():
        consumer.poll(0.5)
    consumer.close()


def warm_broker(bootstrap: str, seconds: float, streams: int = 4, fps: float = 25.0,
                kib: int = 30, readers: int = 2) -> None:
    """Called right after a benchmark's own broker starts; returns after ``seconds``."""
    if seconds <= 0:
        return
    settings = KafkaSettings(bootstrap=bootstrap)
    topics = [f"fw.frames.warmup-{time.time_ns()}-{i}" for i in range(streams)]
    create_topics(settings, topics)
    stop, sent = threading.Event(), [0]
    threads = [threading.Thread(target=consume, args=(settings, topics, {}, stop), daemon=True)
               for _ in range(readers)]
    threads.append(threading.Thread(target=produce, args=(
        settings, topics, fps, os.urandom(kib * 1024), {}, stop, sent), daemon=True))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(15)
