"""Zone and line configuration: what is accepted, what is refused and why, and the geometry."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from framewire.core.errors import ConfigError
from framewire.core.zones import (
    MAX_LINES,
    MAX_VERTICES,
    MAX_ZONES,
    Line,
    LineDirection,
    Zone,
    check_distinct_ids,
    contains,
    parse_lines,
    parse_zones,
    segments_intersect,
    side,
)

pytestmark = pytest.mark.unit

SQUARE = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]
# A U open at the bottom: the notch between the arms is outside.
U_SHAPE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.6, 0.9], [0.6, 0.4], [0.4, 0.4], [0.4, 0.9], [0.1, 0.9]]


def regular(n: int) -> list[list[float]]:
    return [[0.5 + 0.4 * math.cos(2 * math.pi * k / n), 0.5 + 0.4 * math.sin(2 * math.pi * k / n)]
            for k in range(n)]


def zone(polygon: Any = SQUARE, **extra: Any) -> dict[str, Any]:
    return {"id": "door", "polygon": polygon, **extra}


def line(a: Any = (0.1, 0.5), b: Any = (0.9, 0.5), **extra: Any) -> dict[str, Any]:
    return {"id": "gate", "a": list(a), "b": list(b), **extra}


def test_a_concave_zone_with_dwell_is_accepted_as_given() -> None:
    # Given a concave U-shaped zone with a dwell time, and a plain square
    raw = [zone(U_SHAPE, dwell_s=5), {"id": "yard_2", "polygon": SQUARE}]
    # When it is parsed
    zones = parse_zones(raw)
    # Then both zones keep their vertices in order, as floats, and only the first dwells
    assert zones == (
        Zone("door", tuple((x, y) for x, y in U_SHAPE), 5.0),
        Zone("yard_2", tuple((x, y) for x, y in SQUARE), None),
    )
    assert isinstance(zones[0].dwell_s, float)


def test_limits_themselves_are_accepted() -> None:
    # Given exactly MAX_ZONES zones of MAX_VERTICES vertices, with 63-character ids
    raw = [{"id": f"{k:02d}" + "z" * 61, "polygon": regular(MAX_VERTICES)} for k in range(MAX_ZONES)]
    # When they are parsed
    zones = parse_zones(raw)
    # Then all are kept
    assert len(zones) == MAX_ZONES and all(len(z.polygon) == MAX_VERTICES for z in zones)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"zones": []}, "zones must be a list, got dict"),
        (["door"], "zone #0: must be an object, got str"),
        ([zone(), {"polygon": SQUARE}], "zone #1: id must match ^[a-z0-9][a-z0-9_-]{0,62}$, got None"),
        ([{"id": "Door", "polygon": SQUARE}],
         "zone #0: id must match ^[a-z0-9][a-z0-9_-]{0,62}$, got 'Door'"),
        ([{"id": "door\n", "polygon": SQUARE}], "got 'door\\n'"),
        ([{"id": "-door", "polygon": SQUARE}], "got '-door'"),
        ([{"id": "a" * 64, "polygon": SQUARE}], f"got '{'a' * 64}'"),
        ([zone(dwell=3)], "zone 'door': unknown keys ['dwell'], allowed ['dwell_s', 'id', 'polygon']"),
        ([zone(), zone()], "zone 'door': duplicate id"),
        ([zone(None)], "zone 'door': polygon must be a list of [x, y] vertices, got NoneType"),
        ([zone(SQUARE[:2])], "zone 'door': polygon has 2 vertices, needs 3 to 32"),
        ([zone(regular(MAX_VERTICES + 1))], "zone 'door': polygon has 33 vertices, needs 3 to 32"),
        ([zone([[0.2, 0.2], [0.6, 0.2], [0.5, 1.2]])],
         "zone 'door': vertex 2 (0.5, 1.2) has y=1.2 outside [0, 1]"),
        ([zone([[0.2, 0.2], [-0.1, 0.2], [0.5, 0.5]])],
         "zone 'door': vertex 1 (-0.1, 0.2) has x=-0.1 outside [0, 1]"),
        ([zone([[0.2, 0.2], [math.nan, 0.2], [0.5, 0.5]])], "vertex 1 (nan, 0.2) has x=nan outside [0, 1]"),
        ([zone([[0.2, 0.2], [0.5], [0.5, 0.5]])],
         "zone 'door': vertex 1 must be [x, y] with two numbers, got [0.5]"),
        ([zone([[0.2, 0.2], [True, 0.2], [0.5, 0.5]])],
         "vertex 1 must be [x, y] with two numbers, got [True, 0.2]"),
        ([zone([*SQUARE, SQUARE[0]])],
         "zone 'door': vertex 4 (0.2, 0.2) repeats vertex 0; polygons close implicitly"),
        ([zone([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]])], "zone 'door': polygon has zero area"),
        ([zone(dwell_s=0)], "zone 'door': dwell_s must be a positive number of seconds, got 0"),
        ([zone(dwell_s=-2.5)], "got -2.5"),
        ([zone(dwell_s="5")], "got '5'"),
        ([zone(dwell_s=True)], "got True"),
        ([zone(dwell_s=math.inf)], "got inf"),
        ([{"id": f"z{k}", "polygon": SQUARE} for k in range(MAX_ZONES + 1)],
         "17 zones given, at most 16 allowed"),
    ],
)
def test_invalid_zones_are_refused_naming_the_zone_and_the_problem(raw: Any, message: str) -> None:
    # Given a zone list with one problem
    # When it is parsed
    with pytest.raises(ConfigError) as caught:
        parse_zones(raw)
    # Then the error says which zone and what is wrong
    assert message in str(caught.value)


def test_a_bow_tie_is_refused_as_self_intersecting() -> None:
    # Given a bow tie: its first and third edges cross in the middle (and its signed area is 0)
    raw = [zone([[0.2, 0.2], [0.8, 0.8], [0.8, 0.2], [0.2, 0.8]])]
    # When it is parsed
    with pytest.raises(ConfigError) as caught:
        parse_zones(raw)
    # Then it is refused for crossing itself, naming the edges, not for its area
    assert str(caught.value) == (
        "zone 'door': polygon is self-intersecting: edge 0 (vertex 0 to 1) meets edge 2 (vertex 2 to 3)"
    )


def test_a_polygon_folding_back_onto_its_first_edge_is_refused() -> None:
    # Given a polygon whose last vertex lies on its first edge, so the closing edge runs along it
    raw = [zone([[0.1, 0.1], [0.9, 0.1], [0.9, 0.5], [0.5, 0.5], [0.5, 0.1]])]
    # When it is parsed
    with pytest.raises(ConfigError) as caught:
        parse_zones(raw)
    # Then the edge ending on the first edge is reported
    assert "self-intersecting: edge 0 (vertex 0 to 1) meets edge 3 (vertex 3 to 4)" in str(caught.value)


def test_a_vertex_touching_a_far_edge_is_refused() -> None:
    # Given a polygon whose fourth vertex lies inside its first edge, pinching it in two
    raw = [zone([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.5, 0.2], [0.2, 0.8]])]
    # When it is parsed
    with pytest.raises(ConfigError) as caught:
        parse_zones(raw)
    # Then the touching edges are named
    assert "self-intersecting: edge 0 (vertex 0 to 1) meets edge 2 (vertex 2 to 3)" in str(caught.value)


def test_the_stream_id_is_carried_by_the_error() -> None:
    # Given a bad zone of stream cam-1
    # When it is parsed for that stream
    with pytest.raises(ConfigError) as caught:
        parse_zones([zone(dwell_s=0)], stream_id="cam-1")
    # Then the error carries the stream, in its attribute and its text
    assert caught.value.stream_id == "cam-1"
    assert str(caught.value).endswith("(stream=cam-1)")


def test_a_zone_and_a_line_sharing_an_id_are_refused_together() -> None:
    # Given a zone and a line each valid alone, both called "door"
    zones = parse_zones([zone(id="door")])
    lines = parse_lines([line(id="door"), line(id="gate")])
    # When they are checked as one stream's geometry
    with pytest.raises(ConfigError) as caught:
        check_distinct_ids(zones, lines, stream_id="cam-1")
    # Then the shared id is named, with the stream; distinct ids pass
    assert str(caught.value) == "zone and line ids ['door'] are used more than once (stream=cam-1)"
    check_distinct_ids(zones, lines[1:])


def test_lines_are_parsed_with_both_directions_by_default() -> None:
    # Given a line without direction and one counting only one way
    raw = [line(), {"id": "exit", "a": [0, 0], "b": [1, 1], "direction": "right_to_left"}]
    # When they are parsed
    lines = parse_lines(raw)
    # Then the first counts both ways, the second one way, and integer coordinates become floats
    assert lines == (
        Line("gate", (0.1, 0.5), (0.9, 0.5), LineDirection.BOTH),
        Line("exit", (0.0, 0.0), (1.0, 1.0), LineDirection.RIGHT_TO_LEFT),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("gate", "lines must be a list, got str"),
        ([{"id": "Gate", "a": [0, 0], "b": [1, 1]}], "line #0: id must match"),
        ([line(), line()], "line 'gate': duplicate id"),
        ([line(a=(0.5, 0.5), b=(0.5, 0.5))], "line 'gate': has zero length: a and b are both (0.5, 0.5)"),
        ([line(a=(1.5, 0.5))], "line 'gate': point a (1.5, 0.5) has x=1.5 outside [0, 1]"),
        ([line(b=(0.5, -0.01))], "line 'gate': point b (0.5, -0.01) has y=-0.01 outside [0, 1]"),
        ([{"id": "gate", "a": [0.1, 0.5]}], "line 'gate': point b must be [x, y] with two numbers, got None"),
        ([line(direction="up")],
         "line 'gate': direction must be one of 'both', 'left_to_right', 'right_to_left', got 'up'"),
        ([line(direction=["both"])], "got ['both']"),
        ([line(width=2)], "line 'gate': unknown keys ['width']"),
        ([{"id": f"l{k}", "a": [0, 0], "b": [1, 1]} for k in range(MAX_LINES + 1)],
         "17 lines given, at most 16 allowed"),
    ],
)
def test_invalid_lines_are_refused_naming_the_line_and_the_problem(raw: Any, message: str) -> None:
    # Given a line list with one problem
    # When it is parsed for stream cam-1
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        parse_lines(raw, stream_id="cam-1")
    # Then the error says which line and what is wrong, for that stream
    assert caught.value.stream_id == "cam-1"


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((0.2, 0.8), True),  # left arm
        ((0.8, 0.8), True),  # right arm
        ((0.5, 0.2), True),  # the bar joining them
        ((0.5, 0.7), False),  # the notch between the arms
        ((0.95, 0.5), False),
        ((0.5, 0.95), False),
        ((0.2, 0.4), True),  # the ray runs through two vertices of the notch
        ((0.05, 0.4), False),
        ((0.7, 0.4), True),
    ],
)
def test_containment_in_a_concave_zone(point: tuple[float, float], inside: bool) -> None:
    # Given the U-shaped zone
    (u,) = parse_zones([zone(U_SHAPE)])
    # When a point is tested
    # Then it is inside exactly where the U is
    assert contains(u, point) is inside


def test_side_is_negative_on_the_left_of_a_to_b_as_seen_on_the_picture() -> None:
    # Given a line pointing right and one pointing down the picture (y grows downwards)
    right = Line("r", (0.1, 0.5), (0.9, 0.5))
    down = Line("d", (0.5, 0.1), (0.5, 0.9))
    # When points on either side are tested
    # Then left of "right" is above it, left of "down" is towards larger x, and on the line is 0
    assert side(right, (0.5, 0.2)) < 0 < side(right, (0.5, 0.8))
    assert side(down, (0.8, 0.5)) < 0 < side(down, (0.2, 0.5))
    assert side(right, (0.3, 0.5)) == 0.0


@pytest.mark.parametrize(
    ("p1", "p2", "q1", "q2", "meet"),
    [
        ((0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), True),  # proper crossing
        ((0.0, 0.0), (0.4, 0.4), (0.0, 1.0), (1.0, 0.0), False),  # would cross if extended
        ((0.0, 0.5), (0.5, 0.5), (0.5, 0.0), (0.5, 1.0), True),  # T: an endpoint on the other
        ((0.0, 0.0), (0.5, 0.0), (0.3, 0.0), (0.8, 0.0), True),  # collinear overlap
        ((0.0, 0.0), (0.2, 0.0), (0.3, 0.0), (0.8, 0.0), False),  # collinear, apart
        ((0.0, 0.0), (1.0, 0.0), (0.0, 0.1), (1.0, 0.1), False),  # parallel
        ((0.3, 0.0), (0.3, 0.0), (0.0, 0.0), (1.0, 0.0), True),  # a point on the segment
        ((0.3, 0.1), (0.3, 0.1), (0.0, 0.0), (1.0, 0.0), False),  # a point off it
    ],
)
def test_segment_intersection(p1: Any, p2: Any, q1: Any, q2: Any, meet: bool) -> None:
    # Given two segments
    # When they are tested, either way round
    # Then they meet exactly when they share a point
    assert segments_intersect(p1, p2, q1, q2) is meet
    assert segments_intersect(q1, q2, p1, p2) is meet
