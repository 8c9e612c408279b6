"""Who is calling the admin API or console: a session cookie (browsers) or ``Authorization: Bearer``.

Shared by the admin API and the admin console, which never import each other.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from server.core.errors import Unauthenticated
from server.http.services import services_at
from server.services.admins import SESSION_LIFETIME, AdminPrincipal
from server.settings import Settings
from sync_protocol.errors import ErrorCode

SESSION_COOKIE = "ledgersync_session"


def session_token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return connection.cookies.get(SESSION_COOKIE)


async def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every admin route; leaves the principal on ``connection.state.admin``."""
    token = session_token_of(connection)
    if not token:
        raise Unauthenticated(
            "sign in first: this admin API needs a session", code=ErrorCode.SESSION_REQUIRED
        )
    service = services_at(connection).admins
    connection.state.admin = await service.resolve(token)


async def provide_admin(request: Request[Any, Any, Any]) -> AdminPrincipal:
    principal: AdminPrincipal = request.state.admin
    return principal


def session_cookie(token: str, settings: Settings) -> Cookie:
    """The session for browsers: HttpOnly (scripts never see it), Secure behind https, SameSite=Lax."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
    )


def cleared_session_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""
