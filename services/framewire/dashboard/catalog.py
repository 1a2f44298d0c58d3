"""Model information for the API and the page, from the model zoo when it is installed.

``framewire.models.zoo`` is imported lazily: the dashboard runs (and says why the list is
empty) on a build without it.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
import time
from typing import Any

log = logging.getLogger(__name__)

ZOO_MODULE = "framewire.models.zoo"
CACHE_S = 30.0
_SECRETISH = re.compile(r"(?i)key|secret|token|password|credential")


class ModelCatalog:
    """Caches ``list_models()`` for a short while; ``listing()`` is called per request."""

    def __init__(self, module: str = ZOO_MODULE) -> None:
        self._module = module
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0

    def listing(self) -> dict[str, Any]:
        """``{"available", "models", "message"}``; never raises."""
        now = time.monotonic()
        if self._cached is None or now - self._cached_at > CACHE_S:
            self._cached, self._cached_at = self._load(), now
        return self._cached

    def model_ids(self) -> set[str] | None:
        """Known model ids, or None when the zoo cannot say (then any id is accepted)."""
        listing = self.listing()
        if not listing["available"]:
            return None
        return {m["model_id"] for m in listing["models"] if m.get("model_id")}

    def _load(self) -> dict[str, Any]:
        try:
            zoo = importlib.import_module(self._module)
            models = [_as_json(m) for m in zoo.list_models()]
        except ImportError as exc:
            message = f"the model zoo ({self._module}) is not installed in this build: {exc}"
            return {"available": False, "models": [], "message": message}
        except Exception as exc:
            log.warning("listing models failed: %s", exc)
            return {"available": False, "models": [], "message": f"listing models failed: {exc}"}
        return {"available": True, "models": models, "message": f"{len(models)} models"}


def _as_json(model: Any) -> dict[str, Any]:
    if isinstance(model, str):
        return {"model_id": model}
    if dataclasses.is_dataclass(model) and not isinstance(model, type):
        raw = dataclasses.asdict(model)
    elif isinstance(model, dict):
        raw = dict(model)
    else:
        raw = {k: v for k, v in vars(model).items() if not k.startswith("_")}
    if "model_id" not in raw:
        raw["model_id"] = raw.get("id") or raw.get("name")
    # Model specs may name key files or secrets (encrypted models): never expose those.
    return {k: _plain(v) for k, v in raw.items() if not _SECRETISH.search(k)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value][:200]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
