"""The one place where exceptions become HTTP error responses.

Every error response has the envelope ``{"error": {"code", "message", "details"}}``. Errors of
the service family (``server.core.errors``) keep their code; the framework's own (unknown route,
malformed JSON, body too large, failed validation) get codes of their own; a database that cannot
take the request now (out of connections, unreachable) is a 503 ``unavailable`` with ``Retry-After``;
anything else is a 500 ``internal_error`` whose details are logged, never sent.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import asyncpg
import msgspec
import sqlalchemy.exc
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from server.core import errors
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import readable

log = logging.getLogger("ledgersync.http")


class ErrorBody(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(msgspec.Struct):
    """The body of every error response."""

    error: ErrorBody


def error_response(description: str) -> ResponseSpec:
    """Documents an error status of a route in the OpenAPI schema."""
    return ResponseSpec(data_container=ErrorEnvelope, description=description, generate_examples=False)


STATUS_OF: dict[type[errors.LedgersyncError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.UnsupportedMediaType: 415,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}

CODE_OF_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.BODY_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.UNAVAILABLE,
}


def envelope(
    status: int, code: ErrorCode, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    body = {"error": {"code": code, "message": message, "details": details if details is not None else {}}}
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def status_of(exc: errors.LedgersyncError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def service_error(_: Request[Any, Any, Any], exc: errors.LedgersyncError) -> Response[dict[str, Any]]:
    headers = None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return envelope(status_of(exc), exc.code, exc.message, exc.details, headers)


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    fields = [_field_problem(p) for p in problems if isinstance(p, dict)]
    message = exc.detail
    if fields:
        first = fields[0]
        message = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
    code = ErrorCode.INVALID_INPUT if fields else ErrorCode.MALFORMED_BODY
    return envelope(400, code, message, {"fields": fields} if fields else {})


def _field_problem(problem: dict[str, Any]) -> dict[str, str]:
    key = str(problem.get("key") or "")
    message = str(problem.get("message") or "invalid value")
    # msgspec reports "Expected `int`, got `str` - at `$.lines[0].quantity`": surface the path.
    if " - at `" in message:
        message, _, path = message.partition(" - at `")
        key = path.rstrip("`").removeprefix("$.").removeprefix("$") or key
    return {"field": key, "message": readable(message)}


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = CODE_OF_STATUS.get(status, ErrorCode.ERROR)
    message = exc.detail or "error"
    if status == 413:
        message = "request body is larger than this server accepts"
    elif status == 400 and _is_json_decode_error(exc):
        code, message = ErrorCode.MALFORMED_JSON, f"request body is not valid JSON: {message}"
    elif status == 404:
        message = "no such resource" if exc.detail in ("", "Not Found") else exc.detail
    return envelope(status, code, message, exc.extra if isinstance(exc.extra, dict) else {}, exc.headers)


def _is_json_decode_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (msgspec.DecodeError, SerializationException)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# A database that cannot take the request now (PostgreSQL out of connections or restarting, the
# pool's wait over, the server unreachable): the client should come back, not see a 500.
_DATABASE_BUSY: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.PostgresConnectionError,  # the connection broke under the query
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    ConnectionError,  # refused, reset
)


def _database_busy(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the driver's error wrapped by SQLAlchemy's, or raised while connecting
        if seen is None:
            return False
        if isinstance(seen, _DATABASE_BUSY):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if _database_busy(exc):
        log.warning("database busy on %s %s: %r", request.method, request.url.path, exc)
        return envelope(
            503,
            ErrorCode.UNAVAILABLE,
            "the database cannot serve now; try again",
            headers={"Retry-After": "1"},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(
        HTTP_500_INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL_ERROR, "internal server error; it has been logged"
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    errors.LedgersyncError: service_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
