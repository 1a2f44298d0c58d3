"""The stream runner with a stand-in for the producer: threads, pacing, errors, stop."""

import threading
import time

import cv2
import numpy as np
import pytest

from framewire.core.errors import KafkaUnavailableError
from framewire.core.topics import Topics
from framewire.gateway.runner import RunState, StreamContext, StreamRunner
from framewire.gateway.settings import GatewaySettings
from framewire.gateway.sources.base import SourceOptions
from framewire.gateway.spec import InvalidStream, StreamConfig
from framewire.v1.frame_pb2 import Frame

pytestmark = pytest.mark.unit

SETTINGS = GatewaySettings(metrics_port=0, backoff_initial_s=0.05, backoff_max_s=0.2)


class RecordingPublisher:
    """Collects frames as the producer would receive them."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, Frame]] = []
        self.lock = threading.Lock()

    def send_frame(self, topic, frame, on_delivery, counters) -> bool:
        with self.lock:
            self.frames.append((topic, frame))
        counters.frame_published(len(frame.data))
        return True


def context(publisher, prepare=lambda stream_id, floor: max(floor, 5)) -> StreamContext:
    return StreamContext(SETTINGS, publisher, Topics("u."), prepare)


def folder_config(folder, fps_in: float, fps_out: float, width: int = 0) -> StreamConfig:
    return StreamConfig("cam", f"dir://{folder}?fps={fps_in}", fps_out, width, 0, 75, True,
                        SourceOptions(loop=True))


@pytest.fixture
def folder(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((60, 80, 3), 40 * i, np.uint8))
    return tmp_path


def wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_frames_are_paced_resized_and_numbered_from_the_prepared_sequence(folder):
    # Given a 40 fps folder stream asking for 20 fps at width 40
    publisher = RecordingPublisher()
    runner = StreamRunner(folder_config(folder, 40, 20, width=40), context(publisher))
    # When it runs for a little over a second
    runner.start()
    wait_for(lambda: runner.state is RunState.RUNNING)
    time.sleep(1.2)
    runner.stop()
    frames = [f for _, f in publisher.frames]
    # Then about 20 frames per second went out, to the stream's topic, in order
    assert {t for t, _ in publisher.frames} == {"u.frames.cam"}
    assert 20 <= len(frames) <= 27
    assert [f.sequence for f in frames] == list(range(5, 5 + len(frames)))
    gaps = np.diff([f.capture_time_ns for f in frames]) / 1e9
    assert 0.04 <= np.median(gaps) <= 0.06
    # And each is a JPEG of the asked size with the aspect kept
    image = cv2.imdecode(np.frombuffer(frames[0].data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (30, 40, 3) and (frames[0].width, frames[0].height) == (40, 30)
    assert frames[0].source == f"dir://{folder}?fps=40"


def test_no_frame_is_published_after_stop(folder):
    # Given a running stream
    publisher = RecordingPublisher()
    runner = StreamRunner(folder_config(folder, 50, 0), context(publisher))
    runner.start()
    wait_for(lambda: len(publisher.frames) > 3)
    # When it is told to stop
    runner.signal_stop()
    count = len(publisher.frames)
    time.sleep(0.3)
    # Then nothing more reaches the producer
    assert len(publisher.frames) == count
    runner.join(2.0)


def test_a_missing_source_fails_with_its_reason_and_is_retried(tmp_path):
    # Given a stream whose file does not exist
    config = StreamConfig("cam", str(tmp_path / "late.mp4"), 0, 0, 0, 75, True, SourceOptions())
    runner = StreamRunner(config, context(RecordingPublisher()))
    # When it runs for a moment
    runner.start()
    wait_for(lambda: runner.counters.reconnects >= 3)
    runner.stop()
    # Then its status says failed, why, and that it keeps retrying
    status = runner.status("gw")
    assert runner.state is RunState.FAILED
    assert "no such file" in status.reason and "retrying in" in status.reason
    assert status.reconnects >= 3


def test_invalid_and_disabled_streams_report_without_running():
    # Given an invalid entry and a disabled stream
    invalid = StreamRunner(InvalidStream("bad", "target_fps -1 ..."), context(RecordingPublisher()))
    disabled_config = StreamConfig("off", "/v.mp4", 0, 0, 0, 75, False, SourceOptions())
    disabled = StreamRunner(disabled_config, context(RecordingPublisher()))
    # When they start
    invalid.start()
    disabled.start()
    # Then one is failed with the reason and the other stopped, neither with threads
    assert (invalid.state, invalid.status("gw").reason) == (RunState.FAILED, "target_fps -1 ...")
    assert (disabled.state, disabled.status("gw").reason) == (RunState.STOPPED, "disabled")
    assert invalid._threads == [] and disabled._threads == []


def test_a_stream_waits_for_kafka_before_reading(folder):
    # Given Kafka that fails twice before answering
    attempts = []

    def prepare(stream_id, floor):
        attempts.append(stream_id)
        if len(attempts) < 3:
            raise KafkaUnavailableError("no broker")
        return 100

    publisher = RecordingPublisher()
    runner = StreamRunner(folder_config(folder, 30, 0), context(publisher, prepare))
    # When the stream starts
    runner.start()
    wait_for(lambda: publisher.frames)
    runner.stop()
    # Then it retried and then numbered frames from what Kafka said
    assert len(attempts) == 3
    assert publisher.frames[0][1].sequence == 100
