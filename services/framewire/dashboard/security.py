"""Bearer-token auth, the CORS allow-list and browser security headers.

With ``FW_DASHBOARD_TOKEN`` set, every mutating endpoint needs ``Authorization: Bearer``;
with ``FW_DASHBOARD_AUTH_ALL`` too, so does every read (API, events, frames, metrics). The
page's static files and the health probes stay open: they carry no data. The token is
compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framewire.dashboard.settings import DashboardSettings

log = logging.getLogger(__name__)

bearer = HTTPBearer(auto_error=False, description="FW_DASHBOARD_TOKEN")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    # Clips play from object URLs: the page fetches them with the token header.
    "media-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class Auth:
    """FastAPI dependencies: ``write`` guards mutations, ``read`` guards everything else."""

    def __init__(self, settings: DashboardSettings) -> None:
        token = settings.token
        self._token = token.get_secret_value().encode() if token is not None else None
        self._reads_too = settings.auth_all

    def _check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        if self._token is None:
            return
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                401, "this endpoint needs 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode(), self._token):
            raise HTTPException(
                401, "the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    def write(self, credentials: Credentials) -> None:
        """Called before every create, update and delete."""
        self._check(credentials)

    def read(self, credentials: Credentials) -> None:
        """Called before every read when auth_all is on; a no-op otherwise."""
        if self._reads_too:
            self._check(credentials)


def add_cors(app: FastAPI, settings: DashboardSettings) -> None:
    """Allow the listed origins only; nothing is added when the list is empty (the default)."""
    if not settings.cors_origins:
        return
    if "*" in settings.cors_origins:
        log.warning("CORS allows any origin ('*'); prefer listing the origins you trust")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=False,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        expose_headers=["X-Frame-Coordinates", "X-Frame-Sequence"],
        max_age=600,
    )


class SecurityHeaders:
    """Pure ASGI middleware (so SSE responses stream unbuffered) adding browser hardening."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", CSP.encode()),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_host(request: Request) -> str:
    return request.client.host if request.client else "?"
