"""The service's own records at the Kafka boundary: DropRecord and DeadLetter bytes out.

Called when a cycle's outcomes are published; frames in and results out are the per-frame
path's (``framewire.models.perframe.wire``).
"""

from __future__ import annotations

import time

from framewire.core.codec import encode
from framewire.inference.records import DropRange, DropReason, Rejected
from framewire.v1.ops_pb2 import DeadLetter, DropRecord

SERVICE = "inference"
_DROP_REASONS = {
    DropReason.STALE: DropRecord.REASON_STALE,
    DropReason.STRIDE: DropRecord.REASON_STRIDE,
    DropReason.DUPLICATE: DropRecord.REASON_DUPLICATE,
}


def drop_value(d: DropRange) -> bytes:
    return encode(
        DropRecord(
            stream_id=d.stream_id,
            topic=d.topic,
            partition=d.partition,
            first_offset=d.first_offset,
            last_offset=d.last_offset,
            count=d.count,
            reason=_DROP_REASONS[d.reason],
            service=SERVICE,
            time_ns=time.time_ns(),
            detail=d.detail,
        )
    )


def dead_letter_value(r: Rejected, max_value_bytes: int) -> bytes:
    i = r.inbound
    value = i.value or b""
    msg = DeadLetter(
        original_topic=i.coords.topic,
        original_partition=i.coords.partition,
        original_offset=i.coords.offset,
        original_key=i.key or b"",
        error_kind=r.kind.value,
        error_message=r.message[:1000],
        service=SERVICE,
        time_ns=time.time_ns(),
        original_value=value if len(value) <= max_value_bytes else b"",
    )
    for k, v in i.headers:
        msg.original_headers.add(key=k, value=v)
    return encode(msg)
