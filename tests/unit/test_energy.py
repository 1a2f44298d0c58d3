"""RAPL energy reading on a fake sysfs tree: zones, wrap-around, attribution to a process."""

from pathlib import Path

import pytest

from framewire.core.energy import (
    EnergyMeter,
    discover_zones,
    joules_per_frame,
    rapl_status,
    wrapped_delta,
)

pytestmark = pytest.mark.unit


def zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int = 262_143_328_850) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def proc_tree(root: Path, busy: int, mine: int) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    # user nice system idle iowait irq softirq steal
    (root / "stat").write_text(f"cpu  {busy} 0 0 9999 50 0 0 0 0 0\ncpu0 1 0 0 1\n")
    fields = ["S"] + ["0"] * 10 + [str(mine), "0"]
    (root / "self" / "stat").write_text("42 (python3 (x)) " + " ".join(fields) + "\n")


def test_packages_and_dram_are_read_but_not_nested_or_platform_zones(tmp_path):
    # Given a package with core and dram subzones, and a psys zone
    zone(tmp_path, "intel-rapl:0", "package-0", 1000)
    zone(tmp_path, "intel-rapl:0:0", "core", 500)
    zone(tmp_path, "intel-rapl:0:1", "dram", 200)
    zone(tmp_path, "intel-rapl:1", "psys", 5000)
    (tmp_path / "intel-rapl-mmio:0").mkdir()
    # When discovered, then package-0 and its dram are kept
    assert [z.name for z in discover_zones(tmp_path)] == ["package-0", "dram-0"]
    assert rapl_status(tmp_path) == "available: package-0, dram-0"


def test_unreadable_or_missing_counters_mean_not_available(tmp_path):
    # Given no powercap tree, or a zone without energy_uj, then nothing is available
    assert rapl_status(tmp_path / "absent").startswith("not available")
    path = zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (path / "energy_uj").unlink()
    assert discover_zones(tmp_path) == ()
    assert not EnergyMeter(tmp_path, tmp_path).available


def test_counter_wrap_is_handled():
    # Given a counter that wrapped at its max range, then the delta is still the energy used
    assert wrapped_delta(100, 250, 1000) == 150
    assert wrapped_delta(900, 50, 1000) == 150


def test_process_gets_its_share_of_busy_cpu_time(tmp_path):
    # Given a package at 10 J, and a process that used 25 of the machine's 100 busy ticks
    sysfs, proc = tmp_path / "sys", tmp_path / "proc"
    pkg = zone(sysfs, "intel-rapl:0", "package-0", 10_000_000, max_uj=50_000_000)
    proc_tree(proc, busy=1000, mine=100)
    meter = EnergyMeter(sysfs, proc)
    # When the counter moves 40 J (wrapping) while the process uses a quarter of the CPU
    (pkg / "energy_uj").write_text(str((10_000_000 + 40_000_000) % 50_000_000))
    proc_tree(proc, busy=1100, mine=125)
    meter.sample()
    # Then the machine used 40 J and the process is attributed 10 J
    assert meter.machine_j["package-0"] == pytest.approx(40.0)
    assert meter.process_j["package-0"] == pytest.approx(10.0)
    assert joules_per_frame(meter.process_j["package-0"], 200) == pytest.approx(0.05)
    assert joules_per_frame(1.0, 0) is None
