"""The topic catalogue: names, payloads and configs of every kind of framewire topic."""

from __future__ import annotations

import json

import pytest

from framewire.aggregator.stats import WindowStats as MeasuredWindow
from framewire.aggregator.topology import result_topics
from framewire.aggregator.windows import Pane
from framewire.core import statsformat
from framewire.core.admin import TopicPolicy, fixed_topics, stream_topics
from framewire.core.catalog import CATALOG, Cleanup, classify
from framewire.core.codec import decode_value, encode
from framewire.core.errors import DecodeError
from framewire.core.topics import TopicKind, Topics
from framewire.dashboard import wire as dashboard_wire
from framewire.replay.wire import message_type

TOPICS = Topics("fw.")


def name_of(kind: TopicKind) -> str:
    return TOPICS.name(kind, "cam-1" if CATALOG[kind].per_stream else None)


def test_every_kind_has_an_entry():
    assert set(CATALOG) == set(TopicKind)
    for kind, entry in CATALOG.items():
        assert entry.kind is kind
        assert (entry.payload is None) != (entry.json_schema is None), kind


@pytest.mark.parametrize("kind", list(TopicKind))
def test_every_kind_round_trips_name_to_kind(kind):
    # Given the name the catalogue gives a topic of this kind
    name = name_of(kind)
    # When the name is classified
    found = classify(TOPICS, name)
    # Then it is the same kind, with the stream id for per-stream kinds
    assert found is not None
    assert found[0].kind is kind
    assert found[1] == ("cam-1" if CATALOG[kind].per_stream else None)
    assert name == CATALOG[kind].pattern.replace("<prefix>", "fw.").replace("<stream>", "cam-1")


@pytest.mark.parametrize("kind", [k for k in TopicKind if CATALOG[k].payload is not None])
def test_every_protobuf_payload_decodes_by_kind(kind):
    # Given a message of the kind's payload class, encoded as services encode it
    message = CATALOG[kind].payload()
    message.ParseFromString(b"")
    payload = encode(message)
    # When it is decoded by the topic's kind
    decoded = decode_value(kind, payload, topic=name_of(kind), partition=0, offset=3)
    # Then it is that class with the schema version stamped
    assert type(decoded) is CATALOG[kind].payload
    assert decoded.schema_version == 1


def test_json_kinds_decode_to_documents_and_refuse_other_bytes():
    stats = MeasuredWindow("cam-1", statsformat.WindowKind.TUMBLING, 0, 10_000, Pane(0)).to_json()
    assert decode_value(TopicKind.STATS, json.dumps(stats).encode()) == stats
    with pytest.raises(DecodeError, match=r"fw.alerts\[0\]@7"):
        decode_value(TopicKind.ALERTS, b"\x08\x01", topic="fw.alerts", partition=0, offset=7)


def test_tombstones_only_where_the_catalogue_allows_them():
    assert decode_value(TopicKind.STREAMS, None) is None
    assert {k for k, e in CATALOG.items() if e.tombstones} == {
        k for k, e in CATALOG.items() if e.cleanup is Cleanup.COMPACT
    }
    with pytest.raises(DecodeError, match="tombstone"):
        decode_value(TopicKind.RESULTS, None)


def test_names_that_are_not_ours_are_not_classified():
    for name in ("fw.nonsense", "other.frames.cam", "fw.frames.a.b", "fw.streams.x", "fw.frames."):
        assert classify(TOPICS, name) is None, name


def test_a_replay_output_is_a_results_topic_only_when_asked():
    name = "fw.results.cam-1.ssdlite-1"
    assert classify(TOPICS, name) is None
    found = classify(TOPICS, name, replay_outputs=True)
    assert found is not None and found[0].kind is TopicKind.RESULTS and found[1] == "cam-1"
    assert classify(TOPICS, "fw.results.cam-1.", replay_outputs=True) is None


def test_the_dead_letter_topic_is_known_everywhere():
    # ensure_topics creates it, with room for the frame it carries
    specs = {s.name: s for s in fixed_topics(TOPICS, TopicPolicy())}
    assert "fw.dlq" in specs
    assert int(specs["fw.dlq"].config["max.message.bytes"]) > TopicPolicy().max_message_bytes
    # tail and compare decode it
    assert message_type("fw.dlq", "fw.") is CATALOG[TopicKind.DLQ].payload
    # the dashboard knows it and chooses not to read it
    assert classify(TOPICS, "fw.dlq") is not None
    assert TopicKind.DLQ not in dashboard_wire.READ_KINDS
    assert dashboard_wire.classify(TOPICS, "fw.dlq") is None
    # read_committed: inference writes it in transactions
    assert CATALOG[TopicKind.DLQ].read_committed


def test_topic_specs_come_from_the_catalogue():
    policy = TopicPolicy(frames_retention_ms=120_000, results_retention_ms=3_600_000)
    fixed = [s.name for s in fixed_topics(TOPICS, policy)]
    assert fixed == [name_of(k) for k, e in CATALOG.items() if not e.per_stream]
    frames, results, tracks = stream_topics(TOPICS, "cam-1", policy)
    assert frames.config["retention.ms"] == "120000" and frames.config["segment.ms"] == "120000"
    assert results.config["retention.ms"] == "3600000"
    assert tracks.name == "fw.tracks.cam-1" and tracks.config["retention.ms"] == "3600000"
    compacted = [s for s in fixed_topics(TOPICS, policy) if s.config.get("cleanup.policy") == "compact"]
    assert {s.name for s in compacted} == {"fw.streams", "fw.status", "fw.tracker-state"}


def test_the_aggregator_finds_live_result_topics_by_the_catalogue():
    class Listing:
        topics = {n: None for n in ("fw.results.a", "fw.results.a.m-1", "fw.frames.a", "fw.dlq")}

    class Admin:
        def list_topics(self, timeout: float) -> Listing:
            return Listing()

    from framewire.aggregator.settings import AggregatorSettings

    assert result_topics(AggregatorSettings(), Admin()) == ["fw.results.a"]  # type: ignore[arg-type]


def test_published_stats_and_alerts_validate_against_the_shared_contract():
    # Given a window the aggregator measured
    measured = MeasuredWindow("cam-1", statsformat.WindowKind.HOPPING, 0, 60_000,
                              Pane(0).with_drop("stale", 2))
    # When it is published and read back by the dashboard's model
    doc = measured.to_json(emitted_ms=61_000)
    parsed = statsformat.WindowStats.model_validate(doc)
    # Then nothing is lost
    assert statsformat.message_json(parsed) == doc
    assert doc["schema"] == statsformat.STATS_SCHEMA and doc["drops_total"] == 2
    assert "emitted_ms" not in measured.to_json()
