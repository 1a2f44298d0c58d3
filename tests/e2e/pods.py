"""Run a rendered chart's pods as Docker containers, as their pod specs say.

A smoke run of the pod specs on one Docker engine, not a cluster: each pod of each
Deployment and StatefulSet becomes ``docker run`` with the spec's image, command and args,
env (ConfigMaps resolved, fieldRef and Secret values from stand-ins), the restart policy,
runAsUser/runAsGroup
(fsGroup as a supplementary group), readOnlyRootFilesystem, dropped capabilities, no
privilege escalation, emptyDir volumes as tmpfs, Secret volumes as read-only files and the
memory limit, on a network where every Service selecting the pod is a DNS alias of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.dockerkit import docker

WORKLOADS = ("Deployment", "StatefulSet")
_RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}


@dataclass
class Pod:
    name: str
    component: str
    workload: dict[str, Any]
    labels: dict[str, str]
    spec: dict[str, Any]
    aliases: list[str] = field(default_factory=list)

    @property
    def container(self) -> dict[str, Any]:
        return self.spec["containers"][0]

    def port(self, ref: int | str) -> int:
        """A probe's port: a number, or the name of one of the container's ports."""
        if isinstance(ref, int) or str(ref).isdigit():
            return int(ref)
        return next(p["containerPort"] for p in self.container["ports"] if p.get("name") == ref)

    def probes(self) -> list[tuple[str, str, int]]:
        """(kind, path, port) of every httpGet probe of the container."""
        out = []
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = (self.container.get(kind) or {}).get("httpGet")
            if get:
                out.append((kind, get["path"], self.port(get["port"])))
        return out


@dataclass
class StandIns:
    """Values the cluster would provide: Secrets by (name, key), the namespace."""

    secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    secret_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    namespace: str = "framewire"
    # Settings the one-node stand-in Kafka forces (documented where they are set).
    env_overrides: dict[str, str] = field(default_factory=dict)


def replicas(workload: dict[str, Any], objs: list[dict[str, Any]]) -> int:
    """spec.replicas, or the ScaledObject's minimum when KEDA owns the count."""
    if "replicas" in workload["spec"]:
        return int(workload["spec"]["replicas"])
    name = workload["metadata"]["name"]
    for obj in objs:
        if obj.get("kind") == "ScaledObject" and obj["spec"]["scaleTargetRef"]["name"] == name:
            return int(obj["spec"].get("minReplicaCount", 1))
    return 1


def pods_of(objs: list[dict[str, Any]], per_workload: int | None = None) -> list[Pod]:
    """The pods the rendered workloads would create (at most ``per_workload`` of each),
    with their Service aliases."""
    services = [o for o in objs if o.get("kind") == "Service"]
    pods = []
    for workload in (o for o in objs if o.get("kind") in WORKLOADS):
        template = workload["spec"]["template"]
        labels = template["metadata"]["labels"]
        name = workload["metadata"]["name"]
        count = replicas(workload, objs)
        for i in range(min(count, per_workload) if per_workload else count):
            pod_name = f"{name}-{i}" if workload["kind"] == "StatefulSet" else f"{name}-e2e{i}"
            aliases = [s["metadata"]["name"] for s in services
                       if s["spec"].get("selector") and s["spec"]["selector"].items() <= labels.items()]
            pods.append(Pod(pod_name, labels["app.kubernetes.io/component"], workload, labels,
                            template["spec"], aliases))
    return pods


def env_of(pod: Pod, objs: list[dict[str, Any]], stand_ins: StandIns) -> dict[str, str]:
    config_maps = {o["metadata"]["name"]: o.get("data") or {} for o in objs if o.get("kind") == "ConfigMap"}
    env: dict[str, str] = {}
    for source in pod.container.get("envFrom", []):
        env.update({source.get("prefix", "") + k: str(v)
                    for k, v in config_maps[source["configMapRef"]["name"]].items()})
    for item in pod.container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item["valueFrom"]
        if "fieldRef" in ref:
            env[item["name"]] = _field(pod, ref["fieldRef"]["fieldPath"], stand_ins)
        elif "secretKeyRef" in ref:
            key = (ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            env[item["name"]] = stand_ins.secrets[key]
        else:
            raise ValueError(f"{pod.name}: env {item['name']} from {sorted(ref)} has no stand-in")
    env.update({k: v for k, v in stand_ins.env_overrides.items() if k in env})
    return env


def _field(pod: Pod, path: str, stand_ins: StandIns) -> str:
    values = {"metadata.name": pod.name, "metadata.namespace": stand_ins.namespace,
              "spec.nodeName": "docker", "status.podIP": "0.0.0.0"}
    if path not in values:
        raise ValueError(f"{pod.name}: no stand-in for fieldRef {path}")
    return values[path]


def _bytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|K|M|G)?", str(quantity))
    if not match:
        raise ValueError(f"unsupported quantity {quantity!r}")
    scale = {None: 1, "K": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return int(match.group(1)) * scale[match.group(2)]


def run_args(
    pod: Pod, image: str, network: str, objs: list[dict[str, Any]], stand_ins: StandIns
) -> list[str]:
    """The ``docker run`` arguments that reproduce ``pod``."""
    c = pod.container
    sec = {**pod.spec.get("securityContext", {}), **c.get("securityContext", {})}
    args = ["run", "-d", "--name", pod.name, "--hostname", pod.name, "--network", network,
            "--restart", _RESTART[pod.spec.get("restartPolicy", "Always")]]
    for alias in pod.aliases:
        args += ["--network-alias", alias]
    if "runAsUser" in sec:
        args += ["--user", f"{sec['runAsUser']}:{sec.get('runAsGroup', sec['runAsUser'])}"]
    if "fsGroup" in pod.spec.get("securityContext", {}):
        args += ["--group-add", str(pod.spec["securityContext"]["fsGroup"])]
    if sec.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    for cap in sec.get("capabilities", {}).get("drop", []):
        args += ["--cap-drop", cap]
    if sec.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    limit = (c.get("resources") or {}).get("limits", {}).get("memory")
    if limit:
        args += ["--memory", str(_bytes(limit))]
    args += _volumes(pod, stand_ins)
    for key, value in sorted(env_of(pod, objs, stand_ins).items()):
        args += ["-e", f"{key}={value}"]
    if c.get("command"):
        args += ["--entrypoint", c["command"][0]]
    if c["image"] != image:
        raise AssertionError(f"{pod.name}: pod spec image {c['image']}, image under test {image}")
    return [*args, c["image"], *c.get("command", [])[1:], *c.get("args", [])]


def _volumes(pod: Pod, stand_ins: StandIns) -> list[str]:
    volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
    sec = {**pod.spec.get("securityContext", {}), **pod.container.get("securityContext", {})}
    user = sec.get("runAsUser", 0)
    group = pod.spec.get("securityContext", {}).get("fsGroup", sec.get("runAsGroup", 0))
    args: list[str] = []
    for mount in pod.container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            # Owned by the pod's user and fsGroup, as an emptyDir is writable for them. No
            # "mode=": engine 20.10 drops it when it restarts the container.
            size = volume["emptyDir"].get("sizeLimit")
            options = f"rw,uid={user},gid={group}" + (f",size={_bytes(size)}" if size else "")
            args += ["--tmpfs", f"{mount['mountPath']}:{options}"]
        elif "secret" in volume:
            name = volume["secret"]["secretName"]
            for item in volume["secret"]["items"]:
                source = stand_ins.secret_files[(name, item["key"])]
                args += ["-v", f"{source}:{mount['mountPath']}/{item['path']}:ro"]
        else:
            raise ValueError(f"{pod.name}: volume {mount['name']} of an unsupported type")
    return args


def start(pod: Pod, image: str, network: str, objs: list[dict[str, Any]], stand_ins: StandIns) -> None:
    docker(*run_args(pod, image, network, objs, stand_ins))
