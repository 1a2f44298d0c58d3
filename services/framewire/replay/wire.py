"""Which message type a framewire topic carries (the topic catalogue says), and JSON views
of records.

Kept apart from Kafka so it can decode lines printed by Kafka's console consumer too.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from framewire.core.catalog import CATALOG, classify
from framewire.core.codec import Frame, StreamSpec
from framewire.core.logs import redact_uri
from framewire.core.topics import Topics

_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")


def message_type(topic: str, prefix: str) -> type[Message] | None:
    """The protobuf class a topic carries (None for JSON topics), from the topic catalogue;
    ValueError if it is not a framewire topic. A replay's output counts as a results topic."""
    found = classify(Topics(prefix), topic, replay_outputs=True)
    if found is None:
        kinds = ", ".join(e.pattern.replace("<prefix>", prefix) for e in CATALOG.values())
        raise ValueError(f"{topic} is not a framewire topic (prefix {prefix!r}): {kinds}")
    return found[0].payload


def to_json(cls: type[Message] | None, value: bytes | None, *, with_data: bool = False) -> Any:
    """A JSON-ready view of one record value; frame bytes only when asked for."""
    if value is None:
        return None
    if cls is None:
        return json.loads(value)
    message = cls()
    message.ParseFromString(value)
    view = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    if isinstance(message, Frame):
        view.pop("data", None)
        view["data_bytes"] = len(message.data)
        if with_data:
            view["data"] = base64.b64encode(message.data).decode()
    if isinstance(message, StreamSpec) and "source_uri" in view:
        view["source_uri"] = redact_uri(view["source_uri"])
    return view


def unescape_console_bytes(text: str) -> bytes:
    """Undo the escaping of Kafka's ``BytesDeserializer`` output: ``\\xHH`` for any byte that
    is not printable ASCII (and for the backslash itself)."""
    raw = text.encode("latin-1")
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
