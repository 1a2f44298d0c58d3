"""A broker killed, then slow for a while after its restart: no frame is written twice.

A just-restarted broker on a loaded machine answers late. librdkafka gives a produce request
no more time than its first message has left before ``message.timeout.ms``; with a short
delivery timeout the late answer counts as a timeout, the frames as "possibly written",
and the backlog expiring around them makes the idempotent producer bump its epoch and send
them again under new sequence numbers: the broker keeps both copies. The broker's slowness
is made here by stopping it (SIGSTOP) 1.4 s of every 1.6 s for 10 s after the restart.
"""

import os
import signal
import threading
import time
import uuid
from collections import Counter

import pytest

from framewire.broker.local import LocalBroker
from framewire.core.config import KafkaSettings
from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.samples import make_samples
from support.gateway import GatewayThread, TopicReader, spec, wait_until, write_specs

pytestmark = pytest.mark.integration

STREAMS = tuple(f"s{i}" for i in range(8))
OUTAGE_S = 10.0


def stall(broker: LocalBroker, seconds: float, stopped_s: float = 1.4, period_s: float = 1.6) -> None:
    """Stop the broker process ``stopped_s`` of every ``period_s`` for ``seconds``."""
    pid = broker.pid()
    assert pid is not None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(stopped_s)
        finally:
            os.kill(pid, signal.SIGCONT)
        time.sleep(period_s - stopped_s)


def test_frames_are_not_written_twice_when_the_restarted_broker_is_slow(own_broker, tmp_path):
    # Given a gateway with its default settings publishing eight 15 fps streams
    clip = make_samples(tmp_path, width=640, height=480, fps=15, seconds=2.0, names=("coffee",))[0]
    kafka = KafkaSettings(bootstrap=own_broker.bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    settings = GatewaySettings(kafka=kafka, assignment=AssignmentMode.ALL, metrics_port=0,
                               status_interval_s=1.0)
    write_specs(kafka, [spec(s, str(clip), fps=15) for s in STREAMS])
    reader = TopicReader(kafka)
    with GatewayThread(settings):
        assert wait_until(lambda: all(len(reader.snapshot(s)) >= 30 for s in STREAMS), 60)
        # When the broker is killed for 10 s, restarted, and then slow for 10 s
        own_broker.kill()
        time.sleep(OUTAGE_S)
        starting = threading.Thread(target=own_broker.start, daemon=True)
        starting.start()
        starting.join(120)
        stall(own_broker, 10.0)
        restarted = time.time_ns()
        # Then publishing resumes on every stream
        assert wait_until(lambda: all(any(f.capture_time_ns > restarted for f in reader.snapshot(s))
                                      for s in STREAMS), 60)
        time.sleep(3.0)
    time.sleep(2.0)  # (the reader catches up)
    frames = {s: reader.snapshot(s) for s in STREAMS}
    reader.close()
    # And no frame is in its topic twice
    copies = {s: [q for q, n in Counter(f.sequence for f in fs).items() if n > 1]
              for s, fs in frames.items()}
    total = sum(len(fs) for fs in frames.values())
    print(f"slow broker: frames={total} copies={ {s: len(c) for s, c in copies.items()} }")
    assert not any(copies.values()), copies
