"""The tracking stage SIGKILLed again and again under load: every result tracked exactly
once, every object keeps its id across the kills, and every zone and line event is committed
exactly once.

Synthetic results of two streams with three objects of known paths (one flickers) are
published at 60 per second per stream while ``framewire tracker`` is killed and started
again under the same tracker id. Afterwards the committed tracks are read back and checked
against an uninterrupted in-process run of the same tracker over the same results: the
same track ids on every result means the state restored after each kill was exactly the
state committed with the offsets; the same events (each once) means the zone watcher's
state was too.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings
from framewire.tracker.tracking import StreamTracker, TrackerConfig
from framewire.v1.tracks_pb2 import TrackedResult, ZoneEvent
from reliability.failover import machine
from reliability.procs import Service, kafka_env, wait_until
from support.inference import TopicReader, create_streams
from support.tracker import ResultFeed, detections, result_of
from support.zones import key_of, reference_events, register_zones

pytestmark = pytest.mark.reliability

STREAMS = ["trk0", "trk1"]


def taken_over(stage: Service) -> int:
    """How many times the stage's processes (one log) were given the streams."""
    return len(re.findall(r"INFO framewire\.tracker\.stage: assigned \S", stage.log_text()))


def tracker(kafka: KafkaSettings, log: Path, tracker_id: str = "trk-a") -> Service:
    env = {**kafka_env(kafka), "FW_TRACKER_TRACKER_ID": tracker_id, "FW_TRACKER_START_FROM": "earliest",
           "FW_TRACKER_HTTP_PORT": "-1", "FW_TRACKER_POLL_TIMEOUT_S": "0.2"}
    return Service("tracker", ["tracker"], env, log).start()


def per_stream(tracks: list[TrackedResult]) -> Counter[str]:
    return Counter(t.stream_id for t in tracks)


def grew_each(tracks: list[TrackedResult], before: Counter[str], by: int) -> bool:
    """Whether every stream has at least ``by`` more committed tracks than ``before``."""
    now = per_stream(tracks)
    return all(now[s] >= before[s] + by for s in STREAMS)


def reference(stream: str, frames: int, t0_ns: int) -> dict[int, list[tuple[int, tuple[float, ...]]]]:
    """Track ids and boxes per frame from one uninterrupted tracker over the same results."""
    t = StreamTracker(stream, TrackerConfig())
    out = {}
    for f in range(frames):
        r = result_of(stream, f, t0_ns)
        dets = [d for _, d in detections(f)]
        objs = t.update(dets, r.capture_time_ns)
        out[f] = [(o.track_id, (o.box.xmin, o.box.ymin, o.box.xmax, o.box.ymax)) for o in objs]
    return out


def read_back(kafka: KafkaSettings, streams: list[str], frames: int,
              timeout_s: float) -> tuple[list[TrackedResult], list[ZoneEvent]]:
    """Every committed track of ``streams`` (until each frame has one, or ``timeout_s``) and
    every committed zone event, both read until quiet so that late copies would show."""
    reader = TopicReader(kafka, [kafka.topics.tracks(s) for s in streams], TrackedResult)
    reader.read_until(lambda items: len(items) >= frames * len(streams), timeout_s)
    reader.settle(2.0)
    reader.close()
    events = TopicReader(kafka, [kafka.topics.events], ZoneEvent)
    events.settle(2.0)
    events.close()
    return reader.items, events.items


def check_against_reference(kafka: KafkaSettings, streams: list[str], frames: int, t0_ns: int,
                            got: list[TrackedResult], events: list[ZoneEvent]) -> None:
    """Each result tracked once with an uninterrupted tracker's ids, and its events once."""
    for s in streams:
        mine = [t for t in got if t.stream_id == s]
        offsets = Counter(t.source_offset for t in mine)
        assert sorted(offsets) == list(range(frames)) and max(offsets.values()) == 1, s
        want = reference(s, frames, t0_ns)
        for t in mine:
            ids = [x.track_id for x in t.tracks]
            assert ids == [i for i, _ in want[t.source_offset]], (s, t.source_offset)
        have_events = Counter(key_of(e) for e in events if e.stream_id == s)
        assert have_events == Counter(reference_events(s, frames, t0_ns)), s


def test_streams_moving_between_trackers_keep_their_ids_and_events(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given four streams with a zone and a line, results arriving, and one tracking stage
    streams = [f"mv{i}" for i in range(4)]
    create_streams(kafka_settings, streams)
    register_zones(kafka_settings, streams)
    feed = ResultFeed(kafka_settings, streams)
    frames = 1500
    publisher = threading.Thread(target=feed.publish, args=(frames, 60.0), daemon=True)
    first = tracker(kafka_settings, tmp_path / "a.log", "mv-a")
    publisher.start()
    assert wait_until(lambda: taken_over(first) > 0, 60), first.log_digest()
    time.sleep(3.0)
    # When a second stage joins (the streams are split between them), the first leaves
    # (SIGTERM: it hands over), and comes back (they are split again)
    second = tracker(kafka_settings, tmp_path / "b.log", "mv-b")
    assert wait_until(lambda: taken_over(second) > 0, 60), second.log_digest()
    time.sleep(3.0)
    assert first.stop() == 0, first.log_digest()
    time.sleep(3.0)
    first = tracker(kafka_settings, tmp_path / "a2.log", "mv-a")
    assert wait_until(lambda: taken_over(first) > 0, 60), first.log_digest()
    publisher.join(120)
    got, events = read_back(kafka_settings, streams, frames, 120)
    codes = first.stop(), second.stop()
    # Then every result was tracked once with the ids of an uninterrupted tracker, and every
    # zone and line event was committed once, whichever stage owned the stream at the time
    check_against_reference(kafka_settings, streams, frames, feed.t0_ns, got, events)
    assert codes == (0, 0)
    # And the streams really moved: both stages were given streams, the second more than once
    assert taken_over(second) >= 2, second.log_digest()
    print(f"RELIABILITY tracker rebalances results={frames * len(streams)} "
          f"events={sum(e.stream_id in streams for e in events)} ({machine()})")


@pytest.mark.parametrize("kills", [3, pytest.param(20, marks=[pytest.mark.slow, pytest.mark.timeout(900)])])
def test_a_killed_tracker_loses_duplicates_and_renumbers_nothing(
    kafka_settings: KafkaSettings, tmp_path: Path, kills: int
) -> None:
    # Given two streams with a zone and a line, their results and a tracking stage
    create_streams(kafka_settings, STREAMS)
    register_zones(kafka_settings, STREAMS)
    feed = ResultFeed(kafka_settings, STREAMS)
    frames = 300 + kills * 600
    log = tmp_path / "tracker.log"
    publisher = threading.Thread(target=feed.publish, args=(frames, 60.0), daemon=True)
    stage = tracker(kafka_settings, log)
    publisher.start()
    # When it is SIGKILLed and restarted under the same id, again and again, each time a
    # moment after it took its streams over and committed tracks of its own, while results
    # keep coming
    progress = TopicReader(kafka_settings, [kafka_settings.topics.tracks(s) for s in STREAMS],
                           TrackedResult)
    before = per_stream([])
    for i in range(kills):
        running = stage
        assert wait_until(lambda s=running, n=i: taken_over(s) > n, 60), running.log_digest()
        # Each stream's own progress: a loaded stage can commit one stream's tracks well
        # before the other's, and a kill before that leaves the other nothing to resume.
        progress.read_until(lambda items, b=before: grew_each(items, b, 20), 60)
        assert grew_each(progress.items, before, 20), running.log_digest()
        time.sleep(0.4 + (i % 4) * 0.5)
        stage.kill()
        # With no stage running, everything committed so far is in once the reader is quiet.
        before = per_stream(progress.settle(0.5))
        stage = tracker(kafka_settings, log)
    progress.close()
    publisher.join(600)
    got, events = read_back(kafka_settings, STREAMS, frames, 180)
    code = stage.stop()
    # Then every result was tracked exactly once
    for s in STREAMS:
        offsets = Counter(t.source_offset for t in got if t.stream_id == s)
        missing = [o for o in range(frames) if offsets[o] == 0]
        doubled = [o for o, n in offsets.items() if n > 1]
        assert not missing and not doubled, f"{s}: {len(missing)} missing, {len(doubled)} twice"
    # And with the ids and boxes an uninterrupted tracker gives
    for s in STREAMS:
        want = reference(s, frames, feed.t0_ns)
        for t in (t for t in got if t.stream_id == s):
            have = [(x.track_id, (x.box.xmin, x.box.ymin, x.box.xmax, x.box.ymax)) for x in t.tracks]
            assert [i for i, _ in have] == [i for i, _ in want[t.source_offset]], (s, t.source_offset)
            for (_, a), (_, b) in zip(have, want[t.source_offset], strict=True):
                assert a == pytest.approx(b, abs=1e-6)
    # And every zone and line event an uninterrupted run gives was committed, once
    for s in STREAMS:
        want = Counter(reference_events(s, frames, feed.t0_ns))
        have = Counter(key_of(e) for e in events if e.stream_id == s)
        assert len(want) >= 10 and max(have.values(), default=0) == 1, (s, have.most_common(3))
        assert have == want, (s, sorted((want - have).elements())[:5], sorted((have - want).elements())[:5])
    # And each object kept one id for the whole run (three objects, three ids per stream)
    for s in STREAMS:
        ids = {x.track_id for t in got if t.stream_id == s for x in t.tracks}
        assert ids == {1, 2, 3}, (s, ids)
    assert code == 0, stage.log_digest()
    # And the kills hit a running stage: each restart resumed from committed state
    resumed = [int(m) for m in re.findall(r"trk0\[0\]@(-?\d+)", stage.log_text())]
    assert len(resumed) >= kills + 1 and all(r > 0 for r in resumed[1:]), resumed
    print(f"RELIABILITY tracker kills={kills} results={frames * len(STREAMS)} "
          f"events={sum(e.stream_id in STREAMS for e in events)} "
          f"resumed_at_offsets={resumed[1:]} ({machine()})")

