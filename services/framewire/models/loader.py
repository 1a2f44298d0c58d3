"""Loading detectors: from the zoo's local cache, or from a model server.

Called once at service start-up. Any problem (unknown model, failed fetch, sha256
mismatch, bad key, compile failure) raises ModelError, so a service never starts on a bad
model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import openvino as ov

from framewire.core.config import load_settings
from framewire.core.errors import ModelError
from framewire.core.logs import redact_uri
from framewire.models.api import Detector
from framewire.models.cache import fetch
from framewire.models.crypto import decrypt_model, read_header
from framewire.models.detector import OpenVinoDetector, build_detector
from framewire.models.engine import EngineOptions, Precision, shared_core
from framewire.models.memload import read_model_from_memory
from framewire.models.prepared import prepared_ir
from framewire.models.quantized import read_entry
from framewire.models.served import ServedModel, spec_for
from framewire.models.settings import ModelsSettings
from framewire.models.zoo import ModelSpec, get_spec

if TYPE_CHECKING:
    from framewire.models.keys import KeySource

log = logging.getLogger(__name__)


def models_settings() -> ModelsSettings:
    settings = load_settings(ModelsSettings)
    assert isinstance(settings, ModelsSettings)
    return settings


def engine_options(
    settings: ModelsSettings,
    cache_dir: Path,
    *,
    encrypted: bool,
    device: str,
    performance_hint: str,
    num_requests: int | None,
    precision: str,
) -> EngineOptions:
    # A compiled blob holds the weights: never cache one made from an encrypted model.
    compiled = cache_dir / "compiled" if settings.compile_cache and not encrypted else None
    return EngineOptions.parse(
        device=device,
        performance_hint=performance_hint,
        num_requests=num_requests,
        precision=precision,
        cache_dir=compiled,
    )


def load_detector(
    model_id: str,
    *,
    cache_dir: Path | None = None,
    device: str = "CPU",
    performance_hint: str = "LATENCY",
    num_requests: int | None = None,
    score_threshold: float | None = None,
    precision: str = "auto",
) -> Detector:
    """Load zoo model ``model_id`` from the cache (fetching and verifying it if needed).

    ``cache_dir`` defaults to ``FW_MODELS_CACHE`` (``~/.cache/framewire/models``);
    ``precision`` is "auto", "bf16", "f32", "f16" or "int8" (the quantized variant made by
    ``framewire models quantize``; a clear ModelError when it is not in the cache).
    """
    settings = models_settings()
    spec = get_spec(model_id)
    cache = (cache_dir or settings.cache_dir).expanduser()
    opts = engine_options(
        settings,
        cache,
        encrypted=False,
        device=device,
        performance_hint=performance_hint,
        num_requests=num_requests,
        precision=precision,
    )
    if opts.precision is Precision.INT8:
        detector = load_quantized(spec, cache, opts, score_threshold)
    else:
        source = fetch(spec, cache)
        ir = prepared_ir(spec, cache, source)
        if ir is not None:
            detector = build_detector(ir, spec, opts, score_threshold, prepared=True)
        else:
            detector = build_detector(shared_core().read_model(str(source)), spec, opts, score_threshold)
    log.info(
        "loaded %s %s on %s (%s, %d requests)",
        spec.model_id,
        detector.info.version,
        device,
        detector.info.precision,
        detector.num_requests,
    )
    return detector


def load_quantized(
    spec: ModelSpec, cache: Path, opts: EngineOptions, score_threshold: float | None
) -> OpenVinoDetector:
    """The verified INT8 variant of ``spec`` from the cache; never quantized on the fly
    (that takes NNCF and up to a minute, and must pass the accuracy gate first)."""
    entry = read_entry(spec, cache)
    return build_detector(entry.xml, spec, opts, score_threshold, prepared=True, version=entry.version)


def _served_model(
    info_url: str, model_id: str, settings: ModelsSettings, keys: KeySource | None
) -> tuple[ServedModel, ModelSpec, ov.Model]:
    """Info, download, sha256 check and (if encrypted) in-memory decryption."""
    # Imported here: a worker loading from its zoo cache (the common restart) skips the HTTP
    # stack, about 0.3 s of its start-up.
    import httpx

    from framewire.models.keys import key_source
    from framewire.models.remote import download, fetch_info

    with httpx.Client(timeout=settings.http_timeout_s, follow_redirects=True) as http:
        served = fetch_info(http, info_url, model_id, settings)
        spec = spec_for(served)
        blob = download(http, served, info_url, settings)
    model_format = spec.filename.rsplit(".", 1)[-1]
    if served.encrypted:
        header, _ = read_header(blob)
        source = keys or key_source(settings)
        header, blob = decrypt_model(blob, source.key_for(header.key_id))
        model_format = header.format
    # The bytes go out of scope here: only the parsed model is kept.
    return served, spec, read_model_from_memory(blob, model_format)


def load_from_server(
    info_url: str,
    model_id: str,
    *,
    cache_dir: Path | None = None,
    device: str = "CPU",
    performance_hint: str = "LATENCY",
    num_requests: int | None = None,
    score_threshold: float | None = None,
    precision: str = "auto",
    keys: KeySource | None = None,
) -> Detector:
    """Load ``model_id`` by the seed's model-server protocol (``INFER_MODEL_INFO_URL``,
    ``INFER_MODEL_ID``), decrypting it in memory with a key from ``keys`` (default: the
    configured key broker) when the server marks it encrypted.
    """
    if precision.lower() == Precision.INT8:
        raise ModelError(
            f"{model_id}: precision int8 runs the quantized variant from the local model cache "
            "(framewire models quantize); a model server serves models as they are, so choose "
            "another precision or load the model from the zoo"
        )
    settings = models_settings()
    served, spec, model = _served_model(info_url, model_id, settings, keys)
    cache = (cache_dir or settings.cache_dir).expanduser()
    opts = engine_options(
        settings,
        cache,
        encrypted=served.encrypted,
        device=device,
        performance_hint=performance_hint,
        num_requests=num_requests,
        precision=precision,
    )
    detector = build_detector(model, spec, opts, score_threshold)
    log.info(
        "loaded %s %s from %s (encrypted=%s, %s)",
        spec.model_id,
        spec.version,
        redact_uri(info_url),
        served.encrypted,
        detector.info.precision,
    )
    return detector
