"""Settings of the model library, read from ``FW_MODELS_*``.

Built by the loader (and ``framewire models``) when called, never at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CACHE = Path("~/.cache/framewire/models")


class ModelsSettings(BaseSettings):
    """Where models are cached and where keys for encrypted models come from."""

    model_config = SettingsConfigDict(env_prefix="FW_MODELS_", frozen=True, extra="ignore")

    # FW_MODELS_CACHE: fetched zoo files, and OpenVINO's compiled-model cache under compiled/.
    cache: Path = DEFAULT_CACHE
    # Cache compiled models so services start fast (never used for encrypted models).
    compile_cache: bool = True
    # Key broker for encrypted models: HTTPS only, verified against this CA bundle.
    key_broker_url: str | None = None
    key_broker_ca: Path | None = None
    key_broker_token: SecretStr | None = None
    # Client certificate for brokers that want mutual TLS.
    key_broker_client_cert: Path | None = None
    key_broker_client_key: Path | None = None
    # Development only: a key file (32 raw bytes, or 64 hex / 44 base64 chars) or the key itself.
    key_file: Path | None = None
    key: SecretStr | None = None
    # Model server: bearer token sent by the loader and required by `framewire models serve`.
    server_token: SecretStr | None = None
    # Refuse served models whose info gives no sha256 (the seed's servers do not send one).
    require_sha256: bool = True
    # Model-server downloads: a model bigger than this is refused.
    max_download_mb: int = Field(default=512, ge=1, le=8192)
    # Per network read; an info document must also arrive whole within this time.
    http_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # A model download not complete after this long is abandoned (a server trickling bytes
    # never trips the per-read timeout).
    download_timeout_s: float = Field(default=600.0, gt=0, le=86400)

    @property
    def cache_dir(self) -> Path:
        return self.cache.expanduser()
