"""The tracking stage on the real broker: tracks for every result, and a malformed result
dead-lettered without stopping the stream."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings
from framewire.tracker.service import run_stage
from framewire.tracker.settings import StartFrom, TrackerSettings
from framewire.v1.ops_pb2 import DeadLetter
from framewire.v1.tracks_pb2 import TrackedResult, TrackerState
from support.inference import TopicReader, create_streams
from support.tracker import WALKERS, ResultFeed

pytestmark = pytest.mark.integration


def test_every_result_gets_its_tracks_and_a_bad_one_is_dead_lettered(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given a stream with results of three walking objects, one of them unreadable
    create_streams(kafka_settings, ["walk"])
    feed = ResultFeed(kafka_settings, ["walk"])
    feed.publish(40, per_s=400.0)
    feed.publish_raw("walk", b"\x0a\xff not a detection result")
    feed.publish(40, per_s=400.0)
    settings = TrackerSettings(kafka=kafka_settings, tracker_id="it-1", http_port=-1,
                               start_from=StartFrom.EARLIEST, poll_timeout_s=0.2)
    stop = threading.Event()
    stage = threading.Thread(target=run_stage, args=(settings, stop), daemon=True)
    # When the stage runs over them
    stage.start()
    topics = kafka_settings.topics
    tracks = TopicReader(kafka_settings, [topics.tracks("walk")], TrackedResult)
    tracks.read_until(lambda items: len(items) >= 80, 60)
    letters = TopicReader(kafka_settings, [topics.dlq], DeadLetter)
    letters.read_until(lambda items: any(d.service == "tracker" for d in items), 30)
    stop.set()
    stage.join(30)
    tracks.close()
    letters.close()
    # Then each readable result has its tracks, in order, with one id per object
    assert [t.source_offset for t in tracks.items] == [*range(40), *range(41, 81)]
    assert {x.track_id for t in tracks.items for x in t.tracks} == set(range(1, len(WALKERS) + 1))
    assert all(len(t.tracks) >= 2 for t in tracks.items)
    # And the unreadable one was dead-lettered with its coordinates, not skipped silently
    letter = next(d for d in letters.items if d.service == "tracker")
    assert (letter.original_topic, letter.original_offset) == (topics.results("walk"), 40)
    assert letter.error_kind == "decode_error"
    # And the state committed with the offsets says where the stream is
    states = TopicReader(kafka_settings, [topics.tracker_state], TrackerState)
    states.read_until(lambda items: any(s.next_source_offset == 81 for s in items), 10)
    states.close()
    assert states.items[-1].stream_id == "walk" and states.items[-1].next_source_offset == 81
    assert states.items[-1].next_track_id == len(WALKERS) + 1

