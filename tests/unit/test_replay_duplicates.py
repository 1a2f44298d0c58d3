"""Replay and compare read a frame that is in its topic twice once, and say how many copies
they skipped (no broker: the records are built as the history reader delivers them)."""

from __future__ import annotations

from framewire.core.codec import encode
from framewire.models.perframe.records import Coords, FrameItem, Inbound
from framewire.models.perframe.wire import read_frame
from framewire.replay.command import format_summary
from framewire.replay.compare import ResultsByFrame, copies_line
from framewire.replay.run import FrameFilter, ReplaySummary
from framewire.replay.window import TimeWindow
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame

TOPIC = "fw.frames.cam"
T0_NS = 1_764_000_000_000_000_000


def frame_record(offset: int, sequence: int, capture_ns: int) -> FrameItem:
    value = encode(Frame(stream_id="cam", sequence=sequence, capture_time_ns=capture_ns,
                         width=4, height=4, encoding=Frame.ENCODING_JPEG, data=b"\xff\xd8"))
    item = read_frame(Inbound(Coords(TOPIC, 0, offset), b"cam", value, (), capture_ns // 10**6),
                      "cam")
    assert isinstance(item, FrameItem)
    return item


def test_a_frame_copy_is_not_replayed_and_is_counted():
    # Given frames 0..4, a copy of frame 2 written again at offset 5 (a producer resend),
    # and a restarted stream whose sequence starts again at 0 (a new capture time)
    records = [frame_record(o, o, T0_NS + o * 10**8) for o in range(5)]
    records.append(frame_record(5, 2, T0_NS + 2 * 10**8))
    records.append(frame_record(6, 0, T0_NS + 9 * 10**8))
    # And an output that already holds the result of offset 1
    gate = FrameFilter(done={(0, 1)})
    # When the replay filters them in order
    wanted = [r.coords.offset for r in records if gate.wanted(r)]
    # Then the copy and the frame already done are skipped, the restarted stream's frame is not
    assert wanted == [0, 2, 3, 4, 6]
    assert gate.copies == 1
    assert gate.already == 1


def test_the_replay_summary_says_how_many_copies_were_skipped():
    summary = ReplaySummary(
        stream="cam", model_id="m", model_version="1", output="fw.results.cam.m-1", frames=7,
        results=5, already=1, rejected={}, missing=0, seconds=1.0, setup_seconds=0.5,
        recorded_seconds=0.7, copies=1,
    )
    text = format_summary(summary, TimeWindow(1_764_000_000_000, 1_764_000_001_000))
    assert "copies   1 frame(s) in the topic twice" in text


def result(offset: int, sequence: int, capture_ns: int, label: str) -> DetectionResult:
    r = DetectionResult(stream_id="cam", source_topic=TOPIC, source_partition=0,
                        source_offset=offset, frame_sequence=sequence, capture_time_ns=capture_ns)
    d = r.detections.add(class_id=1, label=label, score=0.9)
    d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax = 0.1, 0.1, 0.5, 0.5
    return r


def test_compare_counts_the_result_of_a_frame_copy_once():
    # Given a result topic holding the results of frames at offsets 0..2, the result of a
    # copy of frame 1 (offset 3), and frame 2's result published twice (the last one wins)
    loaded = ResultsByFrame()
    for r in (result(0, 0, T0_NS, "cat"), result(1, 1, T0_NS + 1, "cat"),
              result(2, 2, T0_NS + 2, "cat"), result(3, 1, T0_NS + 1, "cat"),
              result(2, 2, T0_NS + 2, "dog")):
        loaded.add(r)
    # Then the copy is left out and counted, and the republished result is not a copy
    assert sorted(offset for _, _, offset in loaded.frames) == [0, 1, 2]
    assert [d.label for d in loaded.frames[(TOPIC, 0, 2)]] == ["dog"]
    assert loaded.copies == 1
    assert copies_line(loaded.copies, 0).endswith("A 1, B 0\n")
