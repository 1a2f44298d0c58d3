"""Zone events through the engine: per-window counts, the occupancy gauge across windows,
re-deliveries, late events and restarts, checked against counts made independently; and
the Kafka boundary that turns ZoneEvents into observations."""

import copy
import json

import pytest

from framewire.aggregator.engine import Aggregator, Rejection, Stores
from framewire.aggregator.ingest import InvalidMessageError, RawMessage, dead_letter, observe, zone_event_id
from framewire.aggregator.observations import ResultSeen, Tick, ZoneSeen, from_wire, to_wire
from framewire.aggregator.progress import Timing
from framewire.aggregator.rules import parse_rules
from framewire.aggregator.stats import WindowKind, WindowStats
from framewire.aggregator.windows import WindowLayout
from framewire.core import statsformat
from framewire.core.codec import DeadLetter, decode, encode
from framewire.core.errors import DecodeError
from framewire.core.topics import Topics
from framewire.v1.tracks_pb2 import ZoneEvent
from support.aggregator import feed

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000  # a multiple of 10 s, in ms
# (capture offset ms, kind, zone or line, direction, track)
EVENTS = [
    (1000, "enter", "door", "", 1),
    (2000, "enter", "door", "", 2),
    (3000, "cross", "gate", "left_to_right", 1),
    (4000, "leave", "hall", "", 3),  # left a zone it was never seen entering
    (5000, "dwell", "door", "", 1),
    (12_000, "leave", "door", "", 1),
    (25_000, "cross", "gate", "right_to_left", 2),
]
# A zone window with nobody entering or leaving and one person inside.
INSIDE_ONE = {"enters": 0, "leaves": 0, "dwells": 0, "occupancy": 1}


def zone_seen(offset_ms, kind, target, direction, track, stream="cam1"):
    return ZoneSeen(stream, T0 + offset_ms, kind, target, direction, f"{stream}/{offset_ms}/{kind}/{track}")


def stream_with_events(seconds=30, events=EVENTS):
    """(observation, arrival_s): a result every 100 ms, each zone event 200 ms after capture,
    then clock ticks for 10 s, which close the last windows."""
    out = [(ResultSeen("cam1", T0 + i * 100, 0.02, {}), (T0 + i * 100) / 1000 + 0.02)
           for i in range(seconds * 10)]
    out += [(zone_seen(*event), (T0 + event[0]) / 1000 + 0.2) for event in events]
    end_s = T0 / 1000 + seconds
    out += [(Tick("cam1", end_s + t), end_s + t) for t in range(1, 11)]
    return sorted(out, key=lambda pair: pair[1])


def windows(published, kind=WindowKind.TUMBLING):
    return {p.start_ms - T0: p for p in published if isinstance(p, WindowStats) and p.kind is kind}


def expected(start_ms, end_ms, events=EVENTS):
    """Zones and lines of one window, counted directly from the event list."""
    inside = [e for e in events if start_ms <= e[0] < end_ms]
    occupancy: dict[str, int] = {}
    for offset, kind, target, _, _ in events:
        if offset < end_ms and kind in ("enter", "leave"):
            occupancy[target] = max(0, occupancy.get(target, 0) + (1 if kind == "enter" else -1))
    zones = {}
    for zone in sorted({e[2] for e in inside if e[1] != "cross"} | {z for z, n in occupancy.items() if n}):
        mine = [e[1] for e in inside if e[2] == zone]
        zones[zone] = {"enters": mine.count("enter"), "leaves": mine.count("leave"),
                       "dwells": mine.count("dwell"), "occupancy": occupancy.get(zone, 0)}
    lines: dict[str, dict[str, int]] = {}
    for _, kind, line, direction, _ in inside:
        if kind == "cross":
            lines.setdefault(line, {"left_to_right": 0, "right_to_left": 0})[direction] += 1
    return zones, lines


def zones_and_lines(doc):
    """A stats message's zones and lines; both are left out when empty."""
    return doc.get("zones", {}), doc.get("lines", {})


def make(rules=""):
    return Aggregator(WindowLayout(), Timing(), parse_rules(rules), Stores())


def test_tumbling_and_hopping_windows_count_zone_events_and_carry_occupancy():
    # Given 30 s of results with zone events spread over three tumbling windows
    published, rejected = feed(make(), stream_with_events())
    assert rejected == []
    tumbling, hopping = windows(published), windows(published, WindowKind.HOPPING)
    # When the windows are published, then each holds exactly its events, and occupancy at
    # its end (door: 2 in, then 1 left; hall: a leave of nobody stays at 0)
    assert sorted(tumbling)[:3] == [0, 10_000, 20_000]
    for start in (0, 10_000, 20_000):
        doc = tumbling[start].to_json()
        assert zones_and_lines(doc) == expected(start, start + 10_000), start
    assert tumbling[20_000].to_json()["zones"] == {"door": INSIDE_ONE}
    # And the hopping window ending with the stream sums its panes, occupancy at its end
    doc = hopping[30_000 - 60_000].to_json()
    assert zones_and_lines(doc) == expected(-30_000, 30_000)
    # And the messages are valid stats of the shared contract, a window without zone events
    # leaving both fields out, as before zones existed
    assert statsformat.message_json(statsformat.WindowStats.model_validate(doc)) == doc
    plain = windows(feed(make(), stream_with_events(events=[]))[0])[0].to_json()
    assert "zones" not in plain and "lines" not in plain


def test_an_event_delivered_again_is_not_counted_twice():
    # Given every zone event delivered twice (an at-least-once replay), the copy 1 s later
    observations = stream_with_events()
    again = [(obs, now + 1.0) for obs, now in observations if isinstance(obs, ZoneSeen)]
    published, rejected = feed(make(), sorted(observations + again, key=lambda pair: pair[1]))
    # Then each copy is refused as a duplicate and the windows are those of one delivery
    assert rejected == [Rejection.DUPLICATE] * len(EVENTS)
    once, _ = feed(make(), stream_with_events())
    assert [p.to_json() for p in published] == [p.to_json() for p in once]


def test_a_late_event_misses_its_published_window_but_counts_in_occupancy_and_hopping():
    # Given an enter captured at 1 s that arrives only after the first window was published
    observations = stream_with_events(events=[])
    late = (zone_seen(1000, "enter", "door", "", 9), T0 / 1000 + 15.0)
    published, rejected = feed(make(), sorted([*observations, late], key=lambda pair: pair[1]))
    tumbling, hopping = windows(published), windows(published, WindowKind.HOPPING)
    # Then the first tumbling window has no zones, the next one shows the person inside
    assert rejected == [] and "zones" not in tumbling[0].to_json()
    assert tumbling[10_000].to_json()["zones"] == {"door": INSIDE_ONE}
    # And the hopping window over both counts the enter in its own pane
    assert hopping[20_000 - 60_000].to_json()["zones"]["door"]["enters"] == 1


def test_zone_events_read_ahead_of_the_results_still_count_in_their_windows():
    # Given a catch-up in which every zone event is read before the first result
    observations = stream_with_events()
    ahead = [(obs, T0 / 1000 + 0.5) for obs, _ in observations if isinstance(obs, ZoneSeen)]
    rest = [(obs, now + 1.0) for obs, now in observations if not isinstance(obs, ZoneSeen)]
    # When the results follow
    published, rejected = feed(make(), ahead + rest)
    # Then the windows count the events and the occupancy as if they had come in order
    tumbling = windows(published)
    assert rejected == []
    for start in (0, 10_000, 20_000):
        doc = tumbling[start].to_json()
        assert zones_and_lines(doc) == expected(start, start + 10_000), start


def test_windows_closed_on_zone_events_alone_do_not_skew_occupancy_once_results_come():
    # Given zone events, then 20 s without any result, so the clock closes windows on the
    # events alone (a stream known only from the tracker)
    engine = make()
    observations = stream_with_events()
    events = [(obs, T0 / 1000 + 0.5) for obs, _ in observations if isinstance(obs, ZoneSeen)]
    clock = [(Tick("cam1", T0 / 1000 + t), T0 / 1000 + t) for t in range(1, 20)]
    early, _ = feed(engine, events + clock)
    assert windows(early)  # published with no result in them
    # When the results of the same 30 s follow, then the clock again
    rest = [(obs, now + 20.0) for obs, now in observations if isinstance(obs, ResultSeen)]
    rest += [(Tick("cam1", T0 / 1000 + t), T0 / 1000 + t) for t in range(51, 61)]
    published, rejected = feed(engine, rest)
    # Then the windows published from the results count events and occupancy as in order
    tumbling = windows(published)
    assert rejected == []
    for start in (0, 10_000, 20_000):
        assert zones_and_lines(tumbling[start].to_json()) == expected(start, start + 10_000), start


def test_occupancy_survives_a_stream_that_stops_and_comes_back():
    # Given one person entering door, then the stream silent for ten minutes
    engine = make()
    first = stream_with_events(events=[(1000, "enter", "door", "", 1)])
    first += [(Tick("cam1", T0 / 1000 + t), T0 / 1000 + t) for t in range(41, 150, 5)]
    feed(engine, first)
    # When it comes back with 20 s of results and somebody leaving
    back = 600_000
    again = [(ResultSeen("cam1", T0 + back + i * 100, 0.02, {}), (T0 + back + i * 100) / 1000 + 0.02)
             for i in range(200)]
    again.append((zone_seen(back + 12_000, "leave", "door", "", 1), (T0 + back + 12_000) / 1000 + 0.2))
    again += [(Tick("cam1", (T0 + back) / 1000 + t), (T0 + back) / 1000 + t) for t in range(21, 30)]
    published, _ = feed(engine, sorted(again, key=lambda pair: pair[1]))
    # Then the first window after the gap still counts the person inside, the next one the leave
    tumbling = windows(published)
    assert tumbling[back].to_json()["zones"] == {"door": INSIDE_ONE}
    left = {"enters": 0, "leaves": 1, "dwells": 0, "occupancy": 0}
    assert tumbling[back + 10_000].to_json()["zones"] == {"door": left}


def test_restart_from_stored_state_gives_the_same_zone_counts():
    # Given the same observations processed in one go, and split by a restart
    rules = "busy: zone_enters(door) >= 2 for 0s\nfull: occupancy(door) >= 1 for 10s"
    observations = stream_with_events()
    whole, _ = feed(make(rules), observations)
    first = make(rules)
    cut = next(i for i, (o, _) in enumerate(observations) if isinstance(o, ZoneSeen) and o.kind == "leave")
    head, _ = feed(first, observations[: cut + 3])
    # When the stores are recovered (serialised as a changelog would) into a new engine
    recovered = Stores(*(json.loads(json.dumps(copy.deepcopy(s))) for s in vars(first.stores).values()))
    second = Aggregator(WindowLayout(), Timing(), parse_rules(rules), recovered)
    tail, _ = feed(second, observations[cut + 3 :])
    # Then the published stats and alerts are identical, and the alerts did fire
    assert [p.to_json() for p in head + tail] == [p.to_json() for p in whole]
    assert {p.rule.name for p in whole if not isinstance(p, WindowStats)} == {"busy", "full"}


def test_zone_observations_travel_the_internal_topic_unchanged():
    # Given a crossing, when written to the internal topic's JSON and read back
    obs = zone_seen(3000, "cross", "gate", "left_to_right", 1)
    # Then it is the same observation; a broken one is a DecodeError
    assert from_wire("cam1", json.loads(json.dumps(to_wire(obs)))) == obs
    for broken in ({**to_wire(obs), "e": "teleport"}, {**to_wire(obs), "d": "up"}, {"k": "z", "t": 1}):
        with pytest.raises(DecodeError):
            from_wire("cam1", broken)


TOPICS = Topics("fw.")


def event_bytes(**fields) -> bytes:
    base = dict(stream_id="cam1", kind=ZoneEvent.CROSS, track_id=4, zone_or_line="gate",
                direction="right_to_left", capture_time_ns=T0 * 1_000_000,
                source_topic="fw.results.cam1", source_partition=0, source_offset=41)
    return encode(ZoneEvent(**{**base, **fields}))


def raw(value: bytes, offset: int = 3) -> RawMessage:
    return RawMessage("fw.events", 0, offset, b"cam1", value, T0 / 1000, [])


def test_a_zone_event_becomes_an_observation_named_by_its_source_record():
    # Given a crossing of line "gate", read twice from the events topic, and another event
    first, again = observe(raw(event_bytes()), TOPICS), observe(raw(event_bytes(), offset=9), TOPICS)
    other = observe(raw(event_bytes(source_offset=42)), TOPICS)
    # Then it is a crossing at its capture time, and the same event has the same id
    assert first == ZoneSeen("cam1", T0, "cross", "gate", "right_to_left", first.event_id)
    assert first.event_id == again.event_id == zone_event_id(ZoneEvent.FromString(event_bytes()))
    assert other.event_id != first.event_id
    # And an enter carries no direction even if one was set
    enter = observe(raw(event_bytes(kind=ZoneEvent.ENTER, zone_or_line="door")), TOPICS)
    assert (enter.kind, enter.target, enter.direction) == ("enter", "door", "")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": ZoneEvent.KIND_UNSPECIFIED}, "unknown kind"),
        ({"direction": "up"}, "direction"),
        ({"capture_time_ns": 0}, "without capture time"),
        ({"zone_or_line": ""}, "without capture time, zone or line id"),
        ({"source_topic": ""}, "or source"),
        ({"stream_id": "bad id"}, "bad stream id"),
    ],
)
def test_a_malformed_zone_event_becomes_a_dead_letter_naming_it(fields, problem):
    # Given a zone event missing what counting needs, when observed
    message = raw(event_bytes(**fields))
    with pytest.raises(InvalidMessageError) as caught:
        observe(message, TOPICS)
    # Then the error says what is wrong and where, and the dead letter keeps the record
    assert problem in caught.value.message
    letter = decode(DeadLetter, dead_letter(message, caught.value, 1024))
    where = (letter.original_topic, letter.original_offset, letter.error_kind)
    assert where == ("fw.events", 3, "invalid_message")
    assert letter.original_value == message.value
