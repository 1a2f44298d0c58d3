"""What ``framewire models serve`` offers: the zoo from the cache plus a directory of
operator-added models (``framewire models encrypt`` output: ``<id>.json`` beside the file).

Built once when the server starts; each entry's file is hashed then, and the info document
is the seed's protocol plus our additions (see ``served.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framewire.core.errors import ModelError
from framewire.models.cache import fetch, sha256_file
from framewire.models.served import parse_info
from framewire.models.zoo import ZOO, ModelSpec

log = logging.getLogger(__name__)

# Sidecar key naming the served file, relative to the sidecar.
FILE_KEY = "file"


@dataclass(frozen=True)
class CatalogEntry:
    """One served model: its info document (without ``url``) and the file to send."""

    model_id: str
    info: dict[str, Any]
    path: Path


def zoo_entry(spec: ModelSpec, cache_dir: Path) -> CatalogEntry:
    from framewire.models.served import info_for_spec

    path = fetch(spec, cache_dir)
    info = info_for_spec(spec, url="", sha256=spec.sha256, encrypted=False)
    return CatalogEntry(spec.model_id, info, path)


def sidecar_entry(sidecar: Path) -> CatalogEntry:
    """An operator-added model described by ``sidecar`` (JSON: an info document without
    ``url`` and ``sha256``, plus ``file``)."""
    try:
        doc = json.loads(sidecar.read_text())
        path = sidecar.parent / doc.pop(FILE_KEY)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"model sidecar {sidecar} is unreadable or has no {FILE_KEY!r}: {exc}") from None
    if not path.is_file():
        raise ModelError(f"model sidecar {sidecar} names {path}, which does not exist")
    doc.update(url="", sha256=sha256_file(path))
    parse_info(doc, str(sidecar))  # refuse a bad sidecar at start-up, not at a client
    return CatalogEntry(doc["id"], doc, path)


def build_catalog(cache_dir: Path, extra_dir: Path | None, *, zoo: bool = True) -> dict[str, CatalogEntry]:
    """Entries by model id; a sidecar with a zoo model's id replaces the zoo entry."""
    entries = {s.model_id: zoo_entry(s, cache_dir) for s in ZOO.values()} if zoo else {}
    for sidecar in sorted(extra_dir.glob("*.json")) if extra_dir else []:
        entry = sidecar_entry(sidecar)
        if entry.model_id in entries:
            log.info("serving %s from %s instead of the zoo", entry.model_id, sidecar)
        entries[entry.model_id] = entry
    return entries
