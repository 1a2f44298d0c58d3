"""The Kafka boundary: results and drops become observations, anything else a DeadLetter."""

import pytest

from framewire.aggregator.ingest import (
    InvalidMessageError,
    RawMessage,
    dead_letter,
    error_kind,
    observe,
)
from framewire.aggregator.observations import DropSeen, ResultSeen
from framewire.core.codec import DeadLetter, DropRecord, decode, encode
from framewire.core.errors import DecodeError
from framewire.core.topics import Topics
from support.aggregator import drop_bytes, result_bytes

pytestmark = pytest.mark.unit

TOPICS = Topics("fw.")


def raw(topic: str, value: bytes | None, offset: int = 7) -> RawMessage:
    return RawMessage(topic, 0, offset, b"cam1", value, 1_700_000_000.5, [("trace", b"abc")])


def test_result_becomes_an_observation_with_latency_and_counts():
    # Given a result with two persons and an unlabelled detection, 40 ms after capture
    value = result_bytes("cam1", 1, 1_700_000_000_000, 40, ["person", "person", ""])
    # When observed, then capture time, latency and per-label counts are kept
    obs = observe(raw("fw.results.cam1", value), TOPICS)
    assert obs == ResultSeen("cam1", 1_700_000_000_000, pytest.approx(0.04), {"person": 2, "class_0": 1})


def test_drop_record_becomes_an_observation_and_unknown_reasons_survive():
    # Given a known and a future drop reason
    known = observe(raw("fw.drops", drop_bytes("cam1", 5000, "REASON_STALE", 3)), TOPICS)
    future = DropRecord(stream_id="cam1", time_ns=5_000_000_000, count=2)
    future.reason = 42  # type: ignore[assignment]
    unknown = observe(raw("fw.drops", encode(future)), TOPICS)
    # Then both are counted, the newer one under a generic name
    assert known == DropSeen("cam1", 5000, "stale", 3)
    assert unknown == DropSeen("cam1", 5000, "reason_42", 2)


@pytest.mark.parametrize(
    ("topic", "value", "kind", "message"),
    [
        ("fw.results.cam1", b"\xff\xfe\x00garbage", "decode_error", "undecodable DetectionResult"),
        ("fw.results.cam1", None, "decode_error", "tombstone"),
        ("fw.results.cam1", result_bytes("cam2", 1, 1000, 1), "invalid_message", "another stream's topic"),
        ("fw.results.cam1", result_bytes("bad.id", 1, 1000, 1), "invalid_message", "bad stream id"),
        ("fw.results.cam1", result_bytes("cam1", 1, 0, 1), "invalid_message", "without capture time"),
        ("fw.drops", drop_bytes("cam1", 0, "REASON_STALE", 1), "invalid_message", "without count or time"),
    ],
)
def test_malformed_records_raise_with_coordinates_and_become_dead_letters(topic, value, kind, message):
    # Given a malformed record at offset 7
    record = raw(topic, value)
    # When observed, then the error says what and where
    with pytest.raises(DecodeError) as caught:
        observe(record, TOPICS)
    assert message in str(caught.value) and f"{topic}[0]@7" in str(caught.value)
    assert error_kind(caught.value) == kind
    # And its DeadLetter keeps coordinates, key, headers and the original value
    letter = decode(DeadLetter, dead_letter(record, caught.value, value_max_bytes=1024))
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (topic, 0, 7)
    assert letter.original_key == b"cam1" and letter.error_kind == kind
    assert [(h.key, h.value) for h in letter.original_headers] == [("trace", b"abc")]
    assert letter.original_value == (value or b"")


def test_large_values_are_not_copied_into_the_dead_letter():
    # Given a big undecodable value and a 16-byte limit, then only its coordinates are kept
    record = raw("fw.results.cam1", b"\xff" * 100)
    with pytest.raises(DecodeError) as caught:
        observe(record, TOPICS)
    letter = decode(DeadLetter, dead_letter(record, caught.value, value_max_bytes=16))
    assert letter.original_value == b"" and letter.original_offset == 7


def test_unexpected_failures_are_invalid_messages_not_crashes(monkeypatch):
    # Given a decoder bug, when a record is observed, then it is an InvalidMessageError
    import framewire.aggregator.ingest as ingest

    monkeypatch.setattr(ingest, "_observe", lambda raw, topics: 1 / 0)
    with pytest.raises(InvalidMessageError, match="unexpected ZeroDivisionError"):
        observe(raw("fw.results.cam1", b""), TOPICS)
    assert error_kind(RuntimeError("x")) == "internal_error"
