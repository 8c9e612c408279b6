"""Who is calling the admin API: a session cookie (browsers) or ``Authorization: Bearer`` (scripts)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.core.errors import Unauthenticated
from server.services.admins import AdminPrincipal, AdminService

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
        raise Unauthenticated("sign in first: this admin API needs a session", code="session_required")
    service: AdminService = connection.app.state.admins
    connection.state.admin = await service.resolve(token)


async def provide_admin(request: Request[Any, Any, Any]) -> AdminPrincipal:
    principal: AdminPrincipal = request.state.admin
    return principal
