"""Every source type through a real gateway to the real broker: frames, pacing, status,
metrics, and bad input.

One gateway serves all streams of this module at once (one ~10 s run, so pacing can be
measured over 5 s); the tests then check what reached Kafka.
"""

import itertools
import uuid

import cv2
import httpx
import numpy as np
import pytest

from framewire.core.config import KafkaSettings
from framewire.core.probes import serve_probes
from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.samples import make_samples
from framewire.v1.stream_pb2 import StreamStatus
from support.gateway import (
    GatewayThread,
    MjpegServer,
    RtspServer,
    TopicReader,
    free_port,
    spec,
    wait_until,
    write_specs,
)

pytestmark = pytest.mark.integration

SECRET = "pa55-w0rd-xyz"
GOOD = ("file", "folder", "mjpeg", "rtsp", "fast")
PACING_SPAN_S = 6.0  # each stream runs this long: 0.5 s settling, then a 5 s window
BAD = {
    "scheme": ("gopher://cam/1", "unknown source scheme 'gopher'"),
    "missing": ("/nonexistent/clip.mp4", "no such file"),
    "junk": ("JUNK", "not a video OpenCV can decode"),
    "fps": ("/nonexistent/clip.mp4", "target_fps -5"),
    "uri": ("rtsp:///no-host", "has no host"),
    "size": ("/nonexistent/clip.mp4", "width 9000 is larger than 8192"),
}


@pytest.fixture(scope="module")
def run(kafka_bootstrap, tmp_path_factory):
    """Runs one gateway with every source type and some bad streams; yields what it wrote."""
    media = make_samples(tmp_path_factory.mktemp("media"), width=320, height=240, fps=15,
                         seconds=4.0, folder_frames=4)
    junk = tmp_path_factory.mktemp("junk") / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 1000)
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
    jpegs = [p.read_bytes() for p in sorted(media[-1].iterdir())]
    settings = GatewaySettings(kafka=kafka, assignment=AssignmentMode.ALL, metrics_port=0,
                               status_interval_s=1.0, backoff_initial_s=0.3, backoff_max_s=1.0)
    with MjpegServer(jpegs, fps=12, user="viewer", password=SECRET) as mjpeg, \
            RtspServer(media[1]) as rtsp:
        write_specs(kafka, [
            spec("file", str(media[0]), fps=10, width=160),
            spec("folder", f"dir://{media[-1]}?fps=8", fps=0),
            spec("mjpeg", mjpeg.url, fps=0, jpeg_quality=60),
            spec("rtsp", rtsp.url.replace("rtsp://", f"rtsp://user:{SECRET}@"), fps=10),
            spec("fast", str(media[2]), fps=30),  # asks for more than the file's 15 fps
            spec("scheme", BAD["scheme"][0]),
            spec("missing", BAD["missing"][0]),
            spec("junk", str(junk)),
            spec("fps", BAD["fps"][0], fps=-5),
            spec("uri", BAD["uri"][0]),
            spec("size", BAD["size"][0], width=9000),
        ])
        reader = TopicReader(kafka, keep_data=True)
        with GatewayThread(settings) as gateway:
            wait_until(lambda: all(capture_span_s(reader.snapshot(s)) >= PACING_SPAN_S
                                   for s in GOOD), 30)
            wait_until(lambda: all(reader.last_status(s) for s in BAD), 5)
            probes = serve_probes(free_port(), "127.0.0.1")
            assert probes is not None
            metrics = httpx.get(f"http://127.0.0.1:{probes.port}/metrics").text
            probes.stop()
            running = gateway.streams()
        reader.close()
    return reader, metrics, running


def capture_span_s(frames) -> float:
    return (frames[-1].capture_time_ns - frames[0].capture_time_ns) / 1e9 if frames else 0.0


@pytest.mark.parametrize(("stream_id", "expected_fps"), [
    ("file", 10.0),  # 15 fps file, target 10
    ("rtsp", 10.0),  # 15 fps camera, target 10
    ("folder", 8.0),  # the folder's own rate
    ("mjpeg", 12.0),  # the camera's own rate
    ("fast", 15.0),  # target 30, but never above the source's 15
])
def test_published_rate_matches_the_target_within_ten_percent_over_5_s(run, stream_id,
                                                                        expected_fps):
    # Given the gateway ran each stream for at least 6 s
    reader, _, _ = run
    frames = reader.snapshot(stream_id)
    # When frames are counted by capture time over 5 s, after half a second of settling
    start = frames[0].capture_time_ns + 500_000_000
    end = start + 5_000_000_000
    rate = sum(start <= f.capture_time_ns < end for f in frames) / 5.0
    # Then the rate is the target (or the source's rate, whichever is lower) within 10%
    assert rate == pytest.approx(expected_fps, rel=0.10)


@pytest.mark.parametrize(("stream_id", "size"), [
    ("file", (160, 120)), ("folder", (320, 240)), ("mjpeg", (320, 240)), ("rtsp", (320, 240)),
])
def test_each_source_type_publishes_numbered_jpeg_frames(run, stream_id, size):
    # Given the gateway ran with a file, a folder, an MJPEG camera and an RTSP camera
    reader, _, _ = run
    # When the stream's frames topic is read
    frames = reader.snapshot(stream_id)
    # Then it holds at least 25 frames numbered 0, 1, 2 ... with rising capture times
    assert len(frames) >= 25
    assert [f.sequence for f in frames] == list(range(len(frames)))
    assert all(b.capture_time_ns > a.capture_time_ns for a, b in itertools.pairwise(frames))
    assert all(f.publish_time_ns >= f.capture_time_ns for f in frames)
    # And each is a JPEG of the stream's output size
    for frame in frames[:: max(1, len(frames) // 5)]:
        image = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and (image.shape[1], image.shape[0]) == size
        assert (frame.width, frame.height) == size


@pytest.mark.parametrize(("stream_id", "native_fps"), [("file", 15), ("folder", 8), ("rtsp", 15)])
def test_status_reports_running_with_the_native_rate_and_size(run, stream_id, native_fps):
    # Given the gateway ran
    reader, _, _ = run
    # When the stream's latest status is read
    status = reader.last_status(stream_id)
    # Then it is running, with the source's native rate and resolution
    assert status.state == StreamStatus.STATE_RUNNING, status
    assert status.native_fps == pytest.approx(native_fps, rel=0.05)
    assert (status.native_width, status.native_height) == (320, 240)
    assert status.frames_published > 0 and status.gateway_id


def test_credentials_appear_in_no_frame_and_no_status(run):
    # Given streams whose URIs carried a password
    reader, metrics, _ = run
    # When every frame's source and every status is searched
    sources = {f.source for s in GOOD for f in reader.snapshot(s)}
    statuses = [str(s) for history in reader.statuses.values() for s in history]
    # Then the password appears nowhere, while the redacted source is there
    assert not any(SECRET in text for text in [*sources, *statuses, metrics])
    assert any(s.startswith("http://***@127.0.0.1") for s in sources)


@pytest.mark.parametrize("stream_id", sorted(BAD))
def test_bad_input_is_a_clear_error_in_the_stream_status(run, stream_id):
    # Given streams with an unknown scheme, a missing file, a non-video file, a bad fps,
    # a URI without a host and an oversized width
    reader, _, running = run
    # When their status is read
    status = reader.last_status(stream_id)
    # Then each is failed with its reason, while the good streams kept running
    assert status.state == StreamStatus.STATE_FAILED
    expected = BAD[stream_id][1]
    assert expected in status.reason
    assert all(running[s].name == "RUNNING" for s in GOOD)


def test_metrics_count_reads_publishes_bytes_and_encode_time(run):
    # Given the gateway ran
    _reader, metrics, _ = run
    # When /metrics was scraped during the run
    lines = {line.split(" ")[0]: line.split(" ")[1] for line in metrics.splitlines()
             if line and not line.startswith("#")}
    # Then it counts frames read, published, bytes, drops by reason and encode times
    assert float(lines['framewire_gateway_frames_read_total{stream="file"}']) > 0
    assert float(lines['framewire_gateway_frames_published_total{stream="folder"}']) > 0
    assert float(lines['framewire_gateway_bytes_published_total{stream="mjpeg"}']) > 1000
    assert float(lines['framewire_gateway_encode_seconds_count{stream="rtsp"}']) > 0
    assert 'framewire_gateway_frames_dropped_total{reason="backpressure",stream="file"}' in lines
    assert float(lines['framewire_gateway_reconnects_total{stream="missing"}']) >= 1
