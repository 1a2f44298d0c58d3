import pytest

from framewire.core.records import Box, Detection
from framewire.replay.agreement import compare, fold_case, match_frame
from framewire.replay.tail import console_line_fields
from framewire.replay.wire import message_type, unescape_console_bytes

pytestmark = pytest.mark.unit


def det(label: str, x: float, score: float = 0.9) -> Detection:
    return Detection(0, label, score, Box(x, 0.1, x + 0.2, 0.5))


def test_known_case_gives_known_precision_and_recall():
    # Given A (reference) and B on three frames:
    #   f1: A has Person, Cat; B finds Person (same box) and Cat far away
    #   f2: A has Person; B finds Person shifted slightly (IoU 0.6) and a Dog A lacks
    #   f3: only A has it
    a = {
        ("t", 0, 1): [det("Person", 0.1), det("Cat", 0.5)],
        ("t", 0, 2): [det("Person", 0.1)],
        ("t", 0, 3): [det("Person", 0.1)],
    }
    b = {
        ("t", 0, 1): [det("Person", 0.1), det("Cat", 0.75)],
        ("t", 0, 2): [det("Person", 0.15), det("Dog", 0.6)],
    }
    # When compared at IoU 0.5
    result = compare(a, b, iou=0.5)
    # Then Person matches twice of 2 in B / 2 in A on shared frames, Cat never, Dog is extra
    assert result.frames_compared == 2 and result.only_in_a == 1 and result.only_in_b == 0
    person, cat, dog = (result.per_class[k] for k in ("Person", "Cat", "Dog"))
    assert (person.count_a, person.count_b, person.matched) == (2, 2, 2)
    assert (cat.count_a, cat.count_b, cat.matched) == (1, 1, 0)
    assert (dog.count_a, dog.count_b, dog.recall, dog.precision) == (0, 1, None, 0.0)
    total = result.total()
    assert total.precision == pytest.approx(2 / 4)
    assert total.recall == pytest.approx(2 / 3)


def test_one_reference_box_matches_only_once():
    a = [det("Person", 0.1)]
    b = [det("Person", 0.1, 0.9), det("Person", 0.11, 0.8)]
    assert match_frame(a, b, 0.5)["Person"] == 1


def test_labels_must_agree():
    assert match_frame([det("Cat", 0.1)], [det("Dog", 0.1)], 0.5) == {}


def test_console_bytes_unescape_round_trip():
    # Given bytes escaped as Kafka's BytesDeserializer prints them
    raw = bytes(range(256))
    escaped = "".join(chr(b) if 32 <= b <= 126 and b != 92 else f"\\x{b:02X}" for b in raw)
    # Then unescaping restores them exactly
    assert unescape_console_bytes(escaped) == raw


def test_console_line_fields():
    fields = console_line_fields("CreateTime:17\tPartition:0\tOffset:4\tcam-1\tabc\\x00")
    assert fields == {
        "createtime": "17",
        "partition": "0",
        "offset": "4",
        "key": "cam-1",
        "value": "abc\\x00",
    }


def test_unknown_topic_kind_is_refused():
    with pytest.raises(ValueError, match="not a framewire topic"):
        message_type("fw.nonsense", "fw.")
    with pytest.raises(ValueError, match="prefix"):
        message_type("other.frames.x", "fw.")


def test_labels_spelled_differently_match_when_case_is_folded():
    # Given a model saying "Person" (A) and another saying "person" (B) for the same box
    a = {("t", 0, 1): [det("Person", 0.1)]}
    b = {("t", 0, 1): [det("person", 0.1)]}
    # When compared as they are, and with case folded
    plain, folded = compare(a, b), compare(fold_case(a), fold_case(b))
    # Then only the folded comparison matches them
    assert plain.total().matched == 0
    assert (folded.per_class["person"].matched, folded.total().precision) == (1, 1.0)
