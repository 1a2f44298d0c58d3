"""Run-time stream management through the registry topic, without restarting the gateway."""

import time

import pytest

from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.samples import make_samples
from framewire.v1.stream_pb2 import StreamStatus
from support.gateway import GatewayThread, TopicReader, spec, wait_until, write_specs

pytestmark = pytest.mark.integration


@pytest.fixture
def folder(tmp_path):
    return make_samples(tmp_path, width=320, height=240, fps=10, seconds=1.0, folder_frames=3)[-1]


def frames_since(reader, stream_id, t_ns):
    return [f for f in reader.snapshot(stream_id) if f.capture_time_ns >= t_ns]


def state(reader, stream_id):
    status = reader.last_status(stream_id)
    return None if status is None else StreamStatus.State.Name(status.state)


def test_streams_are_added_changed_disabled_and_removed_at_run_time(kafka_settings, folder):
    # Given a running gateway with an empty registry
    settings = GatewaySettings(kafka=kafka_settings, assignment=AssignmentMode.ALL,
                               metrics_port=0, status_interval_s=1.0)
    reader = TopicReader(kafka_settings)
    source = f"dir://{folder}?fps=20"
    with GatewayThread(settings) as gateway:
        # When two streams are added to the registry
        write_specs(kafka_settings, [spec("a", source, fps=10), spec("b", source, fps=10)])
        # Then both start publishing
        assert wait_until(lambda: len(reader.snapshot("a")) >= 10 and len(reader.snapshot("b")) >= 10, 10)
        assert state(reader, "a") == "STATE_RUNNING"

        # When a is reconfigured to 5 fps at width 160 and b is disabled
        write_specs(kafka_settings, [spec("a", source, fps=5, width=160),
                                     spec("b", source, fps=10, enabled=False)])
        assert wait_until(lambda: state(reader, "b") == "STATE_STOPPED", 10)
        changed = time.time_ns()
        assert wait_until(lambda: len(frames_since(reader, "a", changed)) >= 12, 10)
        # Then a's new frames have the new size and rate, its numbering continues
        new = frames_since(reader, "a", changed)[1:]
        assert {(f.width, f.height) for f in new} == {(160, 120)}
        span_s = (new[-1].capture_time_ns - new[0].capture_time_ns) / 1e9
        assert (len(new) - 1) / span_s == pytest.approx(5, rel=0.15)
        sequences = [f.sequence for f in reader.snapshot("a")]
        assert sequences == sorted(set(sequences)) and sequences[0] == 0
        # And b published nothing after it was disabled
        assert len(frames_since(reader, "b", changed)) == 0
        assert reader.last_status("b").reason == "disabled"

        # When a is deleted and an invalid stream c is added
        write_specs(kafka_settings, [spec("c", source, fps=-1)], deletions=["a"])
        # Then a stops and its status is deleted (tombstone); c reports its error
        assert wait_until(lambda: "a" not in gateway.streams() and state(reader, "c"), 10)
        assert wait_until(lambda: reader.statuses["a"][-1] is None, 5)
        assert "target_fps -1" in reader.last_status("c").reason

        # When c's spec is fixed
        write_specs(kafka_settings, [spec("c", source, fps=4)])
        # Then c runs, with no gateway restart
        assert wait_until(lambda: len(reader.snapshot("c")) >= 3, 10)
        assert state(reader, "c") == "STATE_RUNNING"
        deleted = time.time_ns()
        time.sleep(0.5)
        assert frames_since(reader, "a", deleted) == []
    reader.close()
