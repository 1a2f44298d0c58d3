"""``framewire models quantize`` for real: BlazeFace (the zoo's smallest model) quantized by
NNCF on the bundled photos and sample-clip frames, stored, verified, loaded and gated."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nncf
import openvino as ov
import pytest

from framewire.cli import main
from framewire.core.errors import ModelError
from framewire.models.calibration import ImageSet, sample_set
from framewire.models.gate import measure
from framewire.models.loader import load_detector
from framewire.models.quantize import QuantizeResult, quantize_model
from framewire.models.quantized import MANIFEST, entry_dir
from framewire.models.zoo import get_spec
from framewire.samples import DEFAULT_DEST
from support.models import fetch_zoo

pytestmark = pytest.mark.unit

MODEL = "blazeface-short"
SPEC = get_spec(MODEL)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache holding only BlazeFace's source file, copied from the shared cache."""
    cache = tmp_path_factory.mktemp("models")
    source = fetch_zoo() / MODEL
    shutil.copytree(source, cache / MODEL)
    return cache


@pytest.fixture(scope="module")
def images() -> ImageSet:
    return sample_set(12, DEFAULT_DEST.expanduser())


@pytest.fixture(scope="module")
def quantized(cache: Path, images: ImageSet) -> QuantizeResult:
    # The threshold is 0: this fixture is about storing; the gate is tested on its own below.
    return quantize_model(MODEL, images, cache, min_f1=0.0)


def _manifest(cache: Path) -> dict:
    return json.loads((entry_dir(SPEC, cache) / MANIFEST).read_text())


def test_the_entry_records_its_sha256_and_where_it_came_from(quantized, cache, images):
    # Given a quantized BlazeFace in the cache
    manifest = _manifest(cache)
    folder = entry_dir(SPEC, cache)
    # Then its sha256 is that of the stored IR's bytes, and the files' own hashes are recorded
    xml, weights = (folder / "model.xml").read_bytes(), (folder / "model.bin").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(xml + weights).hexdigest() == quantized.entry.sha256
    assert manifest["files"]["model.bin"] == hashlib.sha256(weights).hexdigest()
    # And it names the weights it was made from, how, and on what
    assert manifest["source_sha256"] == SPEC.sha256
    assert manifest["version"] == f"{SPEC.version}.int8.{manifest['sha256'][:8]}"
    assert manifest["nncf_version"] == nncf.__version__
    assert manifest["openvino_version"] == ov.get_version()
    assert manifest["calibration"]["images"] == len(images.calibration) == 17
    assert "scikit-image photos" in manifest["calibration"]["source"]
    assert manifest["agreement"]["images"] == len(images.evaluation)
    assert manifest["agreement"]["f1"] == quantized.figures.f1


def test_the_stored_model_is_the_one_that_was_judged(quantized, cache, images):
    # Given f32 and the INT8 model loaded back from the cache the way services load it
    f32 = load_detector(MODEL, cache_dir=cache, precision="f32")
    int8 = load_detector(MODEL, cache_dir=cache, precision="int8")
    assert int8.info.precision == "int8"
    assert int8.info.version == quantized.entry.version != f32.info.version
    # When their detections on the evaluation images are matched again
    again = measure([f32.detect(i) for i in images.evaluation], [int8.detect(i) for i in images.evaluation])
    # Then the figures are those recorded, and the faces of the photos are found
    assert again == quantized.figures
    assert again.f32_detections > 0 and again.matched > 0
    assert 0.5 <= again.f1 <= 1.0


def test_a_threshold_no_model_can_reach_is_refused_and_nothing_changes(quantized, cache, capsys):
    # Given the stored entry
    before = _manifest(cache)
    # When the command is run with a threshold above 1
    rc = main(["models", "quantize", MODEL, "--cache", str(cache), "--images", "8", "--min-f1", "1.01"])
    # Then it fails, saying why, and the cached entry is the one from before
    assert rc == 2
    err = capsys.readouterr().err
    assert "below the required 1.010" in err and "the quantized model was not stored" in err
    assert _manifest(cache) == before


def test_an_altered_int8_file_is_refused_on_load(quantized, cache, tmp_path):
    # Given a copy of the cache whose INT8 weights had one byte changed
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    weights = entry_dir(SPEC, copy) / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    # Then loading it fails on the sha256, saying how to make a good one
    with pytest.raises(ModelError, match=r"sha256 mismatch.*framewire models quantize"):
        load_detector(MODEL, cache_dir=copy, precision="int8")
