"""The prepared IR the loader keeps beside each zoo model: the same detections as the
source file, made once, and never needed (a read-only cache still loads)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from framewire.models.detector import build_detector
from framewire.models.engine import EngineOptions, shared_core
from framewire.models.loader import load_detector
from framewire.models.prepared import prepared_ir, prepared_key
from framewire.models.zoo import get_spec
from support.models import fetch_zoo, photo_bgr

pytestmark = pytest.mark.unit

MODEL = "ssd-mobilenet-v2-oidv4"


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Path:
    """A cache holding only the model's source file, as after ``framewire models fetch``."""
    spec = get_spec(MODEL)
    target = tmp_path / MODEL
    target.mkdir()
    shutil.copy(fetch_zoo() / MODEL / spec.filename, target / spec.filename)
    return tmp_path


def boxes(detector: object, photo: str) -> list[tuple[str, float, tuple[float, ...]]]:
    found = detector.detect(photo_bgr(photo))  # type: ignore[attr-defined]
    return [(d.label, round(d.score, 4),
             tuple(round(v, 4) for v in (d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax)))
            for d in found]


def test_the_first_load_writes_a_prepared_ir_that_detects_exactly_like_the_source(
    fresh_cache: Path,
) -> None:
    # Given a cache with only the TFLite file
    spec = get_spec(MODEL)
    source = fresh_cache / MODEL / spec.filename
    direct = build_detector(shared_core().read_model(str(source)), spec, EngineOptions(), None)
    # When the loader loads the model twice
    first = load_detector(MODEL, cache_dir=fresh_cache)
    entry = fresh_cache / MODEL / "prepared" / prepared_key(spec)
    written = (entry / "model.xml").stat().st_mtime_ns
    second = load_detector(MODEL, cache_dir=fresh_cache)
    # Then the first wrote the prepared IR, the second reused it, and both detect exactly
    # what the source file does, on real photos
    assert (entry / "model.xml").stat().st_mtime_ns == written
    assert sorted(p.name for p in (fresh_cache / MODEL / "prepared").iterdir()) == [entry.name]
    for photo in ("astronaut", "coffee"):
        assert boxes(first, photo) == boxes(direct, photo) == boxes(second, photo)
        assert boxes(direct, photo), photo


def test_a_cache_that_cannot_be_written_loads_from_the_source_file(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a model folder where nothing can be created (a read-only zoo in an image)
    folder = fresh_cache / MODEL
    folder.chmod(0o555)
    monkeypatch.setattr("framewire.models.prepared.tempfile.mkdtemp",
                        lambda **kw: (_ for _ in ()).throw(PermissionError("read-only")))
    try:
        spec = get_spec(MODEL)
        # When the prepared copy is asked for, then there is none, and the model still loads
        assert prepared_ir(spec, fresh_cache, folder / spec.filename) is None
        detector = load_detector(MODEL, cache_dir=fresh_cache)
        assert boxes(detector, "astronaut")
    finally:
        folder.chmod(0o755)


def test_the_key_changes_with_what_the_prepared_graph_depends_on() -> None:
    # Given the spec and copies that differ in the source hash or the input conversion
    spec = get_spec(MODEL)
    # Then each gets its own entry
    keys = {prepared_key(spec), prepared_key(replace(spec, sha256="0" * 64)),
            prepared_key(replace(spec, color="BGR" if spec.color == "RGB" else "RGB"))}
    assert len(keys) == 3
