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


# user:password@ inside free text such as an exception message quoting a source URI.
_USERINFO_IN_TEXT = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@]+@", re.IGNORECASE)


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes secrets from the whole text.

    Redacting the formatted output rather than the message covers what the formatter adds
    after the message: the traceback of ``exc_info`` (an exception's message often quotes a
    URI or a setting) and ``stack_info``.
    """

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        """Known secret values and URI user info in ``text`` replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _USERINFO_IN_TEXT.sub(r"\1***@", text)


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
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            [*(secrets or []), *secrets_from_env()]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
