"""Zone and line alert rules: their syntax, errors naming what is wrong, and how they are
evaluated on closed tumbling windows."""

import pytest

from framewire.aggregator.alerts import AlertEvent, AlertTransition, window_value
from framewire.aggregator.engine import Aggregator, Stores
from framewire.aggregator.observations import ResultSeen, Tick, ZoneSeen
from framewire.aggregator.progress import Timing
from framewire.aggregator.rules import Comparison, RuleFileError, RuleKind, parse_rules
from framewire.aggregator.stats import WindowKind, WindowStats
from framewire.aggregator.windows import Pane, WindowLayout
from framewire.aggregator.zonecounts import ZoneTally

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000

EXAMPLE = """
busy:    zone_enters(door) > 20 for 30s on lobby
exits:   zone_leaves(door) >= 1 for 0s
linger:  zone_dwells(bench-2) >= 3 for 10s severity info
full:    occupancy(room) >= 8 for 1m clear after 20s severity critical
rush:    line_crosses(gate, left_to_right) > 50 for 10s
traffic: line_crosses(gate) > 5 for 10s
"""


def test_zone_and_line_rules_parse_into_their_kinds_ids_and_directions():
    # Given the documented zone rules, when parsed
    rules = {r.name: r for r in parse_rules(EXAMPLE)}
    # Then each names its kind, its zone or line, its direction and its threshold
    got = {n: (r.kind, r.subject, r.direction, r.op, r.threshold) for n, r in rules.items()}
    assert got == {
        "busy": (RuleKind.ZONE_ENTERS, "door", "", Comparison.GT, 20.0),
        "exits": (RuleKind.ZONE_LEAVES, "door", "", Comparison.GE, 1.0),
        "linger": (RuleKind.ZONE_DWELLS, "bench-2", "", Comparison.GE, 3.0),
        "full": (RuleKind.OCCUPANCY, "room", "", Comparison.GE, 8.0),
        "rush": (RuleKind.LINE_CROSSES, "gate", "left_to_right", Comparison.GT, 50.0),
        "traffic": (RuleKind.LINE_CROSSES, "gate", "", Comparison.GT, 5.0),
    }
    # And the options work as for every other rule
    assert rules["busy"].streams == ("lobby",) and rules["full"].clear_ms == 20_000
    assert rules["rush"].condition == "line_crosses(gate, left_to_right) > 50"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a: zone_enters() > 1 for 1s", "zone_enters() needs a zone id, e.g. zone_enters(door)"),
        ("a: occupancy > 1 for 1s", "occupancy needs a zone id in parentheses"),
        ("a: line_crosses( ) > 1 for 1s", "line_crosses() needs a line id"),
        ("a: zone_exits(door) > 1 for 1s", "unknown metric 'zone_exits(door)'"),
        ("a: occupancy(Door) > 1 for 1s", "zone id 'Door' must be lower-case"),
        ("a: zone_dwells(door, hall) > 1 for 1s", "zone_dwells() takes (ZONE), got 'door, hall'"),
        ("a: line_crosses(gate, up) > 1 for 1s", "line direction must be left_to_right or right_to_left"),
        ("a: line_crosses(gate, left_to_right, x) > 1 for 1s", "line_crosses() takes (LINE) or"),
        ("a: occupancy(door) => 1 for 1s", "expected one of < <= > >= after 'occupancy(door)'"),
        ("a: zone_enters(door) > many for 1s", "expected a number, got 'many'"),
        ("a: occupancy(door) >= 2", "expected 'for DURATION'"),
    ],
)
def test_bad_zone_rules_are_refused_naming_the_line_and_the_problem(line, message):
    # Given a rule file whose third line is wrong, when parsed
    with pytest.raises(RuleFileError) as caught:
        parse_rules(f"# rules\nok: fps < 1 for 5s\n{line}\n", source="alerts.rules")
    # Then the error names the file, the line, the problem and quotes the line
    text = str(caught.value)
    assert text.startswith("alerts.rules:3: ") and message in text and line in text


def stats(tally: ZoneTally, occupancy: dict[str, int]) -> WindowStats:
    return WindowStats("cam1", WindowKind.TUMBLING, 0, 10_000, Pane(0, zones=tally), occupancy)


def test_window_values_read_the_window_and_read_zero_for_unknown_zones():
    # Given a window with 2 enters of door, one dwell, crossings 3 one way and 1 the other
    tally = ZoneTally()
    for i, (kind, target, direction) in enumerate(
        [("enter", "door", ""), ("enter", "door", ""), ("dwell", "door", ""),
         *[("cross", "gate", "left_to_right")] * 3, ("cross", "gate", "right_to_left")]
    ):
        tally = tally.counted(kind, target, direction, str(i))
    window = stats(tally, {"door": 2})
    rules = {r.name: r for r in parse_rules(EXAMPLE + "away: occupancy(hall) < 1 for 0s\n")}
    # When each rule's value is read, then it is the window's figure, 0 where nothing happened
    values = {name: window_value(rule, window) for name, rule in rules.items()}
    assert values == {"busy": 2.0, "exits": 0.0, "linger": 0.0, "full": 0.0, "rush": 3.0,
                      "traffic": 4.0, "away": 0.0}
    assert window_value(rules["full"], stats(tally, {"room": 9})) == 9.0


def test_an_occupancy_rule_fires_on_closed_windows_and_clears_when_the_zone_empties():
    # Given "occupancy(door) >= 2 for 10s", results every 100 ms for 40 s, two people
    # entering door at 1 s and 2 s and one leaving at 25 s
    engine = Aggregator(WindowLayout(), Timing(), parse_rules("full: occupancy(door) >= 2 for 10s"), Stores())
    observations = [(ResultSeen("cam1", T0 + i * 100, 0.02, {}), (T0 + i * 100) / 1000) for i in range(400)]
    for n, (offset, kind) in enumerate([(1000, "enter"), (2000, "enter"), (25_000, "leave")]):
        obs = ZoneSeen("cam1", T0 + offset, kind, "door", "", f"e{n}")
        observations.append((obs, (T0 + offset) / 1000 + 0.1))
    observations += [(Tick("cam1", T0 / 1000 + 40 + t), T0 / 1000 + 40 + t) for t in range(1, 10)]
    alerts: list[AlertEvent] = []
    for obs, now in sorted(observations, key=lambda pair: pair[1]):
        alerts += [p for p in engine.on_observation(obs, now).published if isinstance(p, AlertEvent)]
    # Then it fires at the end of the first window (10 s of truth) and clears at the end of
    # the window in which one person left, with the values it saw
    assert [(a.transition, a.at_ms - T0, a.value) for a in alerts] == [
        (AlertTransition.FIRING, 10_000, 2.0),
        (AlertTransition.CLEARED, 30_000, 1.0),
    ]
    doc = alerts[0].to_json()
    assert (doc["condition"], doc["threshold"], doc["alert_id"]) == ("occupancy(door) >= 2", 2.0, "full/cam1")
