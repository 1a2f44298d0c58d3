"""Zoo models on real photos: the right object, in the right place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framewire.models.api import Detector
from framewire.models.loader import load_detector
from framewire.models.testing import EXPECTED_REGIONS, fetch_zoo, photo_bgr

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
