"""The committed generated code matches the .proto files, and old messages stay readable."""

import filecmp
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from framewire.core.codec import Frame, decode

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_regenerating_the_schemas_changes_nothing(tmp_path):
    # Given the committed generated modules
    pytest.importorskip("grpc_tools", reason="grpcio-tools is in the dev extra")
    # When they are regenerated into a scratch folder
    subprocess.run(["bash", str(REPO / "scripts/gen_schemas.sh"), str(tmp_path)], check=True)
    # Then every file is byte-identical
    committed = REPO / "services/framewire/v1"
    fresh = tmp_path / "framewire/v1"
    names = sorted(p.name for p in fresh.iterdir() if p.suffix in {".py", ".pyi"})
    assert names, "protoc produced nothing"
    _same, mismatch, errors = filecmp.cmpfiles(committed, fresh, names, shallow=False)
    assert mismatch == [] and errors == []


def _old_frame_class():
    """Frame as version 1 of the schema first shipped it: fields 1..10 only."""
    fdp = descriptor_pb2.FileDescriptorProto(name="old/frame.proto", package="old", syntax="proto3")
    msg = fdp.message_type.add(name="Frame")
    fields = [("schema_version", 1, 13), ("stream_id", 2, 9), ("sequence", 3, 4),
              ("capture_time_ns", 4, 3), ("data", 10, 12)]
    for name, number, ftype in fields:
        msg.field.add(name=name, number=number, type=ftype, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("old.Frame"))


def test_message_from_an_older_schema_still_decodes():
    # Given a Frame written by an older writer that lacks the newer fields
    old = _old_frame_class()(schema_version=1, stream_id="cam", sequence=5, capture_time_ns=9,
                             data=b"jpeg")
    # When today's reader decodes it
    frame = decode(Frame, old.SerializeToString())
    # Then the old fields are kept and the added ones take their defaults
    assert (frame.stream_id, frame.sequence, frame.data) == ("cam", 5, b"jpeg")
    assert frame.trace_id == "" and frame.width == 0


def test_newer_message_with_unknown_fields_decodes_for_an_older_reader():
    # Given a message carrying a field this reader does not know (number 99)
    payload = Frame(schema_version=1, stream_id="cam").SerializeToString() + b"\x98\x06\x01"
    # When decoded
    frame = decode(Frame, payload)
    # Then the known fields are intact
    assert frame.stream_id == "cam"
