"""Zones and lines at the Kafka boundary: the ``StreamSpec`` fields and their JSON form.

The API writes a stream's zones and lines into its spec with ``set_geometry`` after
``core.zones`` has validated them; readers of the stream registry (the dashboard, the
tracking stage) get them back with ``geometry_of``, which validates again because a spec may
come from any producer of the registry topic.
"""

from __future__ import annotations

from typing import Any

from framewire.core.zones import Line, LineDirection, Zone, parse_lines, parse_zones
from framewire.v1.stream_pb2 import LineSpec, StreamSpec, ZonePoint, ZoneSpec

# Stored as float32: six decimals are all a coordinate keeps, and what the API shows.
_DECIMALS = 6


def set_geometry(spec: StreamSpec, zones: tuple[Zone, ...], lines: tuple[Line, ...]) -> None:
    """Called by a registry write: replace the spec's zones and lines with validated ones."""
    del spec.zones[:]
    del spec.lines[:]
    for zone in zones:
        spec.zones.append(ZoneSpec(id=zone.id, dwell_s=zone.dwell_s or 0.0,
                                   polygon=[ZonePoint(x=x, y=y) for x, y in zone.polygon]))
    for line in lines:
        spec.lines.append(LineSpec(id=line.id, a=ZonePoint(x=line.a[0], y=line.a[1]),
                                   b=ZonePoint(x=line.b[0], y=line.b[1]), direction=line.direction.value))


def geometry_json(spec: StreamSpec) -> dict[str, list[dict[str, Any]]]:
    """The spec's zones and lines in the API's (and ``parse_zones``') JSON form."""
    return {
        "zones": [_zone_json(z) for z in spec.zones],
        "lines": [{"id": line.id, "a": _point(line.a), "b": _point(line.b),
                   "direction": line.direction or LineDirection.BOTH.value} for line in spec.lines],
    }


def geometry_of(spec: StreamSpec) -> tuple[tuple[Zone, ...], tuple[Line, ...]]:
    """Called when a stream's spec is read: its zones and lines, validated (ConfigError)."""
    raw = geometry_json(spec)
    return (parse_zones(raw["zones"], stream_id=spec.stream_id),
            parse_lines(raw["lines"], stream_id=spec.stream_id))


def _zone_json(zone: ZoneSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"id": zone.id, "polygon": [_point(p) for p in zone.polygon]}
    if zone.dwell_s > 0:
        out["dwell_s"] = round(zone.dwell_s, _DECIMALS)
    return out


def _point(point: ZonePoint) -> list[float]:
    return [round(point.x, _DECIMALS), round(point.y, _DECIMALS)]
