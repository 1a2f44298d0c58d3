#!/usr/bin/env bash
# Validate the deployment artefacts offline: helm lint and helm template of every
# charts/framewire/ci/*-values.yaml scenario, strict schemas for core objects
# (kubernetes-validate) and custom resources (CRDs in ../shared/k8s-crds), the env-var
# contract with the settings classes, and `docker compose config -q` on compose/compose.yaml.
#
#   bash scripts/validate_deploy.sh         # validate (installs helm into a cache if missing)
#   bash scripts/validate_deploy.sh sync    # copy k8s/ dashboard and rules into the chart
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" != "sync" ]]; then
    FW_DEPLOY_TOOLS="$(bash "${root}/scripts/install_deploy_tools.sh" 2>/dev/null | tail -n 1)"
    export FW_DEPLOY_TOOLS
fi
cd "${root}"
PYTHONPATH="${root}/tests${PYTHONPATH:+:${PYTHONPATH}}" exec python3 -m deploycheck "$@"
