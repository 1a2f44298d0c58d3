"""Fetching into the cache: packed-asset extraction, sha256 checks, atomic writes."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from framewire.core.errors import ModelError
from framewire.models import cache
from framewire.models.sources.npm_packed import extract_asset, parse_listing
from framewire.models.zoo import ZOO, get_spec, list_models

pytestmark = pytest.mark.unit

LOADER_JS = """
var Module = typeof Module !== 'undefined' ? Module : {};
 loadPackage({"files": [{"filename": "/labels.txt", "start": 0, "end": 6},
 {"filename": "/third_party/m/model.tflite", "start": 6, "end": 16}],
 "remote_package_size": 16});
"""


def test_packed_assets_are_cut_by_the_listing() -> None:
    # Given a bundle of two files and the loader script listing their ranges
    bundle = b"a\nb\nc\n" + b"0123456789"
    assets = parse_listing(LOADER_JS)
    # When members are extracted by name; then each gets exactly its byte range
    assert extract_asset(bundle, assets, "model.tflite") == b"0123456789"
    assert extract_asset(bundle, assets, "labels.txt") == b"a\nb\nc\n"


def test_packed_asset_errors_are_clear() -> None:
    assets = parse_listing(LOADER_JS)
    with pytest.raises(ModelError, match="not in the bundle"):
        extract_asset(b"x" * 16, assets, "other.tflite")
    with pytest.raises(ModelError, match="outside the 10-byte bundle"):
        extract_asset(b"x" * 10, assets, "model.tflite")
    with pytest.raises(ModelError, match="no loadPackage"):
        parse_listing("var x = 1;")


class FakeSource:
    """Stands in for npm/pip: returns fixed bytes and counts calls."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls = 0

    def fetch(self, spec: object, workdir: Path) -> bytes:
        self.calls += 1
        return self.data


def fake_spec(data: bytes):
    spec = get_spec("blazeface-short")
    return dataclasses.replace(spec, model_id="fake", sha256=hashlib.sha256(data).hexdigest())


def test_fetch_verifies_caches_and_refetches_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a source that yields the expected bytes
    source = FakeSource(b"weights")
    monkeypatch.setattr(cache, "get_source", lambda kind: source)
    spec = fake_spec(b"weights")
    # When fetched twice, the second time comes from the cache
    path = cache.fetch(spec, tmp_path)
    cache.fetch(spec, tmp_path)
    assert path.read_bytes() == b"weights" and source.calls == 1
    # And when the cached file is damaged, the next fetch replaces it
    path.write_bytes(b"weightz")
    cache.fetch(spec, tmp_path)
    assert path.read_bytes() == b"weights" and source.calls == 2


def test_fetch_refuses_bytes_with_the_wrong_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a source that returns something other than what the zoo recorded
    monkeypatch.setattr(cache, "get_source", lambda kind: FakeSource(b"tampered"))
    spec = fake_spec(b"weights")
    # When fetched; then it is refused and nothing is left in the cache
    with pytest.raises(ModelError, match="sha256 mismatch"):
        cache.fetch(spec, tmp_path)
    assert not any(tmp_path.rglob("*"))


def test_zoo_listing_and_unknown_ids() -> None:
    rows = {r.model_id: r for r in list_models()}
    assert set(rows) == set(ZOO)
    assert (rows["blazeface-short"].input_width, rows["blazeface-short"].labels) == (128, ("face",))
    with pytest.raises(ModelError, match="unknown model 'yolo9000'; the zoo has"):
        get_spec("yolo9000")
