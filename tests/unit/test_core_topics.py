import pytest

from framewire.core.errors import InvalidStreamIdError
from framewire.core.topics import STREAM_ID_MAX_LEN, Topics, validate_stream_id

pytestmark = pytest.mark.unit


def test_per_stream_topic_names_use_the_prefix():
    # Given the default and a custom prefix
    default, custom = Topics(), Topics("acme.")
    # When naming a stream's topics
    # Then the prefix and kind lead the name
    assert default.frames("cam-1") == "fw.frames.cam-1"
    assert default.results("cam-1") == "fw.results.cam-1"
    assert custom.frames("cam_2") == "acme.frames.cam_2"
    assert (default.streams, default.stats, default.drops, default.dlq) == (
        "fw.streams", "fw.stats", "fw.drops", "fw.dlq",
    )


@pytest.mark.parametrize(
    "bad", ["", "has space", "dot.ted", "-leading", "slash/y", "ü", "x" * (STREAM_ID_MAX_LEN + 1)]
)
def test_invalid_stream_ids_are_refused_with_a_reason(bad):
    # Given an id that would make an illegal or ambiguous topic name
    # When it is validated
    # Then a clear error says what is wrong
    with pytest.raises(InvalidStreamIdError) as info:
        Topics().frames(bad)
    assert "stream id" in str(info.value)


def test_longest_legal_stream_id_is_accepted():
    stream = "a" * STREAM_ID_MAX_LEN
    assert validate_stream_id(stream) == stream


def test_frames_pattern_matches_only_frame_topics():
    import re

    topics = Topics("fw.")
    pattern = re.compile(topics.frames_pattern)
    assert pattern.match("fw.frames.cam-1")
    assert not pattern.match("fw.results.cam-1")
    assert not pattern.match("fwxframes.cam")
    assert topics.stream_of("fw.results.cam-9") == "cam-9"
    assert topics.stream_of("fw.stats") is None


def test_illegal_prefix_is_refused():
    with pytest.raises(InvalidStreamIdError):
        Topics("bad prefix")
