"""Request bodies of the pipeline API, validated before anything reaches Kafka."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from framewire.core.errors import InvalidStreamIdError
from framewire.core.media import SOURCE_SCHEMES
from framewire.core.topics import validate_stream_id
from framewire.v1.stream_pb2 import StreamSpec

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _source_uri(uri: str) -> str:
    if uri != uri.strip() or _CONTROL.search(uri):
        raise ValueError("source_uri must not contain spaces at the ends or control characters")
    try:
        scheme = urlsplit(uri).scheme.lower()
    except ValueError:
        raise ValueError("source_uri is not a valid URI or path") from None
    if scheme and scheme not in SOURCE_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in SOURCE_SCHEMES)
        raise ValueError(f"source_uri scheme {scheme!r} is not supported; use a path or {allowed}")
    return uri


def _stream_id(value: str) -> str:
    try:
        return validate_stream_id(value)
    except InvalidStreamIdError as exc:
        raise ValueError(exc.message) from None


SourceUri = Annotated[
    str,
    Field(min_length=1, max_length=2048, description="path, file://, dir://, rtsp://, http(s)://, "
          "v4l2:// or /dev/videoN; credentials are accepted and never shown back"),
    AfterValidator(_source_uri),
]
ModelId = Annotated[str, Field(max_length=128, pattern=r"^[A-Za-z0-9._:/-]*$",
                               description="model id from /api/models; empty: the default")]
Fps = Annotated[float, Field(ge=0, le=240, description="target fps; 0: the source's rate")]
Width = Annotated[int, Field(ge=0, le=7680, description="output width; 0 keeps the source's")]
Height = Annotated[int, Field(ge=0, le=4320, description="output height; 0 keeps the source's")]
Quality = Annotated[int, Field(ge=0, le=100, description="JPEG quality; 0: gateway default")]
MaxAge = Annotated[int, Field(ge=0, le=3_600_000, description="max frame age in ms; 0: default")]
DisplayName = Annotated[str, Field(max_length=80)]


class StreamFields(BaseModel):
    """A stream's full desired state (PUT replaces all of it)."""

    model_config = ConfigDict(extra="forbid")

    source_uri: SourceUri
    target_fps: Fps = 0.0
    width: Width = 0
    height: Height = 0
    jpeg_quality: Quality = 0
    model: ModelId = ""
    enabled: bool = True
    loop: bool = True
    max_age_ms: MaxAge = 0
    display_name: DisplayName = ""


class StreamCreate(StreamFields):
    """POST body: a new stream's id and spec."""

    stream_id: Annotated[
        str,
        Field(min_length=1, max_length=64, description="letters, digits, '_' and '-'"),
        AfterValidator(_stream_id),
    ]


class StreamPatch(BaseModel):
    """PATCH body: only the fields given change (a kept source URI keeps its credentials)."""

    model_config = ConfigDict(extra="forbid")

    source_uri: SourceUri | None = None
    target_fps: Fps | None = None
    width: Width | None = None
    height: Height | None = None
    jpeg_quality: Quality | None = None
    model: ModelId | None = None
    enabled: bool | None = None
    loop: bool | None = None
    max_age_ms: MaxAge | None = None
    display_name: DisplayName | None = None


def to_spec(stream_id: str, body: StreamFields) -> StreamSpec:
    fields = body.model_dump(exclude={"stream_id"})
    return StreamSpec(stream_id=stream_id, **fields)
