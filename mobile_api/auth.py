"""Who is calling: the protocol version every mobile request states, and the device's bearer token."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.core.errors import InvalidInput, Unauthenticated
from server.core.principals import DevicePrincipal
from server.http.services import services_at
from sync_protocol.errors import ErrorCode
from sync_protocol.version import MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER


async def require_protocol(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    stated = connection.headers.get(PROTOCOL_HEADER, "")
    if not stated.isdigit() or not MIN_PROTOCOL_VERSION <= int(stated) <= MAX_PROTOCOL_VERSION:
        raise InvalidInput(
            f"send header {PROTOCOL_HEADER} with a protocol version from {MIN_PROTOCOL_VERSION} "
            f"to {MAX_PROTOCOL_VERSION} (got {stated or 'none'})",
            code=ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
            field=PROTOCOL_HEADER,
            details={"supported": {"min": MIN_PROTOCOL_VERSION, "max": MAX_PROTOCOL_VERSION}},
        )


async def require_device(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every device route: leaves the principal on ``connection.state.device``."""
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "send Authorization: Bearer <device token> (pair the device first)",
            code=ErrorCode.DEVICE_TOKEN_REQUIRED,
        )
    devices = services_at(connection).devices
    principal = await devices.resolve(token.strip())
    limiter = services_at(connection).device_rate_limiter
    limiter.check(principal.device_id)
    connection.state.device = principal


async def provide_device(request: Request[Any, Any, Any]) -> DevicePrincipal:
    principal: DevicePrincipal = request.state.device
    return principal
