"""A worker that dies inside a transaction: its streams are blocked only until the broker
aborts that transaction, not for a minute.

The committed offsets of a partition are unreadable (UNSTABLE_OFFSET_COMMIT) while a
transaction holding offsets for it is open, so the worker that takes the partition over
waits until the dead worker's transaction is aborted. A real worker is inside a transaction
for only milliseconds per commit, so a SIGKILL rarely lands there by chance; here a process
with the worker's own Kafka clients and settings opens the transaction with offsets for
both streams and then kills itself, every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from framewire.core.config import KafkaSettings
from reliability.failover import (
    FPS,
    SESSION_TIMEOUT_MS,
    STREAMS,
    Probe,
    account,
    machine,
    worker,
)
from reliability.procs import kafka_env
from support.inference import FramePublisher, create_streams, jpeg_of, read_until_covered

pytestmark = pytest.mark.reliability

# Session timeout (the dead member leaves the group), the transaction timeout (6 s default)
# and the broker's 1 s abort sweep overlap; the rest is slack for a loaded machine. The old
# 60 s timeout plus a 10 s sweep is far above it.
RESUME_BOUND_S = 25.0

_DIE_INSIDE_A_TRANSACTION = """
import os, signal, sys, time
from confluent_kafka import TopicPartition
from framewire.inference.kafka_io import KafkaIO
from framewire.inference.settings import InferenceSettings

settings = InferenceSettings()
io = KafkaIO.open(settings)
topics = settings.kafka.topics
io.consumer.subscribe([topics.frames(s) for s in sys.argv[1:]])
latest = {}
deadline = time.monotonic() + 60
while len(latest) < len(sys.argv) - 1 and time.monotonic() < deadline:
    m = io.consumer.poll(0.2)
    if m is not None and m.error() is None:
        latest[(m.topic(), m.partition())] = m.offset()
producer = io.producer
producer.begin_transaction()
producer.produce(topics.drops, b"never committed", b"orphan")
producer.send_offsets_to_transaction(
    [TopicPartition(t, p, o + 1) for (t, p), o in latest.items()],
    io.consumer.consumer_group_metadata(), 10)
producer.flush(10)
print("inside", len(latest), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_killed_inside_its_transaction_blocks_its_streams_only_until_it_is_aborted(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given two streams and a worker that opened a transaction with offsets for both
    create_streams(kafka_settings, STREAMS)
    photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2, ::-1])
    feed = FramePublisher(kafka_settings, STREAMS, jpeg_of(photo), width=photo.shape[1],
                          height=photo.shape[0], fps=FPS).start()
    probe = Probe(kafka_settings, STREAMS)
    survivor = None
    try:
        env = {**os.environ, **kafka_env(kafka_settings), "FW_INFERENCE_WORKER_ID": "a",
               "FW_INFERENCE_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
               "FW_INFERENCE_STATIC_MEMBERSHIP": "true"}
        dying = subprocess.run([sys.executable, "-c", _DIE_INSIDE_A_TRANSACTION, *STREAMS],
                               env=env, capture_output=True, text=True, timeout=120)
        # When it is killed there and another worker starts
        killed_ns = time.time_ns()
        assert dying.returncode == -9 and f"inside {len(STREAMS)}" in dying.stdout, dying.stderr[-2000:]
        survivor = worker(kafka_settings, "b", tmp_path / "b.log")
        resumed = [probe.wait_first_after(s, killed_ns, 90) for s in STREAMS]
        sent = feed.stop()
        results, drops = read_until_covered(kafka_settings, sent, 60)
    finally:
        if feed.running:
            feed.stop()
        probe.close()
        code = survivor.stop() if survivor is not None else None
    topics = kafka_settings.topics
    accounts = {s: account(n, [r.source_offset for r in results if r.source_topic == topics.frames(s)],
                           [d for d in drops if d.topic == topics.frames(s)])
                for s, n in sent.items()}
    print(f"RELIABILITY orphaned transaction: kill_to_result_s={resumed} "
          f"{ {s: (a.results, a.stale, a.duplicates, a.unaccounted) for s, a in accounts.items()} } "
          f"({machine()})")
    # Then the new worker's results start once the broker has aborted the dead transaction
    assert all(r is not None and r < RESUME_BOUND_S for r in resumed), resumed
    # And nothing of the aborted transaction is lost or doubled
    for stream, acc in accounts.items():
        assert acc.duplicates == 0 and acc.unaccounted == 0 and acc.both == 0, f"{stream}: {acc}"
    assert code == 0
