"""Zone and line counts of one pane, and the occupancy they imply.

A pane's ``ZoneTally`` counts the zone events of one stream captured in that pane: enters,
leaves and dwells per zone, crossings per line and direction. Occupancy (enters minus leaves,
never below 0) is a gauge carried from window to window, so a pane stores its effect on the
gauge rather than a value: ``Occupancy(net, floor)`` maps the count before the pane to
``max(before + net, floor)``. Such maps compose (``then``), so the events of a pane, and the
panes of a stretch, fold into one in order, and clamping at 0 after every event stays exact.

A tally also keeps the identities of the events it counted: a record delivered again (the
aggregator reads at least once) is recognised in the pane its capture time falls in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

ENTER, LEAVE, DWELL, CROSS = "enter", "leave", "dwell", "cross"
EVENT_KINDS = frozenset({ENTER, LEAVE, DWELL, CROSS})
DIRECTIONS = ("left_to_right", "right_to_left")


@dataclass(frozen=True)
class Occupancy:
    """The effect of some events on a zone's occupancy: ``before -> max(before + net, floor)``."""

    net: int = 0
    floor: int = 0

    def then(self, later: Occupancy) -> Occupancy:
        """This effect followed by ``later``'s."""
        return Occupancy(self.net + later.net, max(self.floor + later.net, later.floor))

    def after(self, before: int) -> int:
        return max(before + self.net, self.floor)


_STEP = {ENTER: Occupancy(1, 0), LEAVE: Occupancy(-1, 0)}
_COUNTED = {ENTER: "enters", LEAVE: "leaves", DWELL: "dwells"}


@dataclass(frozen=True)
class ZoneCounts:
    """One zone's events over a pane or window."""

    enters: int = 0
    leaves: int = 0
    dwells: int = 0
    occupancy: Occupancy = Occupancy()

    def merge(self, later: ZoneCounts) -> ZoneCounts:
        return ZoneCounts(
            self.enters + later.enters,
            self.leaves + later.leaves,
            self.dwells + later.dwells,
            self.occupancy.then(later.occupancy),
        )

    def to_list(self) -> list[int]:
        # A list, not an object: a pane's value is written to its changelog with every batch.
        o = self.occupancy
        return [self.enters, self.leaves, self.dwells, o.net, o.floor]

    @classmethod
    def from_list(cls, data: Iterable[Any]) -> ZoneCounts:
        enters, leaves, dwells, net, floor = (int(v) for v in data)
        return cls(enters, leaves, dwells, Occupancy(net, floor))


@dataclass(frozen=True)
class ZoneTally:
    """Zone events of one stream over a pane (``seen``: identities counted) or a window."""

    zones: Mapping[str, ZoneCounts] = field(default_factory=dict)
    lines: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.zones or self.lines or self.seen)

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen

    def counted(self, kind: str, target: str, direction: str, event_id: str) -> ZoneTally:
        """This tally plus one event's count (not its occupancy effect: see ``occupied``)."""
        seen = self.seen | {event_id}
        if kind == CROSS:
            crossings = dict(self.lines.get(target, {}))
            crossings[direction] = crossings.get(direction, 0) + 1
            return replace(self, lines={**self.lines, target: crossings}, seen=seen)
        zone, name = self.zones.get(target, ZoneCounts()), _COUNTED[kind]
        zone = replace(zone, **{name: getattr(zone, name) + 1})
        return replace(self, zones={**self.zones, target: zone}, seen=seen)

    def occupied(self, kind: str, target: str) -> ZoneTally:
        """This tally plus one event's effect on occupancy (enters and leaves only)."""
        step = _STEP.get(kind)
        if step is None:
            return self
        zone = self.zones.get(target, ZoneCounts())
        return replace(self, zones={**self.zones, target: replace(zone, occupancy=zone.occupancy.then(step))})

    def merge(self, later: ZoneTally) -> ZoneTally:
        """Both tallies, ``later`` applied after this one; identities are not carried over
        (only a stored pane recognises deliveries again)."""
        zones = dict(self.zones)
        for zone, counts in later.zones.items():
            zones[zone] = zones.get(zone, ZoneCounts()).merge(counts)
        lines = {line: dict(by_direction) for line, by_direction in self.lines.items()}
        for line, by_direction in later.lines.items():
            mine = lines.setdefault(line, {})
            for direction, n in by_direction.items():
                mine[direction] = mine.get(direction, 0) + n
        return ZoneTally(zones, lines)

    def occupancy_after(self, before: Mapping[str, int]) -> dict[str, int]:
        """Occupancy per zone after this tally's events, from ``before``; zones at 0 omitted."""
        after = dict(before)
        for zone, counts in self.zones.items():
            after[zone] = counts.occupancy.after(before.get(zone, 0))
        return {zone: n for zone, n in sorted(after.items()) if n > 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "zones": {zone: counts.to_list() for zone, counts in self.zones.items()},
            "lines": {line: dict(by_direction) for line, by_direction in self.lines.items()},
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZoneTally:
        return cls(
            {str(z): ZoneCounts.from_list(v) for z, v in data.get("zones", {}).items()},
            {str(line): {str(d): int(n) for d, n in v.items()} for line, v in data.get("lines", {}).items()},
            frozenset(str(i) for i in data.get("seen", ())),
        )
