from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamSpec(_message.Message):
    __slots__ = ("schema_version", "stream_id", "source_uri", "target_fps", "width", "height", "jpeg_quality", "model", "enabled", "loop", "max_age_ms", "display_name", "zones", "lines")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    JPEG_QUALITY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_MS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    source_uri: str
    target_fps: float
    width: int
    height: int
    jpeg_quality: int
    model: str
    enabled: bool
    loop: bool
    max_age_ms: int
    display_name: str
    zones: _containers.RepeatedCompositeFieldContainer[ZoneSpec]
    lines: _containers.RepeatedCompositeFieldContainer[LineSpec]
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., source_uri: _Optional[str] = ..., target_fps: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., jpeg_quality: _Optional[int] = ..., model: _Optional[str] = ..., enabled: bool = ..., loop: bool = ..., max_age_ms: _Optional[int] = ..., display_name: _Optional[str] = ..., zones: _Optional[_Iterable[_Union[ZoneSpec, _Mapping]]] = ..., lines: _Optional[_Iterable[_Union[LineSpec, _Mapping]]] = ...) -> None: ...

class ZonePoint(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class ZoneSpec(_message.Message):
    __slots__ = ("id", "polygon", "dwell_s")
    ID_FIELD_NUMBER: _ClassVar[int]
    POLYGON_FIELD_NUMBER: _ClassVar[int]
    DWELL_S_FIELD_NUMBER: _ClassVar[int]
    id: str
    polygon: _containers.RepeatedCompositeFieldContainer[ZonePoint]
    dwell_s: float
    def __init__(self, id: _Optional[str] = ..., polygon: _Optional[_Iterable[_Union[ZonePoint, _Mapping]]] = ..., dwell_s: _Optional[float] = ...) -> None: ...

class LineSpec(_message.Message):
    __slots__ = ("id", "a", "b", "direction")
    ID_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    a: ZonePoint
    b: ZonePoint
    direction: str
    def __init__(self, id: _Optional[str] = ..., a: _Optional[_Union[ZonePoint, _Mapping]] = ..., b: _Optional[_Union[ZonePoint, _Mapping]] = ..., direction: _Optional[str] = ...) -> None: ...

class StreamStatus(_message.Message):
    __slots__ = ("schema_version", "stream_id", "state", "reason", "fps_in", "fps_out", "native_width", "native_height", "native_fps", "frames_published", "frames_dropped", "reconnects", "gateway_id", "updated_time_ns")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[StreamStatus.State]
        STATE_STARTING: _ClassVar[StreamStatus.State]
        STATE_RUNNING: _ClassVar[StreamStatus.State]
        STATE_RECONNECTING: _ClassVar[StreamStatus.State]
        STATE_FAILED: _ClassVar[StreamStatus.State]
        STATE_STOPPED: _ClassVar[StreamStatus.State]
    STATE_UNSPECIFIED: StreamStatus.State
    STATE_STARTING: StreamStatus.State
    STATE_RUNNING: StreamStatus.State
    STATE_RECONNECTING: StreamStatus.State
    STATE_FAILED: StreamStatus.State
    STATE_STOPPED: StreamStatus.State
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FPS_IN_FIELD_NUMBER: _ClassVar[int]
    FPS_OUT_FIELD_NUMBER: _ClassVar[int]
    NATIVE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    NATIVE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    NATIVE_FPS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    state: StreamStatus.State
    reason: str
    fps_in: float
    fps_out: float
    native_width: int
    native_height: int
    native_fps: float
    frames_published: int
    frames_dropped: int
    reconnects: int
    gateway_id: str
    updated_time_ns: int
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., state: _Optional[_Union[StreamStatus.State, str]] = ..., reason: _Optional[str] = ..., fps_in: _Optional[float] = ..., fps_out: _Optional[float] = ..., native_width: _Optional[int] = ..., native_height: _Optional[int] = ..., native_fps: _Optional[float] = ..., frames_published: _Optional[int] = ..., frames_dropped: _Optional[int] = ..., reconnects: _Optional[int] = ..., gateway_id: _Optional[str] = ..., updated_time_ns: _Optional[int] = ...) -> None: ...
