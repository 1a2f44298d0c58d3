"""``python -m deploycheck [sync]``: validate every deployment artefact, or sync chart files.

Prints one line per check and every problem found; exits 1 when anything is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from deploycheck import compose, contract, manifests, render, sync
from deploycheck.paths import COMPOSE_DIR, COMPOSE_FILE
from deploycheck.workloads import chart_workloads, compose_workloads


def _check(label: str, run: Callable[[], list[str]]) -> bool:
    try:
        problems = run()
    except Exception as exc:  # every failure is reported; the other checks still run
        problems = [f"{type(exc).__name__}: {exc}"]
    status = "ok" if not problems else f"FAILED ({len(problems)})"
    sys.stdout.write(f"{label:<58} {status}\n")
    for problem in problems:
        sys.stdout.write(f"    {problem}\n")
    return not problems


def _lint(scenario: render.Scenario) -> list[str]:
    render.helm_lint([scenario.values_file])
    return []


def _chart(scenario: render.Scenario) -> list[str]:
    objs = render.render(scenario)
    return manifests.validate_manifests(objs) + contract.workload_problems(chart_workloads(objs))


def _compose() -> list[str]:
    proc = compose.compose_config(COMPOSE_FILE, "-q")
    if proc.returncode != 0:
        return [proc.stderr.strip()]
    model = compose.compose_model()
    return (
        compose.service_problems(model)
        + compose.scrape_problems(model, COMPOSE_DIR / "prometheus" / "prometheus.yml")
        + contract.workload_problems(compose_workloads(model))
        + compose.dockerfile_problems(compose.dockerfile_text())
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["sync"]:
        copied = sync.sync()
        sys.stdout.write(f"copied into charts/framewire/files/: {', '.join(copied) or 'nothing'}\n")
        return 0
    results = [_check("chart files match k8s/", sync.drift)]
    for scenario in render.scenarios():
        results.append(_check(f"helm lint --strict ({scenario.name})", lambda s=scenario: _lint(s)))
        results.append(_check(f"helm template + strict schemas + env ({scenario.name})",
                              lambda s=scenario: _chart(s)))  # fmt: skip
    results.append(_check("kubectl kustomize k8s/ + strict schemas",
                          lambda: manifests.validate_manifests(render.kustomize_k8s())))  # fmt: skip
    results.append(_check("docker compose config -q + checks", _compose))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
