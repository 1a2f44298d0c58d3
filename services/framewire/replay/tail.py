"""``framewire tail TOPIC``: decode a framewire topic to JSON lines.

Reads the topic itself, or (``--stdin``) lines printed by Kafka's console consumer run with
``--formatter-property value.deserializer=org.apache.kafka.common.serialization.BytesDeserializer``
and ``print.key=true``/``print.offset=true``/``print.partition=true``/``print.timestamp=true``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from framewire.core.codec import Frame
from framewire.core.dedup import FrameDeduplicator
from framewire.replay.wire import message_type, to_json, unescape_console_bytes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", help="e.g. fw.results.cam-1, fw.drops, fw.dlq")
    parser.add_argument("--follow", "-f", action="store_true", help="wait for new records (like tail -f)")
    parser.add_argument("--from-beginning", action="store_true", help="with --follow: start at the oldest")
    parser.add_argument("--max", type=int, default=0, help="stop after this many records")
    parser.add_argument("--with-data", action="store_true", help="include frame JPEG bytes (base64)")
    parser.add_argument("--stdin", action="store_true", help="decode console-consumer lines from stdin")
    parser.add_argument(
        "--keep-duplicates", action="store_true",
        help="frames topics: also print a frame read again (same sequence and capture time)",
    )


def console_line_fields(line: str) -> dict[str, str]:
    """Split one console-consumer line (``Name:value`` tab-separated prefixes) into fields.

    The last field is the value; key, partition, offset and timestamp come first when printed.
    """
    parts = line.rstrip("\n").split("\t")
    fields: dict[str, str] = {"value": parts[-1]}
    for part in parts[:-1]:
        name, sep, rest = part.partition(":")
        if sep and name in {"Partition", "Offset", "CreateTime", "LogAppendTime"}:
            fields[name.lower()] = rest
        else:
            fields["key"] = part
    return fields


def decode_console_lines(topic: str, prefix: str, lines: TextIO, with_data: bool) -> Iterator[dict[str, Any]]:
    cls = message_type(topic, prefix)
    for line in lines:
        if not line.strip():
            continue
        fields = console_line_fields(line)
        value = unescape_console_bytes(fields.pop("value"))
        yield {**fields, "topic": topic, "value": to_json(cls, value, with_data=with_data)}


def run(args: argparse.Namespace) -> int:
    from framewire.core.config import KafkaSettings, load_settings

    settings = load_settings(KafkaSettings)
    prefix = settings.topic_prefix
    try:
        message_type(args.topic, prefix)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.stdin:
        records = decode_console_lines(args.topic, prefix, sys.stdin, args.with_data)
    else:
        records = _read_topic(settings, args)
    dedup = FrameDeduplicator()
    if message_type(args.topic, prefix) is Frame and not args.keep_duplicates:
        records = (r for r in records if not _is_frame_copy(dedup, r))
    for count, record in enumerate(records, start=1):
        sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
        if args.max and count >= args.max:
            break
    sys.stdout.flush()
    if dedup.duplicates:
        sys.stderr.write(
            f"skipped {dedup.duplicates} frame record(s) already read (same sequence and "
            "capture time); --keep-duplicates prints them\n"
        )
    return 0


def _is_frame_copy(dedup: FrameDeduplicator, record: dict[str, Any]) -> bool:
    value = record.get("value")
    if not isinstance(value, dict):
        return False
    partition = record.get("partition", 0)
    return dedup.is_copy(partition, int(value.get("sequence", 0)), int(value.get("capture_time_ns", 0)))


def _read_topic(settings: Any, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Without --follow: the topic's history up to now. With it: new records (or all with
    --from-beginning) until interrupted."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Message, TopicPartition

    from framewire.core.history import history_consumer, partitions_of, read_topic

    cls = message_type(args.topic, settings.topic_prefix)

    def view(msg: Message) -> dict[str, Any]:
        key = msg.key()
        return {
            "topic": msg.topic(),
            "partition": msg.partition(),
            "offset": msg.offset(),
            "timestamp": msg.timestamp()[1],
            "key": key.decode("utf-8", "replace") if key else None,
            "value": to_json(cls, msg.value(), with_data=args.with_data),
        }

    consumer = history_consumer(settings)
    try:
        if not args.follow:
            yield from (view(m) for m in read_topic(consumer, args.topic))
            return
        start = OFFSET_BEGINNING if args.from_beginning else OFFSET_END
        consumer.assign([TopicPartition(args.topic, p, start) for p in partitions_of(consumer, args.topic)])
        while True:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                yield view(msg)
    finally:
        consumer.close()
