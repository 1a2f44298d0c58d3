"""``framewire tail`` on a frames topic holding a frame twice (console-consumer lines, no Kafka)."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from framewire.replay import tail
from framewire.v1.frame_pb2 import Frame

pytestmark = pytest.mark.unit


def console_line(offset: int, sequence: int) -> str:
    value = Frame(stream_id="cam", sequence=sequence, capture_time_ns=5_000 + sequence,
                  data=b"\xff\xd8jpeg").SerializeToString()
    escaped = "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in value)
    return f"Partition:0\tOffset:{offset}\tcam\t{escaped}\n"


def run_tail(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[list[int], str]:
    lines = "".join(console_line(o, s) for o, s in enumerate([33, 34, 33, 34, 35]))
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    monkeypatch.delenv("FW_KAFKA_TOPIC_PREFIX", raising=False)
    parser = argparse.ArgumentParser()
    tail.add_arguments(parser)
    assert tail.run(parser.parse_args(["fw.frames.cam", "--stdin", *extra])) == 0
    out, err = capsys.readouterr()
    return [int(json.loads(line)["value"]["sequence"]) for line in out.splitlines()], err


def test_tail_prints_each_frame_once_and_says_how_many_copies_it_skipped(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given console lines of frames 33, 34, a copy of both, then 35
    # When tail decodes them
    sequences, err = run_tail(monkeypatch, capsys)
    # Then every frame is printed once and the copies are counted on stderr
    assert sequences == [33, 34, 35]
    assert "skipped 2 frame record(s)" in err


def test_tail_keeps_copies_when_asked(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the same lines; when tail runs with --keep-duplicates
    sequences, err = run_tail(monkeypatch, capsys, "--keep-duplicates")
    # Then every record is printed as it is in the topic
    assert sequences == [33, 34, 33, 34, 35]
    assert err == ""
