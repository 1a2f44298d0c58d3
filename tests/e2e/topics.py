"""Reading a deployment's topics from the host: every frame, result, drop and dead letter,
and whether they add up (each frame accounted for exactly once)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from framewire.core.topics import Topics
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DeadLetter, DropRecord

TP = tuple[str, int]


Record = tuple[str, int, int, bytes]


def read_topics(bootstrap: str, topics: list[str], timeout_s: float = 60) -> list[Record]:
    """(topic, partition, offset, value) of every committed record, from the beginning."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "isolation.level": "read_committed",
        "enable.partition.eof": True, "fetch.message.max.bytes": 16 * 1024 * 1024,
    })
    try:
        metadata = consumer.list_topics(timeout=20)
        parts = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics if t in metadata.topics
                 for p in metadata.topics[t].partitions]
        if not parts:
            return []
        consumer.assign(parts)
        pending = {(p.topic, p.partition) for p in parts}
        out: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard((msg.topic(), msg.partition()))
                    continue
                raise RuntimeError(f"reading {msg.topic()}: {msg.error()}")
            out.append((msg.topic(), msg.partition(), msg.offset(), msg.value() or b""))
        if pending:
            raise AssertionError(f"could not read {sorted(pending)} to its end in {timeout_s}s")
        return out
    finally:
        consumer.close()


@dataclass
class Ledger:
    """Where every frame of the frames topics went."""

    frames: dict[TP, set[int]] = field(default_factory=dict)
    accounted: dict[TP, Counter[int]] = field(default_factory=dict)
    results: int = 0
    dropped: int = 0
    dead: int = 0

    def missing(self) -> dict[TP, list[int]]:
        return {tp: sorted(o - set(self.accounted.get(tp, {})))[:20]
                for tp, o in self.frames.items() if o - set(self.accounted.get(tp, {}))}

    def duplicated(self) -> dict[TP, list[int]]:
        return {tp: sorted(o for o, n in c.items() if n > 1)[:20]
                for tp, c in self.accounted.items() if any(n > 1 for n in c.values())}

    def balanced(self) -> bool:
        """Results + drops + dead letters = frames, with no frame twice."""
        total = sum(len(o) for o in self.frames.values())
        added_up = self.results + self.dropped + self.dead == total
        return added_up and not self.missing() and not self.duplicated()


def ledger(bootstrap: str, prefix: str, streams: list[str]) -> Ledger:
    """Read every frames, results, drops and dead-letter topic of ``streams`` to its end."""
    topics = Topics(prefix)
    frames_topics = {topics.frames(s) for s in streams}
    book = Ledger()
    for topic, partition, offset, _ in read_topics(bootstrap, sorted(frames_topics)):
        book.frames.setdefault((topic, partition), set()).add(offset)

    def account(tp: TP, offset: int) -> None:
        book.accounted.setdefault(tp, Counter())[offset] += 1

    for _, _, _, value in read_topics(bootstrap, [topics.results(s) for s in streams]):
        r = DetectionResult.FromString(value)
        account((r.source_topic, r.source_partition), r.source_offset)
        book.results += 1
    for topic, _, _, value in read_topics(bootstrap, [topics.drops, topics.dlq]):
        if topic == topics.drops:
            d = DropRecord.FromString(value)
            if d.topic in frames_topics:  # gateway drops never reached a frames topic
                for offset in range(d.first_offset, d.last_offset + 1):
                    account((d.topic, d.partition), offset)
                book.dropped += d.last_offset - d.first_offset + 1
        else:
            dl = DeadLetter.FromString(value)
            if dl.original_topic in frames_topics:
                account((dl.original_topic, dl.original_partition), dl.original_offset)
                book.dead += 1
    return book


def wait_balanced(bootstrap: str, prefix: str, streams: list[str], timeout_s: float) -> Ledger:
    """The ledger once it balances (workers catching up), or the last one after the bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        book = ledger(bootstrap, prefix, streams)
        if book.balanced() or time.monotonic() > deadline:
            return book
        time.sleep(3)
