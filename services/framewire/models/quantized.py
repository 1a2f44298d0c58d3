"""INT8 variants in the model cache: written by ``framewire models quantize``, verified and
loaded when a service asks for ``precision=int8`` (``FW_INFERENCE_PRECISION=int8``).

Layout: ``<cache>/<model_id>/int8/`` holds ``model.xml`` and ``model.bin`` (an OpenVINO IR
that already carries the input conversion of ``detector.prepare_model``) and
``quantized.json``: the sha256 of each file, the sha256 of the source file it was made
from, and how (calibration source and size, NNCF and OpenVINO versions, agreement with f32).
The directory is written beside the old one and swapped in with a rename, so a reader sees
the old entry or the new one, never half of each.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framewire.core.errors import ModelError
from framewire.models.cache import sha256_file
from framewire.models.zoo import ModelSpec

VARIANT = "int8"
MANIFEST = "quantized.json"
FILES = ("model.xml", "model.bin")


@dataclass(frozen=True)
class QuantizedEntry:
    """A verified INT8 variant of a zoo model."""

    model_id: str
    # sha256 of model.xml's bytes followed by model.bin's.
    sha256: str
    version: str
    xml: Path
    provenance: dict[str, Any]


def entry_dir(spec: ModelSpec, cache_dir: Path) -> Path:
    return cache_dir / spec.model_id / VARIANT


def variant_version(spec: ModelSpec, sha256: str) -> str:
    """The zoo version plus the variant's hash: results name the exact weights that made them."""
    return f"{spec.version}.{VARIANT}.{sha256[:8]}"


def _combined_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in FILES:
        with (folder / name).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def save_entry(model: Any, spec: ModelSpec, cache_dir: Path, provenance: dict[str, Any]) -> QuantizedEntry:
    """Write ``model`` (a quantized ov.Model) and its manifest; replaces an older entry."""
    import openvino as ov

    final = entry_dir(spec, cache_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{VARIANT}."))
    try:
        # compress_to_fp16=False: the float layers keep the exact f32 weights we measured.
        ov.save_model(model, str(tmp / FILES[0]), compress_to_fp16=False)
        sha = _combined_sha256(tmp)
        manifest = {
            "model_id": spec.model_id, "variant": VARIANT, "sha256": sha,
            "version": variant_version(spec, sha), "source_sha256": spec.sha256,
            "source_version": spec.version,
            "files": {name: sha256_file(tmp / name) for name in FILES}, **provenance,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_entry(spec, cache_dir)


def _swap_in(new: Path, final: Path) -> None:
    old = final.with_name(f".{VARIANT}.old.{os.getpid()}")
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def read_entry(spec: ModelSpec, cache_dir: Path) -> QuantizedEntry:
    """The cached INT8 variant of ``spec``, verified; a ModelError saying what to run if it is
    missing, made from other weights, or altered."""
    folder = entry_dir(spec, cache_dir)
    again = f"run `framewire models quantize {spec.model_id}`"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise ModelError(
            f"{spec.model_id}: precision int8 needs a quantized model in the cache ({folder}) "
            f"and there is none; {again} first (or choose another precision)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{spec.model_id}: unreadable INT8 manifest {folder / MANIFEST}: {exc}; {again}"
        ) from None
    made_from = str(manifest.get("source_sha256"))
    if made_from != spec.sha256:
        raise ModelError(
            f"{spec.model_id}: the cached INT8 model was made from other weights (sha256 "
            f"{made_from[:12]}..., the zoo has {spec.sha256[:12]}...); {again}"
        )
    _verify_files(spec, folder, manifest, again)
    return QuantizedEntry(spec.model_id, manifest["sha256"], manifest["version"], folder / FILES[0], manifest)


def _verify_files(spec: ModelSpec, folder: Path, manifest: dict[str, Any], again: str) -> None:
    files = manifest.get("files") or {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{spec.model_id}: INT8 file {path} is missing; {again}")
        actual = sha256_file(path)
        if actual != files.get(name):
            raise ModelError(
                f"{spec.model_id}: INT8 file {path}: sha256 mismatch, expected {files.get(name)} "
                f"but got {actual}; {again}"
            )
    if _combined_sha256(folder) != manifest.get("sha256"):
        raise ModelError(f"{spec.model_id}: INT8 manifest sha256 does not match its files; {again}")
