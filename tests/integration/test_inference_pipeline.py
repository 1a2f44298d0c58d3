"""The inference worker on the real broker with the zoo model: results, health, DLQ, new streams."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.models.loader import load_detector
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DeadLetter
from support.inference import (
    FramePublisher,
    TopicReader,
    WorkerThread,
    create_streams,
    frame_bytes,
    jpeg_of,
    read_until_covered,
)

pytestmark = pytest.mark.integration

MODEL = "ssd-mobilenet-v2-oidv4"
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket"]


def photo(name: str) -> np.ndarray:
    return np.ascontiguousarray(getattr(skimage.data, name)()[:, :, ::-1])


def worker_settings(kafka: KafkaSettings, **overrides: object) -> InferenceSettings:
    base: dict[str, object] = {
        "kafka": kafka, "worker_id": "w1", "model": MODEL, "http_port": 0,
        "metadata_refresh_ms": 1000, "session_timeout_ms": 6000, "poll_timeout_s": 0.2,
    }
    return InferenceSettings(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def worker(kafka_settings: KafkaSettings) -> Iterator[WorkerThread]:
    create_streams(kafka_settings, ["cam1", "cam2"])
    w = WorkerThread(worker_settings(kafka_settings, freshness=FreshnessPolicy.NONE)).start()
    yield w
    w.stop()


def test_results_equal_the_model_run_directly_on_the_same_frames(
    kafka_settings: KafkaSettings, worker: WorkerThread
) -> None:
    # Given JPEG frames of real photos on two streams
    jpegs = {n: jpeg_of(photo(n)) for n in PHOTOS}
    producer = make_producer(kafka_settings)
    topics = kafka_settings.topics
    sent = []
    for seq, (name, jpeg) in enumerate(list(jpegs.items()) * 2):
        stream = "cam1" if seq % 2 == 0 else "cam2"
        h, w = photo(name).shape[:2]
        producer.produce(topics.frames(stream), frame_bytes(jpeg, stream, seq, width=w, height=h),
                         stream.encode())
        sent.append((stream, seq, name))
    assert producer.flush(10) == 0
    # When the worker has published a committed result for each
    reader = TopicReader(kafka_settings, [topics.results("cam1"), topics.results("cam2")],
                         DetectionResult)
    results = reader.read_until(lambda r: len(r) >= len(sent), 30)
    reader.close()
    # Then each result is keyed by its stream, names its frame and equals the model's own output
    assert len(results) == len(sent)
    direct = load_detector(MODEL)
    by_seq = {r.frame_sequence: (r, k) for r, k in zip(results, reader.keys, strict=True)}
    for stream, seq, name in sent:
        r, key = by_seq[seq]
        assert key == stream.encode() and r.stream_id == stream
        assert r.source_topic == topics.frames(stream) and r.model_id == MODEL
        assert r.model_version == direct.info.version and r.worker_id == "w1"
        decoded = cv2.imdecode(np.frombuffer(jpegs[name], np.uint8), cv2.IMREAD_COLOR)
        expected = direct.detect(decoded)
        assert [d.label for d in r.detections] == [d.label for d in expected]
        for got, want in zip(r.detections, expected, strict=True):
            assert got.score == pytest.approx(want.score, abs=1e-4)
            assert got.box.xmin == pytest.approx(want.box.xmin, abs=1e-4)
    labels = {name: {d.label for d in by_seq[seq][0].detections} for _, seq, name in sent}
    assert "Person" in labels["astronaut"] and "Cat" in labels["chelsea"]


def test_health_readiness_and_metrics_are_served(
    kafka_settings: KafkaSettings, worker: WorkerThread
) -> None:
    # Given a running worker that processed three frames of cam1
    topics = kafka_settings.topics
    producer = make_producer(kafka_settings)
    jpeg = jpeg_of(photo("coffee"))
    for seq in range(3):
        producer.produce(topics.frames("cam1"), frame_bytes(jpeg, "cam1", seq, width=600,
                                                            height=400))
    producer.flush(10)
    reader = TopicReader(kafka_settings, [topics.results("cam1")], DetectionResult)
    assert len(reader.read_until(lambda r: len(r) >= 3, 30)) == 3
    reader.close()
    # When its HTTP endpoints are asked (metrics once the lag gauges have been refreshed)
    base = f"http://127.0.0.1:{worker.handle.http_port}"
    lag = ('framewire_inference_consumer_lag_messages{partition="0",'
           f'topic="{topics.frames("cam1")}"}} 0.0')
    with httpx.Client(base_url=base, timeout=5) as http:
        ready, live, missing = http.get("/readyz"), http.get("/healthz"), http.get("/nope")
        deadline = time.monotonic() + 5
        while lag not in (metrics := http.get("/metrics")).text and time.monotonic() < deadline:
            time.sleep(0.2)
    # Then it is live and ready, and the counters show the committed work
    assert (ready.status_code, live.status_code, missing.status_code) == (200, 200, 404)
    assert 'framewire_inference_results_out_total{stream="cam1"} 3.0' in metrics.text
    assert 'framewire_inference_frames_in_total{stream="cam1"} 3.0' in metrics.text
    assert "framewire_inference_capture_to_result_seconds_bucket" in metrics.text
    assert 'framewire_inference_transactions_total{outcome="committed"}' in metrics.text
    assert lag in metrics.text
    # And the time per frame that sizes the catch-up window was measured
    [cost] = [float(line.split()[1]) for line in metrics.text.splitlines()
              if line.startswith("framewire_inference_frame_cost_seconds ")]
    assert 0 < cost < 1


def _valid(seq: int) -> Frame:
    jpeg = jpeg_of(np.full((32, 48, 3), 90, np.uint8))
    return Frame(schema_version=1, stream_id="cam1", sequence=seq, capture_time_ns=time.time_ns(),
                 width=48, height=32, encoding=Frame.ENCODING_JPEG, data=jpeg)


def _mutations() -> st.SearchStrategy[bytes]:
    """Messages that are bad by construction: random bytes or a frame broken in one way."""
    def broken(kind: str, blob: bytes, number: int) -> bytes:
        f = _valid(number)
        if kind == "version":
            f.schema_version = 2 + number % 1000
        elif kind == "data":
            f.data = blob
        elif kind == "truncated":
            f.data = f.data[: max(0, min(len(f.data) - 3, number % len(f.data)))]
        elif kind == "stream":
            f.stream_id = "other" + str(number)
        elif kind == "encoding":
            f.encoding = Frame.ENCODING_UNSPECIFIED
        elif kind == "size":
            at = f.data.index(b"\xff\xc0")
            data = bytearray(f.data)
            data[at + 5 : at + 9] = (60000 + number % 5000).to_bytes(2, "big") * 2
            f.data = bytes(data)
        elif kind == "capture":
            f.capture_time_ns = -abs(number)
        return encode(f)

    random_bytes = st.binary(min_size=0, max_size=3000).filter(lambda b: not b.startswith(b"\x08\x01"))
    mutated = st.builds(
        broken,
        st.sampled_from(["version", "data", "truncated", "stream", "encoding", "size", "capture"]),
        st.binary(max_size=500).filter(lambda b: not b.startswith(b"\xff\xd8")),
        st.integers(0, 2**31),
    )
    return st.one_of(random_bytes, mutated)


def test_random_and_mutated_messages_all_land_in_the_dlq(
    kafka_settings: KafkaSettings, worker: WorkerThread
) -> None:
    # Given a thousand bad messages (random bytes and frames broken in one way each)
    topics = kafka_settings.topics
    producer = make_producer(kafka_settings)
    offsets: list[int] = []

    def delivered(err, msg) -> None:  # type: ignore[no-untyped-def]
        assert err is None
        offsets.append(msg.offset())

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_mutations())
    def publish(value: bytes) -> None:
        producer.produce(topics.frames("cam1"), value, b"cam1", on_delivery=delivered)
        producer.poll(0)

    publish()
    assert producer.flush(30) == 0
    # When the worker has handled them, and then a good frame
    producer.produce(topics.frames("cam1"), encode(_valid(1)), b"cam1")
    producer.flush(10)
    dlq = TopicReader(kafka_settings, [topics.dlq], DeadLetter)
    letters = dlq.read_until(lambda d: len(d) >= len(offsets), 60)
    dlq.close()
    results = TopicReader(kafka_settings, [topics.results("cam1")], DetectionResult)
    after = results.read_until(lambda r: len(r) >= 1, 20)
    results.close()
    # Then every bad message is in the DLQ exactly once, with its coordinates and a reason
    assert len(offsets) >= 300
    assert sorted(d.original_offset for d in letters) == sorted(offsets)
    assert all(d.original_topic == topics.frames("cam1") and d.error_kind for d in letters)
    assert {d.error_kind for d in letters} >= {"decode_error", "corrupt_jpeg", "absurd_size"}
    # And the worker carried on: the good frame has its result
    assert worker.alive and [r.source_offset for r in after] == [max(offsets) + 1]


def test_a_new_stream_is_consumed_within_the_metadata_refresh_interval(
    kafka_settings: KafkaSettings, worker: WorkerThread
) -> None:
    # Given a running worker (metadata refresh 1 s) and a frames topic created afterwards
    create_streams(kafka_settings, ["late"])
    created = time.monotonic()
    topics = kafka_settings.topics
    producer = make_producer(kafka_settings)
    producer.produce(topics.frames("late"), frame_bytes(jpeg_of(photo("chelsea")), "late", 0,
                                                        width=451, height=300))
    producer.flush(10)
    # When its result is awaited
    reader = TopicReader(kafka_settings, [topics.results("late")], DetectionResult)
    results = reader.read_until(lambda r: len(r) >= 1, 20)
    reader.close()
    # Then it arrives without a restart, within the refresh interval plus a rebalance
    elapsed = time.monotonic() - created
    assert [r.stream_id for r in results] == ["late"]
    assert elapsed < 1.0 + 8.0, f"took {elapsed:.1f}s"


def test_a_new_model_version_is_switched_to_without_losing_frames(
    kafka_settings: KafkaSettings,
) -> None:
    # Given a model server offering the zoo model, and a worker loading from it
    from framewire.models.catalog import CatalogEntry, build_catalog
    from framewire.models.loader import models_settings
    from framewire.models.server import ModelServer

    entry = build_catalog(models_settings().cache_dir, None)[MODEL]
    server = ModelServer({MODEL: entry}).start()
    create_streams(kafka_settings, ["cam1"])
    worker = WorkerThread(worker_settings(
        kafka_settings, model_server_url=server.info_url, model_poll_s=1.0,
        freshness=FreshnessPolicy.NONE,
    )).start()
    coffee = photo("coffee")
    feed = FramePublisher(kafka_settings, ["cam1"], jpeg_of(coffee), width=600, height=400,
                          fps=10).start()
    reader = TopicReader(kafka_settings, [kafka_settings.topics.results("cam1")], DetectionResult)
    try:
        first = reader.read_until(lambda r: len(r) >= 5, 20)
        # When the server starts offering version 2.0 of it
        server.catalog[MODEL] = CatalogEntry(MODEL, {**entry.info, "version": "2.0"}, entry.path)
        reader.read_until(lambda r: any(x.model_version == "2.0" for x in r[-3:]), 20)
        sent = feed.stop()
        results, drops = read_until_covered(kafka_settings, sent, 20)
    finally:
        reader.close()
        if feed.running:
            feed.stop()
        worker.stop()
        server.stop()
    # Then results switch from the old version to 2.0 once, in offset order, and no frame is
    # lost or doubled on the way
    versions = [r.model_version for r in sorted(results, key=lambda r: r.source_offset)]
    switch = versions.index("2.0")
    assert first[0].model_version == entry.info["version"] != "2.0"
    assert set(versions[:switch]) == {entry.info["version"]} and set(versions[switch:]) == {"2.0"}
    assert drops == [] and sorted(r.source_offset for r in results) == list(range(sent["cam1"]))
    assert worker.handle.metrics.registry.get_sample_value(
        "framewire_inference_model_info", {"model": MODEL, "version": "2.0"}) == 1.0
