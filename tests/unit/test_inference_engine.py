"""The engine: decode and async inference on a real (tiny) OpenVINO model, off the Kafka thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
import skimage.data

from framewire.inference.records import Coords, FrameItem, Inbound, Processed, Rejected, RejectKind
from framewire.models.perframe.engine import Engine
from framewire.models.perframe.jpeg import JpegLimits
from framewire.models.perframe.slot import ModelSlot
from support.inference import TinyDetector, jpeg_of

pytestmark = pytest.mark.unit


def item(jpeg: bytes, offset: int, width: int = 0, height: int = 0) -> FrameItem:
    inbound = Inbound(Coords("fw.frames.s", 0, offset), b"s", b"raw", (), -1)
    return FrameItem(inbound, "s", offset, 1, width, height, jpeg)


@pytest.fixture
def slot() -> ModelSlot:
    return ModelSlot(TinyDetector(version="v1"))


@pytest.fixture
def engine(slot: ModelSlot) -> Iterator[Engine]:
    e = Engine(slot, decode_threads=2, limits=JpegLimits(), max_batch=4)
    yield e
    e.close()


def photo(name: str) -> np.ndarray:
    return np.ascontiguousarray(getattr(skimage.data, name)()[:, :, ::-1])


@pytest.mark.parametrize(
    ("reduced", "flag"), [(False, cv2.IMREAD_COLOR), (True, cv2.IMREAD_REDUCED_COLOR_8)]
)
def test_cycle_outcomes_match_the_model_run_directly(slot: ModelSlot, reduced, flag) -> None:
    # Given JPEG frames of three real photos (16x16 model input: 1/8 decode when reduced)
    names = ["astronaut", "chelsea", "coffee", "astronaut", "coffee"]
    jpegs = [jpeg_of(photo(n)) for n in names]
    engine = Engine(slot, decode_threads=2, limits=JpegLimits(), max_batch=4,
                    reduced_decode=reduced)
    # When submitted as one cycle
    try:
        work = engine.submit([item(j, i) for i, j in enumerate(jpegs)])
        assert work.wait(10)
    finally:
        engine.close()
    outcomes = work.results()
    # Then results come back in frame order and equal the detector's own on the same decode
    for i, (o, j) in enumerate(zip(outcomes, jpegs, strict=True)):
        assert isinstance(o, Processed) and o.frame.coords.offset == i
        direct = slot.current.detect(cv2.imdecode(np.frombuffer(j, np.uint8), flag))
        assert o.detections == tuple(direct)
        assert o.model_version == "v1" and o.timing.decode_us > 0
    assert (outcomes[1].image_width, outcomes[1].image_height) == (451, 300)


def test_frames_are_micro_batched_up_to_max_batch(engine: Engine, slot: ModelSlot) -> None:
    # Given 10 frames and a batch limit of 4 (the tiny model accepts any batch)
    jpeg = jpeg_of(photo("coffee"))
    # When submitted as one cycle
    work = engine.submit([item(jpeg, i) for i in range(10)])
    assert work.wait(10)
    # Then requests carried 4, 4 and 2 images and every frame has a result
    assert work.batch_sizes == [4, 4, 2]
    assert len([o for o in work.results() if isinstance(o, Processed)]) == 10


def test_bad_images_are_rejected_and_the_rest_still_processed(engine: Engine) -> None:
    # Given a cycle mixing good frames with a truncated JPEG and a size mismatch
    good = jpeg_of(photo("chelsea"))
    frames = [item(good, 0), item(good[:500], 1), item(good, 2, width=10, height=10), item(good, 3)]
    # When processed
    work = engine.submit(frames)
    assert work.wait(10)
    outcomes = work.results()
    # Then the bad ones are rejected with their kind and original bytes, in place
    kinds = [o.kind if isinstance(o, Rejected) else "ok" for o in outcomes]
    assert kinds == ["ok", RejectKind.CORRUPT_JPEG, RejectKind.BAD_ENVELOPE, "ok"]
    assert outcomes[1].inbound.value == b"raw"


def test_a_switched_model_serves_the_next_cycle(engine: Engine, slot: ModelSlot) -> None:
    # Given a cycle made by v1
    jpeg = jpeg_of(photo("coffee"))
    first = engine.submit([item(jpeg, 0)])
    assert first.wait(10)
    # When v2 is installed and another cycle runs
    old = slot.switch(TinyDetector(version="v2"))
    second = engine.submit([item(jpeg, 1)])
    assert second.wait(10)
    # Then each result names the version that made it
    assert old.info.version == "v1"
    assert [o.model_version for o in first.results() + second.results()] == ["v1", "v2"]


def test_empty_cycle_is_done_at_once(engine: Engine) -> None:
    # Given no frames / When submitted / Then nothing waits
    assert engine.submit([]).wait(0)


def test_failing_model_fails_the_cycle_instead_of_hanging(slot: ModelSlot) -> None:
    # Given a detector whose inference raises
    class Broken(TinyDetector):
        def infer_async(self, batch, done, userdata):  # type: ignore[no-untyped-def]
            raise RuntimeError("device lost")

    engine = Engine(ModelSlot(Broken()), decode_threads=1, limits=JpegLimits(), max_batch=1)
    try:
        work = engine.submit([item(jpeg_of(photo("coffee")), 0)])
        # When waited for / Then it completes with the error
        assert work.wait(10)
        with pytest.raises(RuntimeError, match="device lost"):
            work.results()
    finally:
        engine.close()


def test_submit_returns_while_inference_is_still_running(slot: ModelSlot) -> None:
    # Given a detector whose inference waits for a signal
    release = threading.Event()

    class Slow(TinyDetector):
        def infer_async(self, batch, done, userdata):  # type: ignore[no-untyped-def]
            release.wait(10)
            super().infer_async(batch, done, userdata)

    engine = Engine(ModelSlot(Slow()), decode_threads=1, limits=JpegLimits(), max_batch=1)
    try:
        # When a cycle is submitted
        work = engine.submit([item(jpeg_of(photo("coffee")), 0)])
        # Then the caller is free (the Kafka loop can commit meanwhile) until inference ends
        assert not work.wait(0.2)
        release.set()
        assert work.wait(10) and isinstance(work.results()[0], Processed)
    finally:
        release.set()
        engine.close()
