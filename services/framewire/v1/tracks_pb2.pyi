from framewire.v1 import detection_pb2 as _detection_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Track(_message.Message):
    __slots__ = ("track_id", "label", "class_id", "score", "box", "hits", "misses", "first_seen_ns", "last_seen_ns", "velocity_x", "velocity_y")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_NS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_NS_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_X_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_Y_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    label: str
    class_id: int
    score: float
    box: _detection_pb2.Box
    hits: int
    misses: int
    first_seen_ns: int
    last_seen_ns: int
    velocity_x: float
    velocity_y: float
    def __init__(self, track_id: _Optional[int] = ..., label: _Optional[str] = ..., class_id: _Optional[int] = ..., score: _Optional[float] = ..., box: _Optional[_Union[_detection_pb2.Box, _Mapping]] = ..., hits: _Optional[int] = ..., misses: _Optional[int] = ..., first_seen_ns: _Optional[int] = ..., last_seen_ns: _Optional[int] = ..., velocity_x: _Optional[float] = ..., velocity_y: _Optional[float] = ...) -> None: ...

class TrackedResult(_message.Message):
    __slots__ = ("schema_version", "stream_id", "frame_sequence", "capture_time_ns", "source_topic", "source_partition", "source_offset", "frame_topic", "frame_offset", "tracks", "tracker_id", "result_time_ns", "frame_partition")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TOPIC_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTITION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    FRAME_TOPIC_FIELD_NUMBER: _ClassVar[int]
    FRAME_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    TRACKER_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    FRAME_PARTITION_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    frame_sequence: int
    capture_time_ns: int
    source_topic: str
    source_partition: int
    source_offset: int
    frame_topic: str
    frame_offset: int
    tracks: _containers.RepeatedCompositeFieldContainer[Track]
    tracker_id: str
    result_time_ns: int
    frame_partition: int
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., frame_sequence: _Optional[int] = ..., capture_time_ns: _Optional[int] = ..., source_topic: _Optional[str] = ..., source_partition: _Optional[int] = ..., source_offset: _Optional[int] = ..., frame_topic: _Optional[str] = ..., frame_offset: _Optional[int] = ..., tracks: _Optional[_Iterable[_Union[Track, _Mapping]]] = ..., tracker_id: _Optional[str] = ..., result_time_ns: _Optional[int] = ..., frame_partition: _Optional[int] = ...) -> None: ...

class TrackerState(_message.Message):
    __slots__ = ("schema_version", "stream_id", "next_track_id", "last_capture_time_ns", "tracks", "next_source_offset", "zone_watcher_json")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_CAPTURE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ZONE_WATCHER_JSON_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    next_track_id: int
    last_capture_time_ns: int
    tracks: _containers.RepeatedCompositeFieldContainer[Track]
    next_source_offset: int
    zone_watcher_json: str
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., next_track_id: _Optional[int] = ..., last_capture_time_ns: _Optional[int] = ..., tracks: _Optional[_Iterable[_Union[Track, _Mapping]]] = ..., next_source_offset: _Optional[int] = ..., zone_watcher_json: _Optional[str] = ...) -> None: ...

class ZoneEvent(_message.Message):
    __slots__ = ("schema_version", "stream_id", "kind", "track_id", "zone_or_line", "direction", "label", "frame_sequence", "capture_time_ns", "source_topic", "source_partition", "source_offset", "tracker_id", "event_time_ns")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ZoneEvent.Kind]
        ENTER: _ClassVar[ZoneEvent.Kind]
        LEAVE: _ClassVar[ZoneEvent.Kind]
        CROSS: _ClassVar[ZoneEvent.Kind]
        DWELL: _ClassVar[ZoneEvent.Kind]
    KIND_UNSPECIFIED: ZoneEvent.Kind
    ENTER: ZoneEvent.Kind
    LEAVE: ZoneEvent.Kind
    CROSS: ZoneEvent.Kind
    DWELL: ZoneEvent.Kind
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_OR_LINE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    FRAME_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TOPIC_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTITION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TRACKER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    kind: ZoneEvent.Kind
    track_id: int
    zone_or_line: str
    direction: str
    label: str
    frame_sequence: int
    capture_time_ns: int
    source_topic: str
    source_partition: int
    source_offset: int
    tracker_id: str
    event_time_ns: int
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., kind: _Optional[_Union[ZoneEvent.Kind, str]] = ..., track_id: _Optional[int] = ..., zone_or_line: _Optional[str] = ..., direction: _Optional[str] = ..., label: _Optional[str] = ..., frame_sequence: _Optional[int] = ..., capture_time_ns: _Optional[int] = ..., source_topic: _Optional[str] = ..., source_partition: _Optional[int] = ..., source_offset: _Optional[int] = ..., tracker_id: _Optional[str] = ..., event_time_ns: _Optional[int] = ...) -> None: ...
