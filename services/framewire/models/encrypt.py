"""Preparing encrypted models for ``framewire models serve --dir`` (operators' side).

``encrypt_for_serving`` is called by ``framewire models encrypt``: it writes
``<id>.fwenc`` (see ``crypto.py``) and ``<id>.json``, the info document the server sends
(without ``url`` and ``sha256``, which the server fills in).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from framewire.core.errors import ModelError
from framewire.models.cache import fetch, write_atomically
from framewire.models.catalog import FILE_KEY
from framewire.models.crypto import encrypt_model, new_key
from framewire.models.keys import parse_key
from framewire.models.served import info_for_spec
from framewire.models.zoo import ZOO

log = logging.getLogger(__name__)

# What an --info file must give for a model the zoo does not describe.
REQUIRED_INFO = ("format", "decoder", "labels", "input")


def load_or_make_key(key_file: Path | None, generate_key: Path | None) -> bytes:
    """The key from ``key_file``, or a new one written to ``generate_key`` (mode 0600)."""
    if generate_key is not None:
        if generate_key.exists():
            raise ModelError(f"{generate_key} exists; refusing to overwrite a key")
        key = new_key()
        fd = os.open(generate_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
        log.info("wrote a new key to %s", generate_key)
        return key
    if key_file is None:
        raise ModelError("give --key-file or --generate-key")
    try:
        return parse_key(key_file.read_bytes(), f"key file {key_file}")
    except OSError as exc:
        raise ModelError(f"cannot read key file {key_file}: {exc}") from None


def _plain_and_info(source: str, cache_dir: Path, info_file: Path | None) -> tuple[bytes, dict[str, Any]]:
    if source in ZOO:
        spec = ZOO[source]
        info = info_for_spec(spec, url="", sha256="", encrypted=True)
        return fetch(spec, cache_dir).read_bytes(), info
    path = Path(source)
    if not path.is_file():
        raise ModelError(f"{source!r} is neither a zoo id ({', '.join(ZOO)}) nor a file")
    if info_file is None:
        raise ModelError(f"{path.name} is not a zoo model: give --info with {REQUIRED_INFO}")
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read --info {info_file}: {exc}") from None
    missing = [k for k in REQUIRED_INFO if k not in info]
    if missing:
        raise ModelError(f"--info {info_file} lacks {missing}")
    defaults = {
        "id": path.stem,
        "name": path.stem,
        "version": "1",
        "framework": info["format"],
        "target": "object-detection",
        "dtype": "fp32",
    }
    return path.read_bytes(), {**defaults, **info}


def encrypt_for_serving(
    source: str,
    out_dir: Path,
    *,
    cache_dir: Path,
    key_file: Path | None = None,
    generate_key: Path | None = None,
    key_id: str | None = None,
    model_id: str | None = None,
    info_file: Path | None = None,
) -> Path:
    """Encrypt ``source`` (zoo id or file) into ``out_dir``; returns the sidecar's path."""
    plain, info = _plain_and_info(source, cache_dir, info_file)
    key = load_or_make_key(key_file, generate_key)
    info["id"] = model_id or info["id"]
    info["encrypted"] = True
    info.pop("url", None)
    info.pop("sha256", None)
    blob = encrypt_model(plain, key, key_id=key_id or info["id"], model_format=info["format"])
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{info['id']}.fwenc"
    write_atomically(target, blob)
    sidecar = target.with_suffix(".json")
    write_atomically(sidecar, json.dumps({**info, FILE_KEY: target.name}, indent=2).encode())
    log.info("encrypted %s into %s (key id %s)", source, target, key_id or info["id"])
    return sidecar
