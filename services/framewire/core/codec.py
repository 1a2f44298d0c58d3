"""Protobuf codec at the Kafka boundary.

Inside a process, services use plain records; only here do they become wire bytes.
``decode`` refuses unknown schema versions and reports the message's coordinates;
``decode_value`` decodes a record of any catalogued topic by its kind.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from framewire.core.catalog import CATALOG
from framewire.core.errors import DecodeError
from framewire.core.topics import TopicKind
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DeadLetter, DropRecord
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus

SCHEMA_VERSION = 1
# Versions this build can read. A newer major version means a contract change we do not know.
SUPPORTED_VERSIONS = frozenset({1})

M = TypeVar("M", bound=Message)

__all__ = [
    "SCHEMA_VERSION",
    "DeadLetter",
    "DetectionResult",
    "DropRecord",
    "Frame",
    "StreamSpec",
    "StreamStatus",
    "decode",
    "decode_value",
    "encode",
]


def encode(message: Message) -> bytes:
    """Serialise a message, stamping the current schema version when it is unset."""
    stamped: Any = message  # every top-level framewire message has field 1 schema_version
    if message.DESCRIPTOR.fields_by_name.get("schema_version") and not stamped.schema_version:
        stamped.schema_version = SCHEMA_VERSION
    return message.SerializeToString()


def decode(
    cls: type[M],
    payload: bytes | None,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> M:
    """Parse ``payload`` as ``cls``; raise DecodeError naming the coordinates on failure."""

    def error(text: str) -> DecodeError:
        return DecodeError(text, topic=topic, partition=partition, offset=offset)

    if payload is None:
        raise error(f"empty {cls.__name__} payload (tombstone)")
    message = cls()
    try:
        message.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeWarning, ValueError) as exc:
        raise error(f"undecodable {cls.__name__}: {exc}") from None
    version = getattr(message, "schema_version", SCHEMA_VERSION)
    if version not in SUPPORTED_VERSIONS:
        raise error(
            f"{cls.__name__} schema version {version} is not supported "
            f"(supported: {sorted(SUPPORTED_VERSIONS)})"
        )
    return message


def decode_value(
    kind: TopicKind,
    payload: bytes | None,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> Any:
    """A record value of a ``kind`` topic as the catalogue says it is written: its protobuf
    message, or the parsed JSON document; None for a tombstone where the kind has them.
    DecodeError naming the coordinates otherwise."""
    entry = CATALOG[kind]
    if payload is None and entry.tombstones:
        return None
    if entry.payload is not None:
        return decode(entry.payload, payload, topic=topic, partition=partition, offset=offset)
    if payload is None:
        raise DecodeError(f"empty {entry.json_schema} payload", topic=topic, partition=partition,
                          offset=offset)
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"a {kind} record that is not JSON: {exc}", topic=topic,
                          partition=partition, offset=offset) from None
