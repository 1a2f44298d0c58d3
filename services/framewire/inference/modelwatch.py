"""Loading the worker's model, and switching to a new version when the model server has one.

``load_model`` (the per-frame path's, ``framewire.models.perframe.loading``) is called
once by ``run_worker``. ``ModelWatcher`` runs beside the worker
when a model server is configured: every ``model_poll_s`` it asks the server which version
it offers; a different one is loaded and compiled beside the current one, then installed
with ``ModelSlot.switch``, so no frame waits for a compile and each result names the
version that made it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from framewire.core.errors import FramewireError
from framewire.core.logs import redact_uri
from framewire.inference.settings import InferenceSettings
from framewire.models.api import Detector
from framewire.models.perframe.loading import load_model
from framewire.models.perframe.slot import ModelSlot

__all__ = ["ModelWatcher", "load_model", "served_version"]

log = logging.getLogger(__name__)


def served_version(settings: InferenceSettings) -> str:
    """The version the model server currently offers for the configured model."""
    import httpx

    from framewire.models.loader import models_settings
    from framewire.models.remote import fetch_info

    assert settings.model_server_url
    models = models_settings()
    with httpx.Client(timeout=models.http_timeout_s) as http:
        return fetch_info(http, settings.model_server_url, settings.model, models).version


class ModelWatcher:
    """Polls for a new model version and switches the slot to it; one thread per worker."""

    def __init__(
        self, slot: ModelSlot, poll_s: float, probe: Callable[[], str],
        load: Callable[[], Detector], on_switch: Callable[[Detector], None] | None = None,
        where: str = "",
    ) -> None:
        self._slot = slot
        # The offered version last loaded (a server may name versions differently from
        # the loaded model's info).
        self._loaded_offer = slot.version
        self._poll_s = poll_s
        self._probe = probe
        self._load = load
        self._on_switch = on_switch
        self._where = redact_uri(where)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fw-model-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self) -> bool:
        """Switch if the offered version differs from the one in use; True when switched."""
        offered = self._probe()
        current = self._slot.version
        if offered in (current, self._loaded_offer):
            return False
        log.info("model server %s offers version %s (running %s): loading it",
                 self._where, offered, current)
        detector = self._load()
        self._slot.switch(detector)
        self._loaded_offer = offered
        log.info("switched to model %s %s", detector.info.model_id, detector.info.version)
        if self._on_switch is not None:
            self._on_switch(detector)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.check()
            except FramewireError as exc:
                log.warning("model update check failed, keeping the current model: %s", exc)
            except Exception:
                log.exception("model update check failed, keeping the current model")
