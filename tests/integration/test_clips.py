"""``framewire clip`` on the real broker: ranges, events with pre/post-roll, boxes, gaps,
snapshots and bad input, each clip decoded again and checked against what was recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from confluent_kafka import TopicPartition

from framewire.clips.make import ClipRequest, make_clip, make_snapshot
from framewire.clips.spans import ClipRange, ClipRangeError, EventRef, UnknownEventError
from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.history import UnknownTopicError
from framewire.core.kafka import make_admin, make_producer
from framewire.core.statsformat import AlertMessage, message_json
from framewire.replay.window import format_time
from framewire.v1.detection_pb2 import Box, Detection, DetectionResult
from support.replay import Recording, photo_jpegs, record

pytestmark = pytest.mark.integration

W, H, FPS = 320, 240, 15.0


def decoded(path: Path) -> tuple[str, list[float], tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, [float(f.time) for f in container.decode(stream)], \
            (stream.width, stream.height)


def publish_results(kafka: KafkaSettings, rec: Recording, scores: dict[int, float]) -> None:
    """A result for each frame index in ``scores``: one person box with that score."""
    producer = make_producer(kafka)
    for index, score in scores.items():
        at_ns = rec.timestamp(index) * 1_000_000
        box = Box(xmin=0.2, ymin=0.2, xmax=0.6, ymax=0.9)
        result = DetectionResult(stream_id=rec.stream, frame_sequence=index, capture_time_ns=at_ns,
                                 image_width=W, image_height=H,
                                 detections=[Detection(label="person", score=score, box=box)])
        producer.produce(kafka.topics.results(rec.stream), encode(result), rec.stream.encode())
    assert producer.flush(30) == 0


def publish_alerts(kafka: KafkaSettings, *alerts: AlertMessage) -> None:
    producer = make_producer(kafka)
    for a in alerts:
        producer.produce(kafka.topics.alerts, json.dumps(message_json(a)).encode(), a.stream_id.encode())
    assert producer.flush(30) == 0


def alert(stream: str, state: str, since_ms: int, fired_ms: int, at_ms: int) -> AlertMessage:
    return AlertMessage(alert_id=f"crowd/{stream}", rule="crowd", stream_id=stream, state=state,
                        severity="warning", condition="count(person) >= 1", for_s=1.0, value=1.0,
                        threshold=1.0, since_ms=since_ms, fired_ms=fired_ms, at_ms=at_ms)


def test_a_range_clip_has_every_frame_at_its_capture_time(
    kafka_settings: KafkaSettings, tmp_path: Path,
) -> None:
    # Given 60 recorded frames of real photos at 15 fps
    rec = record(kafka_settings, "cam", photo_jpegs(60, W, H, hold=5), width=W, height=H, fps=FPS)
    # When frames 10..49 are cut
    window = rec.window(10, 50)
    report = make_clip(kafka_settings, ClipRequest(range=ClipRange("cam", window.start_ms, window.end_ms)),
                       tmp_path / "cam.mp4")
    # Then the file decodes as H.264 with those 40 frames, their duration and size
    codec, times, size = decoded(tmp_path / "cam.mp4")
    assert (codec, len(times), size) == ("h264", 40, (W, H))
    assert report.frames == 40 and report.gaps == ()
    assert times[-1] == pytest.approx((rec.timestamp(49) - rec.timestamp(10)) / 1000, abs=0.002)
    assert report.duration_s == pytest.approx(40 / FPS, abs=0.01)
    assert not list(tmp_path.glob(".*part"))


def test_an_event_clip_has_pre_and_post_roll_boxes_and_a_best_snapshot(
    kafka_settings: KafkaSettings, tmp_path: Path,
) -> None:
    # Given 90 frames (6 s), results for frames 30..59 (frame 44 scoring best), and an alert
    # whose condition began at frame 30, fired at 45 and cleared at 60
    rec = record(kafka_settings, "door", photo_jpegs(90, W, H, hold=5), width=W, height=H, fps=FPS)
    publish_results(kafka_settings, rec, {i: 0.9 if i == 44 else 0.5 + i / 1000 for i in range(30, 60)})
    t = rec.timestamp
    publish_alerts(kafka_settings, alert("door", "firing", t(30), t(45), t(45)),
                   alert("door", "cleared", t(60), t(45), t(60)))
    # When the event is clipped with 1 s before and 1 s after, boxes on
    ref = EventRef.parse(f"crowd/door@{t(45)}")
    report = make_clip(kafka_settings, ClipRequest(event=ref, pre_ms=1000, post_ms=1000, boxes=True),
                       tmp_path / "event.mp4")
    # Then it covers frames 15..74 (condition start - 1 s .. clear + 1 s), 30 of them boxed
    _, times, _ = decoded(tmp_path / "event.mp4")
    assert report.range.start_ms == t(30) - 1000 and report.range.end_ms == t(60) + 1000
    assert len(times) == report.frames == 60
    assert report.frames_with_boxes == 30
    # And the snapshot is frame 44, the best-scoring detection
    shot = make_snapshot(kafka_settings, EventRef.parse("crowd/door"))
    assert shot.sequence == 44 and shot.best is not None and shot.best.score == pytest.approx(0.9)
    assert shot.jpeg[:2] == b"\xff\xd8"


def test_a_range_with_a_hole_is_cut_and_the_gap_listed(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    # Given 30 frames, 3 s without any, then 30 more
    rec = record(kafka_settings, "gappy", photo_jpegs(30, W, H), width=W, height=H, fps=FPS)
    rec.start_ms += 3000
    rec.publish(photo_jpegs(30, W, H), W, H)
    # When the whole span is cut
    clip = ClipRange("gappy", rec.start_ms - 3000, rec.timestamp(59) + 1)
    report = make_clip(kafka_settings, ClipRequest(range=clip), tmp_path / "gappy.mp4")
    # Then all 60 frames are in it and the 3 s hole is reported
    assert report.frames == 60 and len(decoded(tmp_path / "gappy.mp4")[1]) == 60
    assert len(report.gaps) == 1
    assert report.gaps[0].end_ms - report.gaps[0].start_ms == pytest.approx(3000 + 1000 / FPS, abs=2)


def test_bad_ranges_streams_and_events_get_clear_errors(
    kafka_settings: KafkaSettings, tmp_path: Path,
) -> None:
    rec = record(kafka_settings, "old", photo_jpegs(20, W, H), width=W, height=H, fps=FPS)
    topic = kafka_settings.topics.frames("old")
    admin = make_admin(kafka_settings)  # kept: the futures complete on this client's thread
    for future in admin.delete_records([TopicPartition(topic, 0, 8)]).values():
        future.result(10)
    out = tmp_path / "x.mp4"
    # A range that retention removed: the error names the oldest time still available
    expired = ClipRequest(range=ClipRange("old", rec.timestamp(0), rec.timestamp(5)))
    with pytest.raises(ClipRangeError, match=f"oldest available frame is at {format_time(rec.timestamp(8))}"):
        make_clip(kafka_settings, expired, out)
    # An unknown stream: the error names the streams that have frames
    unknown = ClipRequest(range=ClipRange("nope", rec.timestamp(0), rec.timestamp(5)))
    with pytest.raises(UnknownTopicError, match=r"unknown stream 'nope'.*old"):
        make_clip(kafka_settings, unknown, out)
    # A range in the future
    now = int(time.time() * 1000)
    with pytest.raises(ClipRangeError, match="starts in the future"):
        make_clip(kafka_settings, ClipRequest(range=ClipRange("old", now + 5000, now + 9000)), out)
    # An unknown event
    with pytest.raises(UnknownEventError, match="no alert crowd/old"):
        make_clip(kafka_settings, ClipRequest(event=EventRef.parse("crowd/old")), out)
    assert not out.exists()


def cli(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap, "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}
    return subprocess.run([sys.executable, "-m", "framewire.cli", "clip", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_the_command_writes_a_clip_and_refuses_to_before_from(
    kafka_settings: KafkaSettings, tmp_path: Path,
) -> None:
    rec = record(kafka_settings, "cli", photo_jpegs(30, W, H), width=W, height=H, fps=FPS)
    window = rec.window()
    # When the command cuts the recorded range
    done = cli(kafka_settings, "cli", "--from", format_time(window.start_ms), "--to", str(window.end_ms),
               "-o", str(tmp_path / "cli.mp4"))
    # Then it exits 0, prints the summary and the file has the 30 frames
    assert done.returncode == 0, done.stderr
    assert "30 frames" in done.stdout and "gaps     none" in done.stdout
    assert len(decoded(tmp_path / "cli.mp4")[1]) == 30
    # And --to before --from is refused with exit status 2 and both times named
    bad = cli(kafka_settings, "cli", "--from", str(window.end_ms), "--to", str(window.start_ms), "-o",
              str(tmp_path / "bad.mp4"))
    assert bad.returncode == 2 and "must be after --from" in bad.stderr
    # And a snapshot without an event too
    assert "--snapshot needs --event" in cli(kafka_settings, "cli", "--snapshot", "-o", "x.jpg").stderr
