"""Source registry: URI scheme -> ``"module:Class"``, imported only when a stream uses it.

Adding a source type is one module (its URI parsing and reader) plus one line here. Each
class offers ``from_uri(uri, options)``, which validates the URI without opening anything
and raises ConfigError with the reason.
"""

from __future__ import annotations

import importlib
from typing import Any

from framewire.core.errors import ConfigError
from framewire.core.media import uri_scheme
from framewire.gateway.sources.base import Source, SourceOptions

SOURCES: dict[str, str] = {
    "file": "framewire.gateway.sources.video_file:VideoFileSource",
    "dir": "framewire.gateway.sources.image_folder:ImageFolderSource",
    "rtsp": "framewire.gateway.sources.rtsp:RtspSource",
    "http": "framewire.gateway.sources.mjpeg:MjpegSource",
    "https": "framewire.gateway.sources.mjpeg:MjpegSource",
    "v4l2": "framewire.gateway.sources.v4l2:V4l2Source",
}


def scheme_of(uri: str) -> str:
    """The registry key for ``uri``: a bare path is a file, ``/dev/videoN`` a camera."""
    return uri_scheme(uri)


def source_class(uri: str) -> Any:
    """The class registered for ``uri``'s scheme; ConfigError naming the known schemes."""
    scheme = scheme_of(uri)
    target = SOURCES.get(scheme)
    if target is None:
        known = ", ".join(sorted(SOURCES))
        raise ConfigError(f"unknown source scheme {scheme!r}; known: {known}, or a file path")
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_source(uri: str, options: SourceOptions) -> Source:
    """A closed source for ``uri``; raises ConfigError for a bad or unsupported URI."""
    source: Source = source_class(uri).from_uri(uri, options)
    return source
