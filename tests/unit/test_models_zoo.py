"""Zoo models on real photos: the right object, in the right place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from framewire.core.errors import ModelError
from framewire.models.api import Detector, RawOutputs
from framewire.models.loader import load_detector
from support.models import EXPECTED_REGIONS, fetch_zoo, photo_bgr

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def zoo_cache() -> Path:
    return fetch_zoo()


@pytest.fixture(scope="module")
def oidv4(zoo_cache: Path) -> Iterator[Detector]:
    yield load_detector("ssd-mobilenet-v2-oidv4", cache_dir=zoo_cache)


@pytest.mark.parametrize(
    ("photo", "label"),
    [("astronaut", "Person"), ("chelsea", "Cat"), ("coffee", "Coffee cup")],
)
def test_oidv4_finds_the_object_where_it_is(oidv4: Detector, photo: str, label: str) -> None:
    # Given a real photo with one obvious object
    image = photo_bgr(photo)
    # When the general detector runs on it
    detections = oidv4.detect(image)
    # Then its best detection is that object, boxed over the expected region
    assert detections, f"nothing found on {photo}"
    best = max(detections, key=lambda d: d.score)
    assert best.label == label
    assert best.score >= oidv4.info.score_threshold
    assert best.box.iou(EXPECTED_REGIONS[photo][label]) > 0.6


@pytest.fixture(scope="module")
def ssdlite(zoo_cache: Path) -> Iterator[Detector]:
    yield load_detector("ssdlite-person", cache_dir=zoo_cache)


@pytest.fixture(scope="module")
def blazeface(zoo_cache: Path) -> Iterator[Detector]:
    yield load_detector("blazeface-short", cache_dir=zoo_cache)


def test_ssdlite_finds_the_astronaut(ssdlite: Detector) -> None:
    # Given the astronaut photo
    image = photo_bgr("astronaut")
    # When the person detector runs
    detections = ssdlite.detect(image)
    # Then exactly one person is found, over the region where she is
    assert [d.label for d in detections] == ["person"]
    assert detections[0].box.iou(EXPECTED_REGIONS["astronaut"]["Person"]) > 0.6


@pytest.mark.parametrize("photo", ["chelsea", "coffee"])
def test_ssdlite_finds_no_person_where_there_is_none(ssdlite: Detector, photo: str) -> None:
    # Given a photo of a cat or a cup; when the person detector runs; then it finds nothing
    assert ssdlite.detect(photo_bgr(photo)) == []


def test_blazeface_finds_the_astronauts_face(blazeface: Detector) -> None:
    # Given the astronaut photo
    image = photo_bgr("astronaut")
    # When the face detector runs
    detections = blazeface.detect(image)
    # Then one face is found, boxed over her face (a small region, so a looser IoU)
    assert [d.label for d in detections] == ["face"]
    assert detections[0].box.iou(EXPECTED_REGIONS["astronaut"]["face"]) > 0.5


def test_blazeface_finds_no_face_on_the_cat(blazeface: Detector) -> None:
    assert blazeface.detect(photo_bgr("chelsea")) == []


def test_infer_and_postprocess_match_detect(oidv4: Detector) -> None:
    # Given two photos stacked as one batch of preprocessed tensors
    photos = [photo_bgr("chelsea"), photo_bgr("coffee")]
    batch = np.concatenate([oidv4.preprocess(p) for p in photos])
    # When the batch is inferred synchronously and each image post-processed
    labels = [[d.label for d in oidv4.postprocess(out)] for out in oidv4.infer(batch)]
    # Then each image gets the same answer as the one-call path
    assert labels == [[d.label for d in oidv4.detect(p)] for p in photos]
    assert labels[0][0] == "Cat" and labels[1][0] == "Coffee cup"


def test_async_path_delivers_each_frame_to_its_callback(oidv4: Detector) -> None:
    # Given three frames queued on the async pool, each tagged with its photo name
    results: dict[str, list[str]] = {}
    lock = threading.Lock()

    def done(outputs: list[RawOutputs], photo: str) -> None:
        with lock:
            results[photo] = [d.label for d in oidv4.postprocess(outputs[0])]

    # When they run and the caller waits for all of them
    for photo in ("astronaut", "chelsea", "coffee"):
        oidv4.infer_async(oidv4.preprocess(photo_bgr(photo)), done, photo)
    oidv4.wait_all()
    # Then every callback ran with its own frame's outputs
    assert results["astronaut"][0] == "Person"
    assert results["chelsea"][0] == "Cat"
    assert results["coffee"][0] == "Coffee cup"


def test_model_info_describes_the_loaded_model(oidv4: Detector) -> None:
    info = oidv4.info
    assert (info.input_width, info.input_height, info.max_batch) == (300, 300, 1)
    assert len(info.labels) == 23 and "Coffee cup" in info.labels
    assert info.precision in {"bf16", "f32", "f16"}
    assert info.version.startswith("0.4.1675468480+")


def test_preprocess_refuses_a_grey_image(oidv4: Detector) -> None:
    with pytest.raises(ModelError, match="HxWx3 uint8"):
        oidv4.preprocess(np.zeros((10, 10), np.uint8))


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"device": "NOPE"}, "could not compile the model for NOPE"),
        ({"performance_hint": "FASTEST"}, "bad engine option"),
        ({"precision": "int3"}, "bad engine option"),
        ({"num_requests": 0}, "num_requests must be >= 1"),
        ({"score_threshold": 1.5}, r"score_threshold must be in \[0, 1\)"),
    ],
)
def test_bad_engine_options_are_clear_errors(zoo_cache: Path, options: dict, error: str) -> None:
    with pytest.raises(ModelError, match=error):
        load_detector("blazeface-short", cache_dir=zoo_cache, **options)


def test_f32_precision_is_honoured_and_agrees_with_auto(zoo_cache: Path, oidv4: Detector) -> None:
    # Given the general detector forced to FP32
    f32 = load_detector("ssd-mobilenet-v2-oidv4", cache_dir=zoo_cache, precision="f32")
    # Then it reports FP32 and finds the same cat with nearly the same score
    assert f32.info.precision == "f32"
    cat_f32 = f32.detect(photo_bgr("chelsea"))[0]
    cat_auto = oidv4.detect(photo_bgr("chelsea"))[0]
    assert cat_f32.label == cat_auto.label == "Cat"
    assert abs(cat_f32.score - cat_auto.score) < 0.03
