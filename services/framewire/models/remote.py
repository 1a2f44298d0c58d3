"""HTTP side of the model-server protocol: fetch a model's info, then its bytes.

Called by ``loader.load_from_server`` at service start-up. Every failure (unreachable
server, 404, malformed JSON, an oversized, truncated or trickling answer, sha256 mismatch)
raises ModelError naming the URL with credentials redacted; both requests are bounded in
size and in total time, so a misbehaving server cannot hold a service or its memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from urllib.parse import quote, urljoin

import httpx

from framewire.core.errors import ModelError
from framewire.core.logs import redact_uri
from framewire.models.served import ServedModel, parse_info
from framewire.models.settings import ModelsSettings

log = logging.getLogger(__name__)

MB = 1024 * 1024
# An info document is a few kB; anything near this is not one.
INFO_MAX_BYTES = MB


def _headers(settings: ModelsSettings) -> dict[str, str]:
    # One request per connection: a server may close the info request's connection right
    # after answering, and a download sent on that pooled connection would end in
    # "disconnected" instead of reaching the size and time checks.
    headers = {"Connection": "close"}
    token = settings.server_token
    if token:
        headers["Authorization"] = f"Bearer {token.get_secret_value()}"
    return headers


def info_url_for(info_url: str, model_id: str) -> str:
    return f"{info_url.rstrip('/')}/{quote(model_id, safe='')}"


def fetch_info(http: httpx.Client, info_url: str, model_id: str, settings: ModelsSettings) -> ServedModel:
    """GET ``{info_url}/{model_id}`` and validate the document (bounded in size and time)."""
    url = info_url_for(info_url, model_id)
    where = redact_uri(url)
    deadline = time.monotonic() + settings.http_timeout_s
    try:
        with http.stream("GET", url, headers=_headers(settings)) as reply:
            status = reply.status_code
            body = b"".join(_bounded(reply, INFO_MAX_BYTES, deadline, f"model info from {where}")) \
                if status == 200 else b""
    except httpx.HTTPError as exc:
        raise ModelError(f"model server {where} unreachable: {exc}") from None
    if status == 404:
        raise ModelError(f"model server has no model {model_id!r} (404 from {where})")
    if status != 200:
        raise ModelError(f"model server {where} answered HTTP {status}")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise ModelError(f"model info from {where} is malformed JSON") from None
    return parse_info(doc, where)


def download(http: httpx.Client, served: ServedModel, info_url: str, settings: ModelsSettings) -> bytes:
    """The model's bytes from ``served.url`` (relative URLs resolve against the info URL),
    bounded in size and time and checked against the served sha256."""
    url = urljoin(info_url_for(info_url, served.model_id), served.url)
    where = redact_uri(url)
    limit = settings.max_download_mb * MB
    deadline = time.monotonic() + settings.download_timeout_s
    digest, chunks, size, expected = hashlib.sha256(), [], 0, -1
    try:
        with http.stream("GET", url, headers=_headers(settings)) as reply:
            if reply.status_code != 200:
                raise ModelError(f"model download {where} answered HTTP {reply.status_code}")
            expected = _announced_length(reply, where)
            if expected > limit:
                raise ModelError(
                    f"model at {where} is {expected} bytes, over the {limit} byte limit "
                    "(FW_MODELS_MAX_DOWNLOAD_MB); refused before reading it"
                )
            for chunk in _bounded(reply, limit, deadline, f"model download {where}"):
                size += len(chunk)
                digest.update(chunk)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise _download_failure(where, exc, size, limit) from None
    if 0 <= expected != size:
        raise ModelError(f"model download {where} truncated: {size} of {expected} bytes")
    _check_digest(served, digest.hexdigest(), settings, where)
    return b"".join(chunks)


def _announced_length(reply: httpx.Response, where: str) -> int:
    """Content-Length, or -1 when the server sends none."""
    raw = reply.headers.get("content-length")
    if raw is None:
        return -1
    try:
        return int(raw)
    except ValueError:
        raise ModelError(f"model download {where} has a malformed Content-Length {raw[:40]!r}") from None


def _download_failure(where: str, exc: httpx.HTTPError, size: int, limit: int) -> ModelError:
    """A connection that dies mid-download: when it had reached the limit, the limit is the
    reason (the server gave up on a reader that stopped reading), not the disconnect."""
    if size >= limit:
        return ModelError(f"model download {where} is too large: it exceeded {limit} bytes "
                          "(FW_MODELS_MAX_DOWNLOAD_MB)")
    return ModelError(f"model download {where} failed or was truncated after {size} bytes "
                      f"(limit {limit}): {exc}")


def _bounded(reply: httpx.Response, limit: int, deadline: float, what: str) -> Iterator[bytes]:
    """The body as it arrives, cut off past ``limit`` bytes or past ``deadline``."""
    size = 0
    for chunk in reply.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ModelError(f"{what} is too large: it exceeded {limit} bytes")
        if time.monotonic() > deadline:
            raise ModelError(f"{what} is too slow: {size} bytes were not the whole answer in time")
        yield chunk


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
