"""The framewire containers a deployment runs: their command line and environment.

Read from the normalised compose model (``docker compose config --format json``) and from
rendered chart manifests (env, and envFrom ConfigMaps resolved against the same render).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Workload:
    """One container running the framewire image."""

    where: str
    args: tuple[str, ...]
    # name -> literal value, or None when it comes from a Secret or the downward API.
    env: dict[str, str | None]
    # named container ports (Kubernetes only)
    ports: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def command(self) -> str | None:
        """The framewire subcommand (first argument that is not a global option)."""
        args = list(self.args)
        while args and args[0].startswith("-"):
            args = args[2:] if args[0] == "--log-level" else args[1:]
        return args[0] if args else None


def compose_workloads(model: dict[str, Any]) -> list[Workload]:
    """Services built from compose/Dockerfile, i.e. running the framewire image."""
    out = []
    for name, service in sorted(model.get("services", {}).items()):
        dockerfile = str(service.get("build", {}).get("dockerfile", ""))
        if not dockerfile.endswith("Dockerfile"):
            continue
        env = {k: (None if v is None else str(v)) for k, v in service.get("environment", {}).items()}
        out.append(Workload(f"compose service {name}", tuple(service.get("command") or ()), env))
    return out


def chart_workloads(objs: list[dict[str, Any]]) -> list[Workload]:
    """Every container of every Deployment and StatefulSet in a rendered chart."""
    config_maps = {
        o["metadata"]["name"]: o.get("data") or {} for o in objs if o.get("kind") == "ConfigMap"
    }
    out = []
    for obj in objs:
        if obj.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        pod = obj["spec"]["template"]["spec"]
        for container in pod.get("containers", []):
            where = f"{obj['kind']} {obj['metadata']['name']} container {container['name']}"
            out.append(_container(where, container, config_maps))
    return out


def _container(where: str, container: dict[str, Any], config_maps: dict[str, Any]) -> Workload:
    env: dict[str, str | None] = {}
    problems: list[str] = []
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            if name not in config_maps:
                problems.append(f"{where}: envFrom ConfigMap {name} is not part of the release")
            env.update({prefix + k: str(v) for k, v in config_maps.get(name, {}).items()})
        else:
            problems.append(f"{where}: envFrom {sorted(source)} hides which variables it sets")
    for item in container.get("env", []):
        env[item["name"]] = item.get("value") if "valueFrom" not in item else None
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    return Workload(where, tuple(container.get("args") or ()), env, ports, tuple(problems))
