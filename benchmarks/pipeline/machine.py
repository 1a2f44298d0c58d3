"""Facts that make a run repeatable: machine, software versions, code revision, settings."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("framewire", "openvino", "confluent-kafka", "numpy", "opencv-python-headless",
            "protobuf", "faust-streaming", "fastapi", "uvicorn", "sse-starlette")
SECRET_NAME = re.compile(r"(?i)password|token|secret|key")


def machine_facts() -> dict[str, object]:
    return {
        "cpu_model": _cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(_mem_total_kib() / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "hostname": platform.node(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()),
    }


def software_versions(repo: Path) -> dict[str, object]:
    from confluent_kafka import libversion

    from framewire.broker.maven import KAFKA_VERSION

    versions: dict[str, object] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["librdkafka"] = libversion()[0]
    versions["kafka_broker_local"] = KAFKA_VERSION
    versions["git"] = _git_revision(repo)
    return versions


def fw_environment() -> dict[str, str]:
    """``FW_*`` variables set for the run (secret-looking values masked)."""
    return {k: ("***" if SECRET_NAME.search(k) else v)
            for k, v in sorted(os.environ.items()) if k.startswith("FW_")}


# CPU features that decide OpenVINO's speed and precision (BF16, VNNI for INT8, AMX).
FLAGS_OF_INTEREST = re.compile(r"^(avx2|avx512\w*|avx_vnni|amx\w*|fma)$")


def cpu_flags() -> str:
    """The CPU's flags that matter for inference speed, e.g. "avx2 avx512_vnni fma"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return " ".join(sorted(f for f in flags if FLAGS_OF_INTEREST.match(f)))
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _git_revision(repo: Path) -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' (uncommitted changes)' if dirty else ''}"
