from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DropRecord(_message.Message):
    __slots__ = ("schema_version", "stream_id", "topic", "partition", "first_offset", "last_offset", "count", "reason", "service", "time_ns", "detail")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[DropRecord.Reason]
        REASON_STALE: _ClassVar[DropRecord.Reason]
        REASON_STRIDE: _ClassVar[DropRecord.Reason]
        REASON_BACKPRESSURE: _ClassVar[DropRecord.Reason]
        REASON_SOURCE_OVERRUN: _ClassVar[DropRecord.Reason]
        REASON_DELIVERY_FAILED: _ClassVar[DropRecord.Reason]
        REASON_CORRUPT_INPUT: _ClassVar[DropRecord.Reason]
        REASON_DUPLICATE: _ClassVar[DropRecord.Reason]
    REASON_UNSPECIFIED: DropRecord.Reason
    REASON_STALE: DropRecord.Reason
    REASON_STRIDE: DropRecord.Reason
    REASON_BACKPRESSURE: DropRecord.Reason
    REASON_SOURCE_OVERRUN: DropRecord.Reason
    REASON_DELIVERY_FAILED: DropRecord.Reason
    REASON_CORRUPT_INPUT: DropRecord.Reason
    REASON_DUPLICATE: DropRecord.Reason
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_OFFSET_FIELD_NUMBER: _ClassVar[int]
    LAST_OFFSET_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    stream_id: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    count: int
    reason: DropRecord.Reason
    service: str
    time_ns: int
    detail: str
    def __init__(self, schema_version: _Optional[int] = ..., stream_id: _Optional[str] = ..., topic: _Optional[str] = ..., partition: _Optional[int] = ..., first_offset: _Optional[int] = ..., last_offset: _Optional[int] = ..., count: _Optional[int] = ..., reason: _Optional[_Union[DropRecord.Reason, str]] = ..., service: _Optional[str] = ..., time_ns: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("schema_version", "original_topic", "original_partition", "original_offset", "original_key", "original_headers", "error_kind", "error_message", "service", "time_ns", "original_value")
    class Header(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_TOPIC_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_PARTITION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_KEY_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_HEADERS_FIELD_NUMBER: _ClassVar[int]
    ERROR_KIND_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    original_topic: str
    original_partition: int
    original_offset: int
    original_key: bytes
    original_headers: _containers.RepeatedCompositeFieldContainer[DeadLetter.Header]
    error_kind: str
    error_message: str
    service: str
    time_ns: int
    original_value: bytes
    def __init__(self, schema_version: _Optional[int] = ..., original_topic: _Optional[str] = ..., original_partition: _Optional[int] = ..., original_offset: _Optional[int] = ..., original_key: _Optional[bytes] = ..., original_headers: _Optional[_Iterable[_Union[DeadLetter.Header, _Mapping]]] = ..., error_kind: _Optional[str] = ..., error_message: _Optional[str] = ..., service: _Optional[str] = ..., time_ns: _Optional[int] = ..., original_value: _Optional[bytes] = ...) -> None: ...
