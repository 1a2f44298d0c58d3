"""framewire replay on the real broker: equal to the live run, exactly once across re-runs,
another model into its own topic judged by compare, and clear errors on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.errors import InvalidStreamIdError, ModelError
from framewire.core.history import UnknownTopicError
from framewire.core.kafka import make_admin
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.replay.run import ReplayRequest, run_replay
from framewire.replay.settings import ReplaySettings
from framewire.replay.window import ReplayRangeError, TimeWindow, format_time
from framewire.v1.detection_pb2 import DetectionResult
from support.inference import TinyDetector, TopicReader, WorkerThread
from support.replay import Recording, photo_jpegs, record

pytestmark = pytest.mark.integration

OIDV4, PERSON = "ssd-mobilenet-v2-oidv4", "ssdlite-person"
W, H = 320, 240


def settings_for(kafka: KafkaSettings, model: str = OIDV4) -> InferenceSettings:
    return InferenceSettings(
        kafka=kafka, worker_id="w1", model=model, http_port=-1, freshness=FreshnessPolicy.NONE,
        metadata_refresh_ms=1000, session_timeout_ms=6000, poll_timeout_s=0.2,
    )


def replay_settings(kafka: KafkaSettings, model: str = OIDV4, **more: str) -> ReplaySettings:
    return ReplaySettings(kafka=kafka, model=model, **more)


def read_results(kafka: KafkaSettings, topic: str, count: int) -> list[DetectionResult]:
    reader = TopicReader(kafka, [topic], DetectionResult)
    reader.read_until(lambda r: len(r) >= count, 30)
    items = reader.settle(0.5)
    reader.close()
    return items


def without_provenance(r: DetectionResult) -> DetectionResult:
    """The result minus who made it, when and how fast: what must equal between runs."""
    copy = DetectionResult()
    copy.CopyFrom(r)
    for name in ("worker_id", "result_time_ns", "timings"):
        copy.ClearField(name)
    return copy


def cli(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}
    return subprocess.run([sys.executable, "-m", "framewire.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_replay_gives_the_live_results_for_the_same_frames_and_model(
    kafka_settings: KafkaSettings,
) -> None:
    # Given 24 recorded frames of real photos and the live worker's results for them
    recording = record(kafka_settings, "cam", photo_jpegs(24, W, H), width=W, height=H)
    settings = settings_for(kafka_settings)
    worker = WorkerThread(settings).start()
    live = read_results(kafka_settings, kafka_settings.topics.results("cam"), 24)
    worker.stop()
    # When the recorded range is replayed with the same model, with the THROUGHPUT hint the
    # command uses (the worker ran with LATENCY)
    throughput = replay_settings(kafka_settings, performance_hint="THROUGHPUT")
    summary = run_replay(throughput, ReplayRequest("cam", recording.window()))
    # Then each frame has one replayed result, equal to the live one but for its provenance
    replayed = read_results(kafka_settings, summary.output, 24)
    assert summary.output.startswith(kafka_settings.topics.results("cam") + "." + OIDV4 + "-")
    assert (summary.frames, summary.results, summary.already, summary.rejected, summary.missing) == (
        24, 24, 0, {}, 0)
    assert sorted(r.source_offset for r in replayed) == list(range(24))
    live_by_offset = {r.source_offset: without_provenance(r) for r in live}
    assert len(live_by_offset) == 24
    for r in replayed:
        assert r.worker_id == "replay"
        assert without_provenance(r) == live_by_offset[r.source_offset]
    assert {d.label for r in replayed for d in r.detections} >= {"Person", "Cat"}
    assert summary.speed is not None and summary.recorded_seconds == pytest.approx(1.6, abs=0.01)


def test_a_sub_range_is_exact_and_re_runs_write_each_frame_once(
    kafka_settings: KafkaSettings,
) -> None:
    # Given 20 recorded frames
    recording = record(kafka_settings, "cam", photo_jpegs(20, W, H), width=W, height=H)
    settings, tiny = replay_settings(kafka_settings), TinyDetector()
    # When frames 5..11 are replayed by their time, then the whole range, twice
    part = run_replay(settings, ReplayRequest("cam", recording.window(5, 12)), detector=tiny)
    whole = run_replay(settings, ReplayRequest("cam", recording.window()), detector=tiny)
    again = run_replay(settings, ReplayRequest("cam", recording.window()), detector=tiny)
    # Then the first wrote exactly 5..11, the second the 13 others, the third nothing
    assert (part.frames, part.results) == (7, 7)
    assert (whole.frames, whole.results, whole.already) == (20, 13, 7)
    assert (again.results, again.already) == (0, 20)
    results = read_results(kafka_settings, part.output, 20)
    assert [r.source_offset for r in results[:7]] == list(range(5, 12))
    assert sorted(r.source_offset for r in results) == list(range(20))


def test_another_model_writes_its_own_topic_and_compare_reports_the_known_agreement(
    kafka_settings: KafkaSettings, tmp_path: Path,
) -> None:
    # Given 12 frames: astronaut, chelsea (a cat), coffee (a cup), rocket, three times each;
    # the general model (A) finds Person, Cat, Coffee cup; the person model (B) only the
    # astronaut, as "person", on a box overlapping A's by IoU ~0.9
    recording = record(kafka_settings, "cam", photo_jpegs(12, W, H), width=W, height=H)
    window = recording.window()
    # When the range is replayed with each model and the two topics are compared
    a = run_replay(replay_settings(kafka_settings, OIDV4), ReplayRequest("cam", window))
    b = run_replay(replay_settings(kafka_settings, PERSON), ReplayRequest("cam", window))
    plot = tmp_path / "agreement.png"
    out = cli(kafka_settings, "compare", a.output, b.output, "--ignore-case", "--plot", str(plot))
    # Then each model wrote its own versioned topic
    assert a.output != b.output and PERSON in b.output and (a.results, b.results) == (12, 12)
    # And compare reports: person 3/3 matched both ways, cat and cup only in A, total
    # precision 100% and recall 3 of 9
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[4:] if line.strip()}
    assert "frames compared: 12 (only in A: 0, only in B: 0)" in out.stdout
    assert rows["person"][1:] == ["3", "3", "3", "100.0%", "100.0%"]
    assert rows["cat"][1:4] == ["3", "0", "0"]
    assert rows["TOTAL"][1:] == ["9", "3", "3", "100.0%", "33.3%"]
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_range_retention_removed_is_refused_naming_the_earliest_frame(
    kafka_settings: KafkaSettings,
) -> None:
    # Given 20 recorded frames of which retention removed the first 8
    recording = record(kafka_settings, "cam", photo_jpegs(20, W, H), width=W, height=H)
    topic = kafka_settings.topics.frames("cam")
    admin = make_admin(kafka_settings)
    for future in admin.delete_records([TopicPartition(topic, 0, 8)]).values():
        future.result(10)
    settings, tiny = replay_settings(kafka_settings), TinyDetector()
    # When the whole recorded range is asked for
    # Then it is refused, naming the time of frame 8, from which a replay works
    earliest = format_time(recording.timestamp(8))
    with pytest.raises(ReplayRangeError, match=f"earliest available frame is at {earliest}"):
        run_replay(settings, ReplayRequest("cam", recording.window()), detector=tiny)
    rest = run_replay(settings, ReplayRequest("cam", recording.window(8)), detector=tiny)
    assert (rest.frames, rest.results) == (12, 12)


def test_bad_stream_model_and_range_each_get_a_clear_message(
    kafka_settings: KafkaSettings,
) -> None:
    # Given a recorded stream "cam"
    recording = record(kafka_settings, "cam", photo_jpegs(4, W, H), width=W, height=H)
    settings, window = replay_settings(kafka_settings), recording.window()
    # Then an unknown stream names the streams there are
    with pytest.raises(UnknownTopicError, match=r"unknown stream 'nope'.*streams with frames on Kafka: cam"):
        run_replay(settings, ReplayRequest("nope", window))
    with pytest.raises(InvalidStreamIdError, match="may only contain"):
        run_replay(settings, ReplayRequest("a.b", window))
    # And an unknown model names the zoo's models
    with pytest.raises(ModelError, match=r"unknown model 'no-such-model'; the zoo has: .*ssdlite-person"):
        run_replay(replay_settings(kafka_settings, "no-such-model"), ReplayRequest("cam", window))
    # And a window after the newest frame says what span is on Kafka
    later = TimeWindow(recording.timestamp(10), recording.timestamp(20))
    with pytest.raises(ReplayRangeError, match=f"frames on Kafka span {format_time(recording.timestamp(0))}"):
        run_replay(settings, ReplayRequest("cam", later), detector=TinyDetector())


def test_the_command_reports_bad_input_on_stderr_with_exit_code_2(
    kafka_settings: KafkaSettings,
) -> None:
    recording: Recording = record(kafka_settings, "cam", photo_jpegs(2, W, H), width=W, height=H)
    to = str(recording.timestamp(2))
    # When the commands are given a bad time, an unknown model, a live output, an unknown topic
    bad_time = cli(kafka_settings, "replay", "--stream", "cam", "--from", "yesterday", "--to", to)
    bad_model = cli(kafka_settings, "replay", "--stream", "cam", "--from", str(recording.start_ms),
                    "--to", to, "--model", "nope", "--no-progress")
    live_out = cli(kafka_settings, "replay", "--stream", "cam", "--from", str(recording.start_ms),
                   "--to", to, "--output", kafka_settings.topics.results("cam"))
    no_topic = cli(kafka_settings, "compare", kafka_settings.topics.results("cam"),
                   kafka_settings.topics.results("cam") + ".missing")
    # Then each exits with 2 and one line saying what is wrong
    for proc in (bad_time, bad_model, live_out, no_topic):
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
    assert "'yesterday' is neither an ISO-8601 time" in bad_time.stderr
    assert "unknown model 'nope'" in bad_model.stderr
    assert "is a live framewire topic" in live_out.stderr
    assert "does not exist" in no_topic.stderr
