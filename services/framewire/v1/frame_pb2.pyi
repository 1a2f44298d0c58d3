from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Frame(_message.Message):
    __slots__ = ("schema_version", "stream_id", "sequence", "capture_time_ns", "publish_time_ns", "source", "width", "height", "encoding", "data", "trace_id")
    class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ENCODING_UNSPECIFIED: _ClassVar[Frame.Encoding]
        ENCODING_JPEG: _ClassVar[Frame.Encoding]
    ENCODING_UNSPECIFIED: Frame.Encoding
    ENCODING_JPEG: Frame.Encoding
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    sequence: int
    capture_time_ns: int
    publish_time_ns: int
    source: str
    width: int
    height: int
    encoding: Frame.Encoding
    data: bytes
    trace_id: str
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., sequence: _Optional[int] = ..., capture_time_ns: _Optional[int] = ..., publish_time_ns: _Optional[int] = ..., source: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., encoding: _Optional[_Union[Frame.Encoding, str]] = ..., data: _Optional[bytes] = ..., trace_id: _Optional[str] = ...) -> None: ...
