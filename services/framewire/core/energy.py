"""Energy from Intel RAPL counters (``/sys/class/powercap``), attributed to one process.

RAPL counts the joules a CPU package (and its DRAM) used since boot, wrapping at
``max_energy_range_uj``. A process gets the share of each interval's joules equal to its
share of the CPU time the machine spent busy in that interval, the same ratio model Kepler
uses for containers. Where the counters are absent or unreadable (virtual machines, and
``energy_uj`` is root-only since the 2020 PLATYPUS fix) everything reports "not available"
instead of a number. Called from a service's ``main()`` via ``register_energy_metrics``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
PROC = Path("/proc")
_ZONE_DIR = re.compile(r"^intel-rapl:\d+(:\d+)?$")
# /proc/stat columns that are CPU work (user nice system irq softirq steal); not idle, iowait.
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


@dataclass(frozen=True)
class RaplZone:
    """One readable counter: ``package-0``, ``dram``, ``core``... and where it lives."""

    name: str
    path: Path
    max_range_uj: int


def discover_zones(root: Path = POWERCAP) -> tuple[RaplZone, ...]:
    """Zones whose counter this process can read: packages and their DRAM subzones.

    ``core``/``uncore`` subzones are inside their package and ``psys`` covers the whole
    platform, so they are left out to keep the sum free of double counting.
    """
    zones = []
    for entry in sorted(root.glob("intel-rapl:*")) if root.is_dir() else []:
        if not _ZONE_DIR.match(entry.name):
            continue
        name = _read_text(entry / "name")
        if not name or not (name.startswith("package") or name == "dram"):
            continue
        max_range = _read_int(entry / "max_energy_range_uj")
        if max_range and _read_int(entry / "energy_uj") is not None:
            suffix = entry.name.split(":")[1]
            zones.append(RaplZone(name if name.startswith("package") else f"dram-{suffix}", entry, max_range))
    return tuple(zones)


def wrapped_delta(previous_uj: int, current_uj: int, max_range_uj: int) -> int:
    """Microjoules between two readings of a counter that wraps at ``max_range_uj``."""
    if current_uj >= previous_uj:
        return current_uj - previous_uj
    return current_uj + max_range_uj - previous_uj


def machine_busy_ticks(proc: Path = PROC) -> int:
    """Clock ticks all CPUs spent working since boot (first line of /proc/stat)."""
    fields = (_read_text(proc / "stat") or "cpu").splitlines()[0].split()[1:]
    return sum(int(fields[i]) for i in _BUSY_COLUMNS if i < len(fields))


def process_ticks(pid: int | str = "self", proc: Path = PROC) -> int:
    """Clock ticks (user + system) this process has used, from /proc/<pid>/stat."""
    text = _read_text(proc / str(pid) / "stat") or ""
    after_name = text.rsplit(")", 1)[-1].split()
    return int(after_name[11]) + int(after_name[12]) if len(after_name) > 12 else 0


class EnergyMeter:
    """Accumulates joules per zone, and the part of them attributable to one process."""

    def __init__(self, root: Path = POWERCAP, proc: Path = PROC, pid: int | str = "self") -> None:
        self.zones = discover_zones(root)
        self._proc, self._pid = proc, pid
        self._last = {z.name: _read_int(z.path / "energy_uj") or 0 for z in self.zones}
        self._last_busy, self._last_mine = machine_busy_ticks(proc), process_ticks(pid, proc)
        self.machine_j = {z.name: 0.0 for z in self.zones}
        self.process_j = {z.name: 0.0 for z in self.zones}

    @property
    def available(self) -> bool:
        return bool(self.zones)

    def sample(self) -> None:
        """Read every counter and add this interval's joules; called on each scrape."""
        busy, mine = machine_busy_ticks(self._proc), process_ticks(self._pid, self._proc)
        d_busy, d_mine = busy - self._last_busy, mine - self._last_mine
        share = min(1.0, d_mine / d_busy) if d_busy > 0 else 0.0
        self._last_busy, self._last_mine = busy, mine
        for zone in self.zones:
            now = _read_int(zone.path / "energy_uj")
            if now is None:
                continue
            joules = wrapped_delta(self._last[zone.name], now, zone.max_range_uj) / 1e6
            self._last[zone.name] = now
            self.machine_j[zone.name] += joules
            self.process_j[zone.name] += joules * share


def joules_per_frame(joules: float, frames: int) -> float | None:
    return joules / frames if frames > 0 else None


def register_energy_metrics(service: str, meter: EnergyMeter | None = None) -> EnergyMeter:
    """Export ``framewire_energy_joules_total{service,zone}`` (this process's share) and
    ``framewire_energy_rapl_available{service}``; called once from a service's main()."""
    from prometheus_client import REGISTRY
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from framewire.core.metrics import metric_name

    active = meter or EnergyMeter()

    class _Collector:
        def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
            active.sample()
            available = GaugeMetricFamily(
                metric_name("energy", "rapl_available"),
                "1 when RAPL counters are readable",
                labels=["service"],
            )
            available.add_metric([service], 1.0 if active.available else 0.0)
            joules = CounterMetricFamily(
                metric_name("energy", "joules"),
                "RAPL energy attributed to this process by its share of busy CPU time",
                labels=["service", "zone"],
            )
            for zone, value in active.process_j.items():
                joules.add_metric([service, zone], value)
            yield available
            yield joules

    REGISTRY.register(_Collector())
    return active


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def rapl_status(root: Path = POWERCAP) -> str:
    """One line for benchmarks and logs: the zones read, or why none."""
    if not root.is_dir():
        return f"not available ({root} does not exist)"
    zones = discover_zones(root)
    if not zones:
        return f"not available (no readable RAPL counter under {root}; uid {os.getuid()})"
    return "available: " + ", ".join(z.name for z in zones)
