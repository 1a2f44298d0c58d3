"""HTTP side of the model-server protocol: fetch a model's info, then its bytes.

Called by ``loader.load_from_server`` at service start-up. Every failure (unreachable
server, 404, malformed JSON, oversized or truncated download, sha256 mismatch) raises
ModelError naming the URL with credentials redacted.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import quote, urljoin

import httpx

from framewire.core.errors import ModelError
from framewire.core.logs import redact_uri
from framewire.models.served import ServedModel, parse_info
from framewire.models.settings import ModelsSettings

log = logging.getLogger(__name__)

MB = 1024 * 1024


def _headers(settings: ModelsSettings) -> dict[str, str]:
    token = settings.server_token
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


def info_url_for(info_url: str, model_id: str) -> str:
    return f"{info_url.rstrip('/')}/{quote(model_id, safe='')}"


def fetch_info(http: httpx.Client, info_url: str, model_id: str, settings: ModelsSettings) -> ServedModel:
    """GET ``{info_url}/{model_id}`` and validate the document."""
    url = info_url_for(info_url, model_id)
    where = redact_uri(url)
    try:
        reply = http.get(url, headers=_headers(settings))
    except httpx.HTTPError as exc:
        raise ModelError(f"model server {where} unreachable: {exc}") from None
    if reply.status_code == 404:
        raise ModelError(f"model server has no model {model_id!r} (404 from {where})")
    if reply.status_code != 200:
        raise ModelError(f"model server {where} answered HTTP {reply.status_code}")
    try:
        doc = reply.json()
    except ValueError:
        raise ModelError(f"model info from {where} is malformed JSON") from None
    return parse_info(doc, where)


def download(http: httpx.Client, served: ServedModel, info_url: str, settings: ModelsSettings) -> bytes:
    """The model's bytes from ``served.url`` (relative URLs resolve against the info URL),
    bounded in size and checked against the served sha256."""
    url = urljoin(info_url_for(info_url, served.model_id), served.url)
    where = redact_uri(url)
    limit = settings.max_download_mb * MB
    digest, chunks, size = hashlib.sha256(), [], 0
    try:
        with http.stream("GET", url, headers=_headers(settings)) as reply:
            if reply.status_code != 200:
                raise ModelError(f"model download {where} answered HTTP {reply.status_code}")
            expected = int(reply.headers.get("content-length", -1))
            if expected > limit:
                raise ModelError(f"model at {where} is {expected} bytes, over the {limit} limit")
            for chunk in reply.iter_bytes(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ModelError(f"model download {where} exceeded {limit} bytes")
                digest.update(chunk)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ModelError(f"model download {where} failed or was truncated: {exc}") from None
    if 0 <= expected != size:
        raise ModelError(f"model download {where} truncated: {size} of {expected} bytes")
    _check_digest(served, digest.hexdigest(), settings, where)
    return b"".join(chunks)


def _check_digest(served: ServedModel, actual: str, settings: ModelsSettings, where: str) -> None:
    if served.sha256 is None:
        if settings.require_sha256:
            raise ModelError(
                f"model info for {served.model_id!r} has no sha256 and "
                "FW_MODELS_REQUIRE_SHA256 is on; refusing an unverifiable model"
            )
        log.warning("model %s from %s has no sha256: not verified", served.model_id, where)
    elif actual != served.sha256:
        raise ModelError(
            f"model {served.model_id!r} from {where}: sha256 mismatch, expected "
            f"{served.sha256} but got {actual}"
        )
