"""The compose file: ``docker compose config -q`` plus checks of what the model says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deploycheck.paths import COMPOSE_DIR, COMPOSE_FILE
from deploycheck.tools import find_compose
from deploycheck.workloads import Workload, compose_workloads

# framewire services Prometheus does not scrape, and why.
UNSCRAPED: dict[str, str] = {}
HEALTHY = ("service_healthy", "service_completed_successfully")


def compose_config(file: Path = COMPOSE_FILE, *extra: str) -> subprocess.CompletedProcess[str]:
    """``docker compose -f FILE config EXTRA...`` with the plugin binary, no engine needed;
    every profile is enabled, so services behind one (grafana) are checked too."""
    args = [str(find_compose()), "--project-directory", str(file.parent), "--profile", "*",
            "-f", str(file), "config"]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=60, check=False)


def compose_model(file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The normalised model (interpolated, anchors merged) as compose itself reads it."""
    proc = compose_config(file, "--format", "json")
    if proc.returncode != 0:
        raise ValueError(f"docker compose config failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def service_problems(model: dict[str, Any]) -> list[str]:
    """Healthchecks everywhere, start order on health, pinned images."""
    problems = []
    for name, service in sorted(model["services"].items()):
        if not service.get("healthcheck") or service["healthcheck"].get("disable"):
            problems.append(f"compose service {name}: no healthcheck")
        for dep, how in service.get("depends_on", {}).items():
            if how.get("condition") not in HEALTHY:
                problems.append(f"compose service {name}: depends on {dep} without service_healthy")
        image = str(service.get("image", ""))
        if "build" not in service and not re.search(r":[\w.-]*\d[\w.-]*$", image):
            problems.append(f"compose service {name}: image {image!r} is not pinned to a version")
    return problems


def scrape_problems(model: dict[str, Any], prometheus_yml: Path) -> list[str]:
    """Prometheus scrapes every framewire service, on a port that service is told to serve."""
    config = yaml.safe_load(prometheus_yml.read_text())
    targets: dict[str, set[int]] = {}
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                host, _, port = str(target).rpartition(":")
                targets.setdefault(host, set()).add(int(port))
        for dns in job.get("dns_sd_configs", []):
            for host in dns.get("names", []):
                targets.setdefault(host, set()).add(int(dns["port"]))
    problems = []
    for workload in compose_workloads(model):
        service = workload.where.removeprefix("compose service ")
        if service in UNSCRAPED:
            continue
        if service not in targets:
            problems.append(f"{workload.where}: Prometheus does not scrape it")
        problems += [
            f"{workload.where}: scraped on port {port}, which neither FW_*_PORT nor --port sets"
            for port in sorted(targets.get(service, set()) - _ports(workload))
        ]
    return problems


def _ports(workload: Workload) -> set[int]:
    """Ports the service is told to serve: FW_*_PORT variables and a ``--port N`` argument."""
    ports = {int(v) for k, v in workload.env.items() if k.endswith("_PORT") and v and v.isdigit()}
    args = list(workload.args)
    if "--port" in args[:-1] and args[args.index("--port") + 1].isdigit():
        ports.add(int(args[args.index("--port") + 1]))
    return ports


def dockerfile_problems(text: str) -> list[str]:
    """Pinned bases, a non-root user in the final stage, the framewire entrypoint."""
    problems = []
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    stages = re.split(r"^FROM\s+", text, flags=re.M)[1:]
    names = set()
    for stage in stages:
        base, *rest = stage.split(maxsplit=3)
        if len(rest) >= 2 and rest[0].upper() == "AS":
            names.add(rest[1])
        if base in names - {rest[1] if len(rest) >= 2 else ""}:
            continue  # an earlier stage of this Dockerfile
        base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), base)
        if base.endswith(":latest") or not re.search(r"(:\d[\w.-]*|@sha256:[0-9a-f]{64})$", base):
            problems.append(f"Dockerfile: base image {base} is not pinned to a version")
    final = stages[-1] if stages else ""
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("Dockerfile: the final stage does not switch to a non-root USER")
    if not re.search(r'^ENTRYPOINT\s+\["framewire"\]', final, re.M):
        problems.append('Dockerfile: the final stage must have ENTRYPOINT ["framewire"]')
    return problems


def dockerfile_env(text: str) -> dict[str, str]:
    """``ENV`` names and values of the Dockerfile (``KEY=VALUE`` form, continuation lines)."""
    joined = re.sub(r"\\\n", " ", text)
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV\s+(.+)$", joined, re.M):
        env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def dockerfile_text() -> str:
    return (COMPOSE_DIR / "Dockerfile").read_text()
