"""The sandbox's Litestar application: identity routes, the Accounting API, the control API."""

from __future__ import annotations

import logging
from typing import Any

import h11
from litestar import Litestar, Request, Response, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.types import Message

from . import accounting
from .accounting import PREFIX, Route
from .config import SandboxConfig
from .control import control_router
from .errors import SandboxError
from .gateway import DROP_KEY, serve
from .identity import IDENTITY_HANDLERS
from .responses import error_reply
from .sandbox import Sandbox
from .wire import encode_json


class ConnectionDropped(Exception):
    """Raised to make the server close the connection without a response."""


class _QuietDrops(logging.Filter):
    """Injected drops are intended: keep uvicorn from logging them as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, ConnectionDropped | h11.LocalProtocolError):
                return False
            error = error.__cause__ or error.__context__
        return True


_quiet_drops = _QuietDrops()


# A header value uvicorn/h11 refuse to serialise: the server marks the response started, fails before
# writing a byte, and closes the socket - the client sees the connection drop with no response at all.
_POISON_START: Message = {"type": "http.response.start", "status": 200, "headers": [(b"x-drop", b"\r\n")]}


def _canonical_segments(paths: list[str]) -> dict[str, str]:
    segments: dict[str, str] = {}
    for path in paths:
        for segment in path.split("/"):
            if segment and not segment.startswith("{"):
                segments.setdefault(segment.lower(), segment)
    return segments


class SandboxApp(Litestar):
    """Litestar plus two things routing cannot do: Xero's case-insensitive paths and dropped connections."""

    sandbox_segments: dict[str, str] = {}

    # Any: Litestar's own signature is a union of scope kinds; only http scopes are touched here.
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        lowered = scope["path"].lower()
        if lowered.startswith(("/api.xro/", "/connections")):
            path = "/".join(
                self.sandbox_segments.get(part.lower(), part) for part in scope["path"].split("/")
            )
            scope["path"] = path
            scope["raw_path"] = path.encode()

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get(DROP_KEY):
                await send(_POISON_START)
                raise ConnectionDropped()
            await send(message)

        await super().__call__(scope, receive, guarded_send)


def _api_handler(spec: Route) -> HTTPRouteHandler:
    async def handler(request: Request[Any, Any, Any]) -> Response[bytes]:
        reply = await serve(
            request.app.state.sandbox,
            request,
            f"{spec.method} {PREFIX}{spec.path}",
            spec.operation,
            spec.write,
        )
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
        )

    handler.__name__ = spec.operation_id
    return route(
        f"{PREFIX}{spec.path}", http_method=[HttpMethod(spec.method)], name=spec.operation_id, status_code=200
    )(handler)


def _sandbox_error(request: Request[Any, Any, Any], error: SandboxError) -> Response[bytes]:
    reply = error_reply(error)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)


def _value_error(request: Request[Any, Any, Any], error: ValueError) -> Response[bytes]:
    """Bad control-API input (unknown client, malformed body) is a 400; Litestar's own HTTP errors pass."""
    if isinstance(error, HTTPException):
        return Response(str(error.detail).encode(), status_code=error.status_code, media_type="text/plain")
    return Response(encode_json({"error": str(error)}), status_code=400, media_type="application/json")


def create_sandbox_app(config: SandboxConfig, sandbox: Sandbox | None = None) -> Litestar:
    """A Litestar app serving one sandbox; ``app.state.sandbox`` is its ``Sandbox`` handle."""
    sandbox = sandbox or Sandbox(config)
    logging.getLogger("uvicorn.error").addFilter(_quiet_drops)  # a set: adding twice is harmless
    handlers: list[Any] = [*IDENTITY_HANDLERS, *(_api_handler(spec) for spec in accounting.ROUTES)]
    if config.control_api_enabled:
        handlers.append(control_router())

    def load_state() -> None:
        if config.state_file:
            sandbox.load(config.state_file)

    def save_state() -> None:
        if config.state_file:
            sandbox.save(config.state_file)

    app = SandboxApp(
        route_handlers=handlers,
        on_startup=[load_state],
        on_shutdown=[save_state],
        exception_handlers={SandboxError: _sandbox_error, ValueError: _value_error},
        openapi_config=None,
        debug=False,
    )
    app.state.sandbox = sandbox
    app.sandbox_segments = _canonical_segments(
        [f"{PREFIX}{spec.path}" for spec in accounting.ROUTES] + ["/connections"]
    )
    return app
