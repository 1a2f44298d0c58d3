"""``framewire models quantize MODEL --from-topic STREAM`` on the real broker: calibration
frames read back from a stream's frames topic with the wire codec."""

from __future__ import annotations

import json
import shutil
import time

import cv2
import pytest

from framewire.cli import main
from framewire.core.admin import TopicPolicy, ensure_topics, stream_topics
from framewire.core.codec import Frame, encode
from framewire.core.kafka import make_admin, make_producer
from framewire.models.quantized import MANIFEST, entry_dir
from framewire.models.zoo import get_spec
from framewire.samples import load_photo, pan_zoom_frame, triangle
from support.models import fetch_zoo

pytestmark = pytest.mark.integration

MODEL = "blazeface-short"
FRAMES = 40


def _publish(settings, stream: str) -> None:
    """FRAMES JPEG frames of the astronaut pan/zoom, as a gateway would publish them."""
    topic = settings.topics.frames(stream)
    ensure_topics(make_admin(settings), stream_topics(settings.topics, stream, TopicPolicy()))
    producer = make_producer(settings)
    photo = load_photo("astronaut")
    for i in range(FRAMES):
        view = pan_zoom_frame(photo, triangle(i, FRAMES), 640, 480)
        ok, jpeg = cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        frame = Frame(stream_id=stream, sequence=i, capture_time_ns=time.time_ns(), width=640,
                      height=480, encoding=Frame.ENCODING_JPEG, data=jpeg.tobytes())
        producer.produce(topic, key=stream.encode(), value=encode(frame))
    assert producer.flush(15) == 0


def test_quantize_calibrates_on_frames_read_back_from_the_topic(kafka_settings, tmp_path, monkeypatch,
                                                                 capsys):
    # Given a stream's frames topic holding real frames
    stream = "quant-cam"
    _publish(kafka_settings, stream)
    cache = tmp_path / "models"
    shutil.copytree(fetch_zoo() / MODEL, cache / MODEL)
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", kafka_settings.bootstrap)
    monkeypatch.setenv("FW_KAFKA_TOPIC_PREFIX", kafka_settings.topic_prefix)
    # When BlazeFace is quantized with --images 4: every 5th of the newest 40 records is read,
    # 4 of those 8 frames calibrate and the other 4 judge
    rc = main(["models", "quantize", MODEL, "--from-topic", stream, "--images", "4", "--min-f1", "0",
               "--cache", str(cache), "--json"])
    # Then it is stored, and its provenance names the topic, the offsets and the image count
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((entry_dir(get_spec(MODEL), cache) / MANIFEST).read_text())
    assert printed == manifest
    topic = kafka_settings.topics.frames(stream)
    source = manifest["calibration"]["source"]
    assert source.startswith(f"topic {topic}: 8 frames") and "every 5th" in source
    assert manifest["calibration"]["images"] == 4
    # And the gate judged the held-out topic frames, where the astronaut's face is
    assert manifest["agreement"]["images"] == 4
    assert manifest["agreement"]["f32_detections"] >= 1


def test_quantize_from_a_stream_without_a_topic_fails_clearly(kafka_settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", kafka_settings.bootstrap)
    monkeypatch.setenv("FW_KAFKA_TOPIC_PREFIX", kafka_settings.topic_prefix)
    rc = main(["models", "quantize", MODEL, "--from-topic", "nobody", "--cache", str(tmp_path)])
    assert rc == 2
    assert f"topic {kafka_settings.topics.frames('nobody')} does not exist" in capsys.readouterr().err
