"""Zones (polygons) and lines drawn on a stream's picture, and the geometry to test them.

A stream's zones and lines are read once from its configuration, before tracking starts, by
``parse_zones`` and ``parse_lines``, which refuse anything ambiguous with a ``ConfigError``.
The tracker's zone-event stage then tests each track's point against them per frame with
``contains``, ``side`` and ``segments_intersect``. Coordinates are normalised like detection
boxes: x in [0, 1] to the right, y in [0, 1] downwards.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from framewire.core.errors import ConfigError

__all__ = [
    "MAX_LINES",
    "MAX_VERTICES",
    "MAX_ZONES",
    "Line",
    "LineDirection",
    "Point",
    "Zone",
    "contains",
    "parse_lines",
    "parse_zones",
    "segments_intersect",
    "side",
]

MAX_ZONES = 16
MAX_LINES = 16
MAX_VERTICES = 32
# fullmatch, not ``^...$``: ``$`` would also accept an id followed by a newline.
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Below this (about a thousandth of a pixel on a 1080p picture) a polygon is taken as flat,
# since float rounding rarely gives exactly 0 for collinear vertices.
_MIN_AREA = 1e-12

Point = tuple[float, float]


class LineDirection(StrEnum):
    """Which crossings of a line count, named by the side of the directed segment a→b.

    Stand at ``a`` and look towards ``b`` on the picture as displayed (y grows downwards): the
    left and right of that view are the line's sides. ``side(line, p)`` is negative on the
    left and positive on the right; for a→b pointing right (+x) the left side is above the
    line (smaller y), for a→b pointing down (+y) the left side is towards larger x.
    ``LEFT_TO_RIGHT`` counts an object going from the left side to the right side,
    ``RIGHT_TO_LEFT`` the reverse, ``BOTH`` either.
    """

    BOTH = "both"
    LEFT_TO_RIGHT = "left_to_right"
    RIGHT_TO_LEFT = "right_to_left"


@dataclass(frozen=True, slots=True)
class Zone:
    """A simple polygon, implicitly closed; ``dwell_s`` asks for a dwell event after that long."""

    id: str
    polygon: tuple[Point, ...]
    dwell_s: float | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """A counting line: the segment from ``a`` to ``b``; see ``LineDirection`` for its sides."""

    id: str
    a: Point
    b: Point
    direction: LineDirection = LineDirection.BOTH


def contains(zone: Zone, point: Point) -> bool:
    """Whether ``point`` is inside ``zone``, by even-odd ray casting; called per track and frame.

    Points exactly on an edge fall on one side or the other by the half-open rule of the
    test, always the same way for the same input.
    """
    x, y = point
    inside = False
    poly = zone.polygon
    for (xi, yi), (xj, yj) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


def side(line: Line, point: Point) -> float:
    """Signed cross product of b - a and p - a: < 0 left of a→b, > 0 right, 0 on the line.

    Called per track, line and frame; its sign is what ``LineDirection`` names.
    """
    return _cross(line.a, line.b, point)


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether the closed segments p1-p2 and q1-q2 share a point, collinear overlap included."""
    d1, d2 = _sign(_cross(q1, q2, p1)), _sign(_cross(q1, q2, p2))
    d3, d4 = _sign(_cross(p1, p2, q1)), _sign(_cross(p1, p2, q2))
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    # Otherwise they meet only if an endpoint of one lies on the other.
    return (
        (d1 == 0 and _within(q1, q2, p1))
        or (d2 == 0 and _within(q1, q2, p2))
        or (d3 == 0 and _within(p1, p2, q1))
        or (d4 == 0 and _within(p1, p2, q2))
    )


def parse_zones(raw: list[dict[str, Any]], *, stream_id: str | None = None) -> tuple[Zone, ...]:
    """Called when a stream's configuration is loaded: validated zones, in input order.

    Each item is ``{"id": str, "polygon": [[x, y], ...], "dwell_s": float (optional)}``.
    """
    items = _items(raw, "zones", MAX_ZONES, stream_id)
    zones = tuple(_parse_zone(i, item, stream_id) for i, item in enumerate(items))
    _check_unique("zone", [z.id for z in zones], stream_id)
    return zones


def parse_lines(raw: list[dict[str, Any]], *, stream_id: str | None = None) -> tuple[Line, ...]:
    """Called when a stream's configuration is loaded: validated lines, in input order.

    Each item is ``{"id": str, "a": [x, y], "b": [x, y], "direction": str (default "both")}``.
    """
    items = _items(raw, "lines", MAX_LINES, stream_id)
    lines = tuple(_parse_line(i, item, stream_id) for i, item in enumerate(items))
    _check_unique("line", [line.id for line in lines], stream_id)
    return lines


def check_distinct_ids(
    zones: Sequence[Zone], lines: Sequence[Line], *, stream_id: str | None = None
) -> None:
    """Refuse zones and lines that share an id; called wherever a stream's geometry is
    accepted (the dashboard's PUT, the tracker following ``fw.streams``), because a zone
    event names its zone or line by id alone."""
    ids = [z.id for z in zones] + [line.id for line in lines]
    clashing = sorted({i for i in ids if ids.count(i) > 1})
    if clashing:
        raise ConfigError(f"zone and line ids {clashing} are used more than once",
                          stream_id=stream_id)


@dataclass(frozen=True)
class _Where:
    """The item being parsed, so every message names it the same way."""

    label: str
    stream_id: str | None

    def error(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.label}: {problem}", stream_id=self.stream_id)


def _items(raw: Any, what: str, limit: int, stream_id: str | None) -> list[Any]:
    if not isinstance(raw, list):
        raise ConfigError(f"{what} must be a list, got {type(raw).__name__}", stream_id=stream_id)
    if len(raw) > limit:
        raise ConfigError(f"{len(raw)} {what} given, at most {limit} allowed", stream_id=stream_id)
    return raw


def _start(kind: str, index: int, item: Any, keys: set[str], stream_id: str | None) -> tuple[str, _Where]:
    """Check the item's shape and id; return the id and how to name the item in errors."""
    where = _Where(f"{kind} #{index}", stream_id)
    if not isinstance(item, Mapping):
        raise where.error(f"must be an object, got {type(item).__name__}")
    ident = item.get("id")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        raise where.error(f"id must match ^[a-z0-9][a-z0-9_-]{{0,62}}$, got {ident!r}")
    where = _Where(f"{kind} {ident!r}", stream_id)
    unknown = sorted(str(k) for k in item if k not in keys)
    if unknown:
        raise where.error(f"unknown keys {unknown}, allowed {sorted(keys)}")
    return ident, where


def _parse_zone(index: int, item: Any, stream_id: str | None) -> Zone:
    ident, where = _start("zone", index, item, {"id", "polygon", "dwell_s"}, stream_id)
    polygon = _parse_polygon(item.get("polygon"), where)
    dwell = item.get("dwell_s")
    if dwell is not None and not (_is_number(dwell) and 0 < dwell < math.inf):
        raise where.error(f"dwell_s must be a positive number of seconds, got {dwell!r}")
    return Zone(ident, polygon, None if dwell is None else float(dwell))


def _parse_line(index: int, item: Any, stream_id: str | None) -> Line:
    ident, where = _start("line", index, item, {"id", "a", "b", "direction"}, stream_id)
    a = _parse_point(item.get("a"), "point a", where)
    b = _parse_point(item.get("b"), "point b", where)
    if a == b:
        raise where.error(f"has zero length: a and b are both {a}")
    direction = item.get("direction", LineDirection.BOTH.value)
    if not isinstance(direction, str) or direction not in {d.value for d in LineDirection}:
        allowed = ", ".join(repr(d.value) for d in LineDirection)
        raise where.error(f"direction must be one of {allowed}, got {direction!r}")
    return Line(ident, a, b, LineDirection(direction))


def _parse_polygon(raw: Any, where: _Where) -> tuple[Point, ...]:
    if not isinstance(raw, list | tuple):
        raise where.error(f"polygon must be a list of [x, y] vertices, got {type(raw).__name__}")
    if not 3 <= len(raw) <= MAX_VERTICES:
        raise where.error(f"polygon has {len(raw)} vertices, needs 3 to {MAX_VERTICES}")
    poly = tuple(_parse_point(p, f"vertex {i}", where) for i, p in enumerate(raw))
    for j, p in enumerate(poly):
        if p in poly[:j]:
            # Also what a closed ring (first vertex repeated at the end) runs into.
            raise where.error(f"vertex {j} {p} repeats vertex {poly.index(p)}; polygons close implicitly")
    _check_simple(poly, where)
    if abs(_area(poly)) <= _MIN_AREA:
        raise where.error("polygon has zero area")
    return poly


def _parse_point(raw: Any, name: str, where: _Where) -> Point:
    if not (isinstance(raw, list | tuple) and len(raw) == 2 and all(_is_number(v) for v in raw)):
        raise where.error(f"{name} must be [x, y] with two numbers, got {raw!r}")
    x, y = float(raw[0]), float(raw[1])
    for axis, value in (("x", x), ("y", y)):
        if not 0.0 <= value <= 1.0:
            raise where.error(f"{name} ({x}, {y}) has {axis}={value} outside [0, 1]")
    return x, y


def _check_simple(poly: tuple[Point, ...], where: _Where) -> None:
    """Refuse a polygon whose non-adjacent edges touch: even-odd containment would be ambiguous."""
    n = len(poly)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the closing edge is adjacent to the first
            if segments_intersect(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n]):
                raise where.error(
                    f"polygon is self-intersecting: edge {i} (vertex {i} to {(i + 1) % n}) "
                    f"meets edge {j} (vertex {j} to {(j + 1) % n})"
                )


def _check_unique(kind: str, ids: list[str], stream_id: str | None) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise ConfigError(f"{kind} {ident!r}: duplicate id", stream_id=stream_id)
        seen.add(ident)


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but true/false in a coordinate is a mistake, not 1/0.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _area(poly: tuple[Point, ...]) -> float:
    """Signed shoelace area."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True)) / 2


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _within(a: Point, b: Point, p: Point) -> bool:
    """Whether ``p``, known to be collinear with a-b, lies within the segment's bounds."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])
