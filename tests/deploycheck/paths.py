"""Where the artefacts, the CRDs and the tools are; resolved from the repository root."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "framewire"
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
K8S_DIR = REPO / "k8s"
INSTALL_SCRIPT = REPO / "scripts" / "install_deploy_tools.sh"


def crd_dir() -> Path:
    """Upstream CRDs: ``$FW_K8S_CRDS``, else ``../shared/k8s-crds`` beside the repository."""
    override = os.environ.get("FW_K8S_CRDS")
    return Path(override) if override else REPO.parent / "shared" / "k8s-crds"


def tools_dir() -> Path:
    """Where scripts/install_deploy_tools.sh puts helm (``$FW_DEPLOY_TOOLS``)."""
    override = os.environ.get("FW_DEPLOY_TOOLS")
    return Path(override) if override else Path.home() / ".cache" / "framewire-deploy-tools"
