"""Logging setup and credential redaction.

Every service calls ``setup_logging`` once from ``main()``. ``redact_uri`` is applied to
any source URI before it reaches a log line, a status message or a frame.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlsplit, urlunsplit

_SECRETISH = re.compile(r"(?i)(password|passwd|pwd|token|secret|key)=([^&\s]+)")


def redact_uri(uri: str) -> str:
    """Remove user info and secret-looking query values from a URI; non-URIs pass through."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = _SECRETISH.sub(r"\1=***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return uri
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class RedactingFilter(logging.Filter):
    """Replaces known secret values wherever they appear in a formatted record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_SECRET_ENV = re.compile(r"^(FW_|INFER_).*(PASSWORD|TOKEN|SECRET|_KEY)$")


def secrets_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """Values of ``FW_*`` variables that hold secrets (passwords, tokens, keys)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if _SECRET_ENV.match(k) and v]


def setup_logging(level: str | None = None, secrets: list[str] | None = None) -> None:
    """Configure the root logger once per process; called from each ``main()``.

    Secret values from the environment are always redacted, whatever else is passed.
    """
    level = (level or os.environ.get("FW_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter([*(secrets or []), *secrets_from_env()]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
