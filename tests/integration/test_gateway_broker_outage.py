"""The broker stopped for 10 s: memory stays bounded, drops are counted, publishing resumes.

Uses its own broker (other ports, own data directory): the shared one is never stopped.
The gateway serves every stream itself (assignment ``all``): with the default group
assignment the slots are also lost and regained across the outage, which only adds the
group's session timeout to the resume time (checked by hand: 7 s).
"""

import time
import uuid

import pytest

from framewire.core.config import KafkaSettings
from framewire.gateway.counters import DropReason
from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.samples import make_samples
from framewire.v1.ops_pb2 import DropRecord
from support.gateway import (
    GatewayThread,
    TopicReader,
    read_topic,
    spec,
    wait_until,
    write_specs,
)

pytestmark = pytest.mark.integration

STREAMS = ("a", "b", "c")
QUEUE_BOUND = 40
OUTAGE_S = 10.0


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_broker_outage_drops_are_bounded_and_counted_then_publishing_resumes(own_broker, tmp_path):
    # Given a gateway publishing three 15 fps streams to its own broker, with a small queue
    clip = make_samples(tmp_path, width=320, height=240, fps=15, seconds=2.0, names=("coffee",))[0]
    kafka = KafkaSettings(bootstrap=own_broker.bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    settings = GatewaySettings(kafka=kafka, assignment=AssignmentMode.ALL, metrics_port=0,
                               status_interval_s=1.0,
                               producer_buffer_messages=QUEUE_BOUND, delivery_timeout_ms=4000)
    write_specs(kafka, [spec(s, str(clip), fps=15) for s in STREAMS])
    reader = TopicReader(kafka)
    with GatewayThread(settings) as gateway:
        assert wait_until(lambda: all(len(reader.snapshot(s)) >= 15 for s in STREAMS), 30)
        rss_before = rss_mib()
        # When the broker is stopped for 10 s
        own_broker.kill()
        down_until = time.monotonic() + OUTAGE_S
        queue_peak = 0
        while time.monotonic() < down_until:
            queue_peak = max(queue_peak, gateway.publisher.queued_frames())
            time.sleep(0.25)
        rss_during = rss_mib()
        own_broker.start()
        restarted = time.time_ns()
        # Then publishing resumes by itself on every stream
        assert wait_until(lambda: all(any(f.capture_time_ns > restarted for f in reader.snapshot(s))
                                      for s in STREAMS), 40)
        counters = {s: gateway.counters(s) for s in STREAMS}
    reader.close()
    # And the producer queue never held more than its bound, and memory stayed flat
    assert 0 < queue_peak <= QUEUE_BOUND
    assert rss_during - rss_before < 64, (rss_before, rss_during)
    # And the lost frames were counted per stream with their reason
    records = read_topic(kafka, kafka.topics.drops, DropRecord)
    for stream_id, c in counters.items():
        lost = c.dropped[DropReason.BACKPRESSURE] + c.dropped[DropReason.DELIVERY_FAILED]
        assert lost >= 15 * 3, (stream_id, c.dropped)
        # And reported to the drops topic, reason by reason, once the broker was back
        for reason in DropReason:
            reported = sum(r.count for r in records
                           if r.stream_id == stream_id and r.reason == reason.value)
            assert reported == c.dropped[reason], (stream_id, reason)
    # And each stream's numbering kept rising across the outage
    for stream_id in STREAMS:
        sequences = [f.sequence for f in reader.snapshot(stream_id)]
        assert sequences == sorted(set(sequences))
