"""Keys for encrypted models: a key broker over verified HTTPS, or a local key for dev.

Key broker protocol (ours): ``GET {broker}/keys/{key_id}`` with ``Authorization: Bearer
<token>`` when a token is configured, answering ``{"key_id": ..., "key": "<base64 of 32
bytes>"}``. Only ``https://`` brokers are accepted and their certificate is verified
against ``FW_MODELS_KEY_BROKER_CA`` (or the system's CAs). Called by the loader when a model
is encrypted; the key is held in memory only.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx

from framewire.core.errors import ModelError
from framewire.core.logs import redact_uri
from framewire.models.crypto import KEY_BYTES
from framewire.models.settings import ModelsSettings

log = logging.getLogger(__name__)


class KeySource(Protocol):
    def key_for(self, key_id: str) -> bytes:
        """The 32-byte key named ``key_id``; ModelError when it cannot be had."""
        ...


def parse_key(text: str | bytes, what: str) -> bytes:
    """A key given as 32 raw bytes, 64 hex characters or base64 of 32 bytes."""
    if isinstance(text, bytes) and len(text) == KEY_BYTES:
        return text
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    for decode in (bytes.fromhex, lambda v: base64.b64decode(v, validate=True)):
        try:
            key = decode(value)
        except (ValueError, binascii.Error):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise ModelError(f"{what} is not a 256-bit key (32 bytes, 64 hex or base64 characters)")


class StaticKey:
    """A development key from ``FW_MODELS_KEY_FILE`` or ``FW_MODELS_KEY``, any key id."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def key_for(self, key_id: str) -> bytes:
        return self._key


class KeyBroker:
    """Fetches keys from a key broker over HTTPS with certificate verification."""

    def __init__(self, settings: ModelsSettings) -> None:
        url = settings.key_broker_url or ""
        if urlsplit(url).scheme != "https":
            raise ModelError(
                f"key broker {redact_uri(url)!r} refused: keys are only fetched "
                "over https:// with certificate verification"
            )
        self._url = url.rstrip("/")
        self._settings = settings

    def _tls(self) -> ssl.SSLContext:
        s = self._settings
        ctx = ssl.create_default_context(cafile=str(s.key_broker_ca) if s.key_broker_ca else None)
        if s.key_broker_client_cert:
            key = str(s.key_broker_client_key) if s.key_broker_client_key else None
            ctx.load_cert_chain(str(s.key_broker_client_cert), key)
        return ctx

    def key_for(self, key_id: str) -> bytes:
        headers = {}
        if self._settings.key_broker_token:
            headers["Authorization"] = f"Bearer {self._settings.key_broker_token.get_secret_value()}"
        url = f"{self._url}/keys/{quote(key_id, safe='')}"
        try:
            with httpx.Client(verify=self._tls(), timeout=self._settings.http_timeout_s) as http:
                reply = http.get(url, headers=headers)
        except httpx.ConnectError as exc:
            raise ModelError(
                f"key broker {redact_uri(url)} unreachable or its TLS certificate is not trusted: {exc}"
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise ModelError(f"key broker {redact_uri(url)} failed: {exc}") from None
        if reply.status_code != 200:
            raise ModelError(f"key broker refused key {key_id!r}: HTTP {reply.status_code}")
        try:
            return parse_key(reply.json()["key"], f"key {key_id!r} from the broker")
        except (ValueError, KeyError, TypeError):
            raise ModelError(f"key broker answer for {key_id!r} has no valid 'key'") from None


def key_source(settings: ModelsSettings) -> KeySource:
    """The configured key source: the broker if set, else a development key."""
    if settings.key_broker_url:
        return KeyBroker(settings)
    if settings.key_file:
        try:
            raw = settings.key_file.expanduser().read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read FW_MODELS_KEY_FILE: {exc}") from None
        log.warning("using a development key file for encrypted models; use a key broker")
        return StaticKey(parse_key(raw, f"key file {settings.key_file}"))
    if settings.key:
        log.warning("using FW_MODELS_KEY for encrypted models; use a key broker in production")
        return StaticKey(parse_key(settings.key.get_secret_value(), "FW_MODELS_KEY"))
    raise ModelError(
        "the model is encrypted but no key is configured: set "
        "FW_MODELS_KEY_BROKER_URL (development: FW_MODELS_KEY_FILE or FW_MODELS_KEY)"
    )
