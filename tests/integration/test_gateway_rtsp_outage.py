"""An RTSP server going away: that stream reconnects, the others keep their rate."""

import time

import pytest

from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.samples import make_samples
from framewire.v1.stream_pb2 import StreamStatus
from support.gateway import (
    GatewayThread,
    RtspServer,
    TopicReader,
    spec,
    wait_until,
    write_specs,
)

pytestmark = pytest.mark.integration


def count_between(frames, start_ns, end_ns):
    return sum(start_ns <= f.capture_time_ns < end_ns for f in frames)


def test_rtsp_stream_reconnects_while_the_others_keep_their_rate(kafka_settings, tmp_path):
    # Given a gateway serving an RTSP camera and two files at 10 fps
    clips = make_samples(tmp_path, width=320, height=240, fps=15, seconds=2.0,
                         names=("astronaut", "coffee"))
    settings = GatewaySettings(kafka=kafka_settings, assignment=AssignmentMode.ALL, metrics_port=0,
                               status_interval_s=0.5, read_timeout_s=2.0, open_timeout_s=3.0,
                               backoff_initial_s=0.3, backoff_max_s=1.0)
    reader = TopicReader(kafka_settings)
    with RtspServer(clips[0]) as rtsp:
        write_specs(kafka_settings, [spec("cam", rtsp.url, fps=10), spec("f1", str(clips[0])),
                                     spec("f2", str(clips[1]))])
        with GatewayThread(settings):
            assert wait_until(lambda: len(reader.snapshot("cam")) >= 10, 15)
            # When the RTSP server is stopped for a while
            rtsp.stop()
            outage_start = time.time_ns()
            # Then the camera's stream reports reconnecting, with the reason
            assert wait_until(lambda: reader.last_status("cam").state
                              == StreamStatus.STATE_RECONNECTING, 10)
            time.sleep(1.5)
            outage_end = time.time_ns()
            status = reader.last_status("cam")
            assert "rtsp://127.0.0.1" in status.reason and status.reconnects >= 1
            # And the file streams kept their 10 fps through the outage
            outage_s = (outage_end - outage_start) / 1e9
            for stream_id in ("f1", "f2"):
                rate = count_between(reader.snapshot(stream_id), outage_start, outage_end) / outage_s
                assert rate == pytest.approx(10, rel=0.15), (stream_id, rate)
            # When the server comes back
            cam_before = len(reader.snapshot("cam"))
            rtsp.start()
            # Then the camera's stream resumes by itself, its numbering continuing
            assert wait_until(lambda: len(reader.snapshot("cam")) >= cam_before + 10, 20)
            assert wait_until(lambda: reader.last_status("cam").state
                              == StreamStatus.STATE_RUNNING, 5)
    reader.close()
    sequences = [f.sequence for f in reader.snapshot("cam")]
    assert sequences == sorted(set(sequences))
