"""The errors ledgersync's services raise, one family, each with a stable machine-readable code.

    LedgersyncError
    ├── InvalidInput            a request names a bad value (details name the field)
    ├── NotFound                the thing asked for does not exist in this organisation
    ├── Conflict                the request clashes with the current state
    │   └── ResyncRequired      a pull's cursor can no longer be served incrementally
    ├── Unauthenticated         no or bad credentials
    ├── Forbidden               credentials fine, action not allowed
    ├── UnsupportedMediaType    the body is not in a media type the route takes (415)
    ├── RateLimited             too many requests; retry after ``retry_after`` seconds
    └── Unavailable             a dependency (database, Xero) cannot serve now

Services know nothing of HTTP; ``server.http.errors`` maps this family (and the framework's own
exceptions) to the one error envelope ``{"error": {"code", "message", "details"}}``. Every code is
a member of ``sync_protocol.errors.ErrorCode``, the table the protocol doc lists.
"""

from __future__ import annotations

from typing import Any

from sync_protocol.errors import ErrorCode


class LedgersyncError(Exception):
    code: ErrorCode = ErrorCode.ERROR

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class InvalidInput(LedgersyncError):
    code = ErrorCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: ErrorCode | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        details = dict(details or {})
        if field is not None:
            details.setdefault("field", field)
        super().__init__(message, code=code, details=details)


class NotFound(LedgersyncError):
    code = ErrorCode.NOT_FOUND


class Conflict(LedgersyncError):
    code = ErrorCode.CONFLICT


class ResyncRequired(Conflict):
    """The cursor cannot be served incrementally (older than the tombstone horizon, or from before a
    mirror reset): the phone must drop its mirror and pull a snapshot (no cursor)."""

    code = ErrorCode.RESYNC_REQUIRED

    def __init__(self, cursor: int, horizon: int, latest: int) -> None:
        super().__init__(
            "this cursor can no longer be served incrementally: pull again without a cursor "
            "and replace the local copy (unsent uploads stay queued)",
            details={"cursor": cursor, "horizon": horizon, "latest": latest},
        )
        self.cursor = cursor
        self.horizon = horizon
        self.latest = latest


class Unauthenticated(LedgersyncError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(LedgersyncError):
    code = ErrorCode.FORBIDDEN


class UnsupportedMediaType(LedgersyncError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class RateLimited(LedgersyncError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float, code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(LedgersyncError):
    code = ErrorCode.UNAVAILABLE
