"""The errors ledgersync's services raise, one family, each with a stable machine-readable code.

    LedgersyncError
    ├── InvalidInput            a request names a bad value (details name the field)
    ├── NotFound                the thing asked for does not exist in this organisation
    ├── Conflict                the request clashes with the current state
    ├── Unauthenticated         no or bad credentials
    ├── Forbidden               credentials fine, action not allowed
    ├── UnsupportedMediaType    the body is not in a media type the route takes (415)
    ├── RateLimited             too many requests; retry after ``retry_after`` seconds
    └── Unavailable             a dependency (database, Xero) cannot serve now

Services know nothing of HTTP; ``server.http.errors`` maps this family (and the framework's own
exceptions) to the one error envelope ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class LedgersyncError(Exception):
    code: str = "error"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class InvalidInput(LedgersyncError):
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        details = dict(details or {})
        if field is not None:
            details.setdefault("field", field)
        super().__init__(message, code=code, details=details)


class NotFound(LedgersyncError):
    code = "not_found"


class Conflict(LedgersyncError):
    code = "conflict"


class Unauthenticated(LedgersyncError):
    code = "unauthenticated"


class Forbidden(LedgersyncError):
    code = "forbidden"


class UnsupportedMediaType(LedgersyncError):
    code = "unsupported_media_type"


class RateLimited(LedgersyncError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(LedgersyncError):
    code = "unavailable"
