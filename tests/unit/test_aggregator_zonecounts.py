"""Zone and line counting maths: occupancy effects compose exactly like clamping after every
event, tallies count and merge, and survive their JSON form."""

import json
import random

import pytest

from framewire.aggregator.windows import Pane, merge_panes
from framewire.aggregator.zonecounts import Occupancy, ZoneCounts, ZoneTally

pytestmark = pytest.mark.unit


def clamped(before: int, steps: list[int]) -> int:
    """Occupancy the obvious way: add each step, never below 0."""
    count = before
    for step in steps:
        count = max(0, count + step)
    return count


def effect(steps: list[int]) -> Occupancy:
    out = Occupancy()
    for step in steps:
        out = out.then(Occupancy(step, 0))
    return out


def test_occupancy_effects_compose_like_clamping_after_every_event():
    # Given 500 random runs of enters (+1) and leaves (-1), split at a random point
    rng = random.Random(7)
    for _ in range(500):
        steps = [rng.choice((1, -1, -1)) for _ in range(rng.randint(0, 12))]
        cut, before = rng.randint(0, len(steps)), rng.randint(0, 4)
        # When each part is folded into one effect and the two are composed
        composed = effect(steps[:cut]).then(effect(steps[cut:]))
        # Then applying it equals clamping after every single event
        assert composed.after(before) == clamped(before, steps), (steps, cut, before)


def test_a_leave_before_any_enter_leaves_the_zone_empty_not_negative():
    # Given a leave then an enter, from an empty zone
    tally = ZoneTally().occupied("leave", "door").occupied("enter", "door")
    # When applied to nobody, and to two people already inside
    # Then the leave of nobody is not counted against the later enter
    assert tally.occupancy_after({}) == {"door": 1}
    assert tally.occupancy_after({"door": 2}) == {"door": 2}
    # And a zone that ends empty is left out
    assert ZoneTally().occupied("leave", "hall").occupancy_after({"hall": 1}) == {}


def test_counting_keeps_each_kind_apart_and_remembers_identities():
    # Given a pane's tally after five different events
    tally = ZoneTally()
    for kind, target, direction, ident in [
        ("enter", "door", "", "a"), ("enter", "door", "", "b"), ("dwell", "door", "", "c"),
        ("cross", "gate", "left_to_right", "d"), ("cross", "gate", "right_to_left", "e"),
    ]:
        tally = tally.counted(kind, target, direction, ident)
    # Then zones and lines hold their counts, and only the counted ids are known
    assert tally.zones == {"door": ZoneCounts(enters=2, leaves=0, dwells=1)}
    assert tally.lines == {"gate": {"left_to_right": 1, "right_to_left": 1}}
    assert tally.has_seen("d") and not tally.has_seen("f")
    # And counting alone does not move occupancy (that is ``occupied``'s part)
    assert tally.occupancy_after({}) == {}


def test_merging_adds_counts_composes_occupancy_in_order_and_drops_identities():
    # Given an earlier pane (two enters) and a later one (three leaves, one crossing)
    early = ZoneTally().counted("enter", "door", "", "a").occupied("enter", "door")
    early = early.counted("enter", "door", "", "b").occupied("enter", "door")
    late = ZoneTally()
    for ident in "cde":
        late = late.counted("leave", "door", "", ident).occupied("leave", "door")
    late = late.counted("cross", "gate", "right_to_left", "f")
    # When merged as a window would
    merged = early.merge(late)
    # Then counts add up, occupancy ends at 0 (not -1), and ids are not carried
    assert (merged.zones["door"].enters, merged.zones["door"].leaves) == (2, 3)
    assert merged.occupancy_after({}) == {} and merged.occupancy_after({"door": 4}) == {"door": 3}
    assert merged.lines == {"gate": {"right_to_left": 1}} and merged.seen == frozenset()


def test_a_pane_with_zone_events_round_trips_through_json_and_one_without_is_unchanged():
    # Given a pane with a result, a drop and zone events, and a pane without zone events
    tally = ZoneTally().counted("enter", "door", "", "a").occupied("enter", "door")
    tally = tally.counted("cross", "gate", "left_to_right", "b")
    pane = Pane(10_000, zones=tally).with_result({"person": 1}, 0.02).with_drop("stale", 2)
    plain = Pane(10_000).with_result({"person": 1}, 0.02)
    # When stored as JSON (a changelog value) and read back
    back = Pane.from_dict(json.loads(json.dumps(pane.to_dict())))
    # Then nothing is lost, and a stream without zones stores its panes as before
    assert back.zones == tally and back.frames == 1 and back.drops == {"stale": 2}
    assert "zones" not in plain.to_dict()
    assert Pane.from_dict(plain.to_dict()).zones == ZoneTally()


def test_merge_panes_keeps_the_window_start_and_sums_zone_counts():
    # Given three panes of one hopping window, the middle one without zone events
    one = Pane(0, zones=ZoneTally().counted("enter", "door", "", "a").occupied("enter", "door"))
    three = Pane(20_000, zones=ZoneTally().counted("leave", "door", "", "b").occupied("leave", "door"))
    # When merged from a start before all of them
    window = merge_panes(-30_000, [one, Pane(10_000), three])
    # Then the window starts where asked and holds one enter, one leave, occupancy back at 0
    assert window.start_ms == -30_000
    assert window.zones.zones["door"] == ZoneCounts(1, 1, 0, Occupancy(0, 0))
