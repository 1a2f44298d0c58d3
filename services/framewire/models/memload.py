"""Reading a model into OpenVINO from memory, without writing its bytes to disk.

OpenVINO reads TFLite and TF graphs only from a path, and picks the frontend by the file
extension. We put the bytes in an anonymous in-memory file (``memfd_create``, Linux) and
point a symlink with the right extension at it from a private temp dir: the link holds no
model bytes, and the memory file vanishes when closed. Used for decrypted models (and for
served models, which are never written to the cache).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import openvino as ov

from framewire.core.errors import ModelError
from framewire.models.engine import shared_core

# Extensions OpenVINO's frontends recognise, by the format names the model server uses.
EXTENSIONS = {"tflite": ".tflite", "pb": ".pb", "onnx": ".onnx", "ir": ".xml", "xml": ".xml"}


def read_model_from_memory(data: bytes, model_format: str) -> ov.Model:
    """Parse model bytes of ``model_format`` (tflite, pb, onnx) into an ov.Model."""
    ext = EXTENSIONS.get(model_format.lower())
    if ext is None or ext == ".xml":
        raise ModelError(
            f"model format {model_format!r} cannot be loaded from memory; use one of tflite, pb, onnx"
        )
    if not hasattr(os, "memfd_create"):
        raise ModelError("loading a model from memory needs Linux (memfd_create)")
    fd = os.memfd_create("framewire-model", os.MFD_CLOEXEC)
    try:
        _write_all(fd, data)
        with tempfile.TemporaryDirectory(prefix="fw-model-") as private:
            link = Path(private) / f"model{ext}"
            link.symlink_to(f"/proc/{os.getpid()}/fd/{fd}")
            try:
                return shared_core().read_model(str(link))
            except RuntimeError as exc:
                reason = next((ln for ln in str(exc).splitlines() if "nable to" in ln), str(exc))
                raise ModelError(f"OpenVINO cannot read the {model_format} model: {reason}") from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
