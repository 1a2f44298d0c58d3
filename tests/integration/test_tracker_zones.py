"""Zone and line events from the tracking stage on the real broker: each event once, in the
transaction of the tracks it came from, the watcher's state saved with the tracker's, and a
second run over the same history giving the same tracks and events (replay determinism)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Producer

from framewire.core.config import KafkaSettings
from framewire.core.kafka import producer_config
from framewire.tracker.service import run_stage
from framewire.tracker.settings import StartFrom, TrackerSettings
from framewire.v1.tracks_pb2 import TrackedResult, TrackerState, ZoneEvent
from support.inference import TopicReader, create_streams
from support.tracker import ResultFeed
from support.zones import key_of, reference_events, register_zones

pytestmark = pytest.mark.integration

FRAMES = 400


def unique(name: str) -> str:
    """A stream or group of this run alone (a rerun on the same broker starts clean)."""
    return f"{name}{time.time_ns() // 1_000_000 % 10**9}"


def run_over(kafka: KafkaSettings, stream: str, group: str, want_tracks: int) -> tuple[list, list]:
    """Run a stage of its own group from the earliest results until ``want_tracks`` tracked
    results of ``stream`` are committed; its tracks and events of ``stream``."""
    settings = TrackerSettings(kafka=kafka, tracker_id=f"{group}-1", group_id=group, http_port=-1,
                               start_from=StartFrom.EARLIEST, poll_timeout_s=0.2)
    stop = threading.Event()
    stage = threading.Thread(target=run_stage, args=(settings, stop), daemon=True)
    topics = kafka.topics
    tracks = TopicReader(kafka, [topics.tracks(stream)], TrackedResult)
    events = TopicReader(kafka, [topics.events], ZoneEvent)
    stage.start()
    mine = [t for t in tracks.read_until(
        lambda items: sum(t.tracker_id == settings.tracker_id for t in items) >= want_tracks, 90)
        if t.tracker_id == settings.tracker_id]
    stop.set()
    stage.join(30)
    events.settle(1.0)
    tracks.close()
    events.close()
    return mine, [e for e in events.items if e.stream_id == stream and e.tracker_id == settings.tracker_id]


def forget_state(kafka: KafkaSettings, stream: str) -> None:
    """A tombstone for the stream's tracker state: the next owner starts afresh."""
    producer = Producer(producer_config(kafka))
    producer.produce(kafka.topics.tracker_state, None, stream)
    producer.flush(30)


def test_events_come_once_each_in_the_transaction_of_their_tracks(kafka_settings: KafkaSettings) -> None:
    # Given a stream whose spec has a zone and a line, and results of walkers crossing both
    stream = unique("zonewalk")
    create_streams(kafka_settings, [stream])
    register_zones(kafka_settings, [stream])
    feed = ResultFeed(kafka_settings, [stream])
    feed.publish(FRAMES, per_s=2000.0)
    # When the stage runs over them
    tracks, events = run_over(kafka_settings, stream, unique("zones-it"), FRAMES)
    # Then the events are exactly those of an uninterrupted tracker and watcher, once each
    want = reference_events(stream, FRAMES, feed.t0_ns)
    assert {"enter", "leave", "cross", "dwell"} <= {k[1] for k in want}
    got = [key_of(e) for e in events]
    assert [k for k, n in Counter(got).items() if n > 1] == []
    assert sorted(got) == sorted(want)
    # And each names its frame and the label of its track
    by_offset = {t.source_offset: t for t in tracks}
    for e in events:
        assert e.frame_sequence == by_offset[e.source_offset].frame_sequence
        assert e.label in ("Person", "Car")
        assert e.direction in (("left_to_right", "right_to_left") if e.kind == ZoneEvent.CROSS else ("",))
    # And the state committed last carries where the tracks stand against the zones
    states = TopicReader(kafka_settings, [kafka_settings.topics.tracker_state], TrackerState)
    states.read_until(lambda items: any(s.stream_id == stream and s.next_source_offset == FRAMES
                                        for s in items), 10)
    states.close()
    last = [s for s in states.items if s.stream_id == stream][-1]
    assert last.next_source_offset == FRAMES and '"last_capture_ms"' in last.zone_watcher_json


def test_running_the_same_history_again_gives_the_same_tracks_and_events(
    kafka_settings: KafkaSettings,
) -> None:
    # Given a stream with zones, its results, and one run of the stage over all of them
    stream = unique("zonereplay")
    create_streams(kafka_settings, [stream])
    register_zones(kafka_settings, [stream])
    ResultFeed(kafka_settings, [stream]).publish(FRAMES, per_s=2000.0)
    first_tracks, first_events = run_over(kafka_settings, stream, unique("replay-a"), FRAMES)
    # When its state is forgotten and another group runs over the same history
    forget_state(kafka_settings, stream)
    again_tracks, again_events = run_over(kafka_settings, stream, unique("replay-b"), FRAMES)

    # Then both runs gave the same tracks, ids and boxes, and the same events
    def shape(t: TrackedResult) -> tuple:
        return t.source_offset, [(x.track_id, x.box.xmin, x.box.ymin, x.box.xmax, x.box.ymax)
                                 for x in t.tracks]

    assert [shape(t) for t in again_tracks] == [shape(t) for t in first_tracks]
    assert [key_of(e) for e in again_events] == [key_of(e) for e in first_events]
    assert len(first_events) >= 10
