"""Prepared zoo models: the model file with ``detector.prepare_model``'s input conversion
built in, kept in the cache as an OpenVINO IR.

Called by the loader for every f32 zoo load. Reading a TFLite file converts the whole
graph (about 0.4 s for SSD-MobileNetV2 on a 2-core machine) and the input conversion is
built again each time; the IR is read in a fraction of that, and a compile cache keyed by
its path skips reading it at all. A restarted worker's streams wait for exactly this.

Layout: ``<cache>/<model_id>/prepared/<key>/model.xml`` and ``model.bin``, where the key
hashes the source file's sha256, every spec field ``prepare_model`` reads and the OpenVINO
version, so a change to any of them makes a new entry instead of reusing a stale one. The
directory is written beside its final name and renamed into place. A cache that cannot be
written (a read-only zoo baked into an image) is not an error: the source file is used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import openvino as ov

from framewire.models.detector import prepare_model
from framewire.models.engine import shared_core
from framewire.models.zoo import ModelSpec

log = logging.getLogger(__name__)

XML = "model.xml"


def prepared_key(spec: ModelSpec) -> str:
    """What the prepared graph depends on, hashed."""
    parts = [spec.sha256, repr(spec.reshape), spec.scaling.value, spec.color, spec.layout,
             ov.get_version()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def prepared_ir(spec: ModelSpec, cache_dir: Path, source: Path) -> Path | None:
    """The prepared IR of ``source`` (made on first use); None when it cannot be written."""
    final = cache_dir / spec.model_id / "prepared" / prepared_key(spec)
    if (final / XML).is_file() and (final / "model.bin").is_file():
        return final / XML
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".new."))
    except OSError as exc:
        log.debug("no prepared copy of %s (%s): reading %s", spec.model_id, exc, source)
        return None
    try:
        graph = prepare_model(shared_core().read_model(str(source)), spec)
        # compress_to_fp16=False: the weights stay exactly those of the source file.
        ov.save_model(graph, str(tmp / XML), compress_to_fp16=False)
        for name in os.listdir(tmp):
            os.chmod(tmp / name, 0o644)
        os.chmod(tmp, 0o755)
        try:
            tmp.rename(final)
        except OSError:
            if not (final / XML).is_file():  # not a concurrent writer that won the race
                raise
    except OSError as exc:
        log.debug("no prepared copy of %s (%s): reading %s", spec.model_id, exc, source)
        return None
    except RuntimeError as exc:  # OpenVINO could not convert or save it: the source still loads
        log.warning("no prepared copy of %s (%s): reading %s", spec.model_id, exc, source)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("prepared %s for fast loading at %s", spec.model_id, final)
    return final / XML
